"""Attendance (issue 15, points 1 and 2): imported session marks, their amendments, the school's days and bands."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import Bytea, Date, ForeignKey, Integer, Real, Serial, Text, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T03:10:20:000000"
VERSION = "1.38.0"
DESCRIPTION = "attendance_import, attendance_mark, attendance_mark_change, attendance_school_day, attendance_settings"


class School(Table, tablename="school", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Person(Table, tablename="person", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Pupil(Table, tablename="pupil", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class AttendanceImport(Table, tablename="attendance_import", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class AttendanceMark(Table, tablename="attendance_mark", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


def _params(**extra) -> dict:
    params = {"null": False, "primary_key": False, "unique": False, "index": False,
              "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False}
    params.update(extra)
    return params


def _fk(references, *, on_delete=OnDelete.restrict, index: bool = False, unique: bool = False,
        null: bool = False) -> dict:
    return _params(references=references, on_delete=on_delete, on_update=OnUpdate.cascade, target_column=None,
                   null=null, index=index, unique=unique)


COLUMNS = {
    ("AttendanceImport", "attendance_import"): [
        ("key", Varchar, _params(length=64, default="", unique=True)),
        ("school", ForeignKey, _fk(School, on_delete=OnDelete.cascade, index=True)),
        ("uploaded_by", ForeignKey, _fk(Person, on_delete=OnDelete.cascade, null=True)),
        ("filename", Varchar, _params(length=200, default="")),
        ("data", Bytea, _params(default=None, null=True)),
        ("created_at", Timestamptz, _params(default=None, null=True)),
        ("applied_at", Timestamptz, _params(default=None, null=True)),
        ("result", Text, _params(default="")),
    ],
    ("AttendanceMark", "attendance_mark"): [
        ("school", ForeignKey, _fk(School)),
        ("pupil", ForeignKey, _fk(Pupil)),
        ("day", Date, _params(default=None, null=True)),
        ("session", Varchar, _params(length=2, default="")),
        ("code", Varchar, _params(length=2, default="")),
        ("minutes_late", Integer, _params(default=None, null=True)),
        ("created_at", Timestamptz, _params(default=None, null=True)),
        ("updated_at", Timestamptz, _params(default=None, null=True)),
    ],
    ("AttendanceMarkChange", "attendance_mark_change"): [
        ("mark", ForeignKey, _fk(AttendanceMark, index=True)),
        ("school", ForeignKey, _fk(School, index=True)),
        ("old_code", Varchar, _params(length=2, default="")),
        ("new_code", Varchar, _params(length=2, default="")),
        ("old_minutes_late", Integer, _params(default=None, null=True)),
        ("new_minutes_late", Integer, _params(default=None, null=True)),
        ("changed_at", Timestamptz, _params(default=None, null=True)),
        ("import_batch", ForeignKey, _fk(AttendanceImport, on_delete=OnDelete.set_null, null=True)),
    ],
    ("AttendanceSchoolDay", "attendance_school_day"): [
        ("school", ForeignKey, _fk(School, on_delete=OnDelete.cascade)),
        ("day", Date, _params(default=None, null=True)),
    ],
    ("AttendanceSettings", "attendance_settings"): [
        ("school", ForeignKey, _fk(School, on_delete=OnDelete.cascade, unique=True)),
        ("expected_from", Real, _params(default=96.0)),
        ("persistent_below", Real, _params(default=90.0)),
        ("severe_at_or_below", Real, _params(default=50.0)),
        ("updated_at", Timestamptz, _params(default=None, null=True)),
    ],
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)
    for (class_name, tablename), columns in COLUMNS.items():
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
        for name, column_class, params in columns:
            manager.add_column(table_class_name=class_name, tablename=tablename, column_name=name,
                               db_column_name=name, column_class_name=column_class.__name__,
                               column_class=column_class, params=params, schema=None)

    return manager
