"""Form tutors: members of staff named as the tutors of a tutor group (issue 16, point 3)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Serial, Timestamptz
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T07:13:47:000316"
VERSION = "1.38.0"
DESCRIPTION = "form_tutor"


class School(Table, tablename="school", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Person(Table, tablename="person", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class TutorGroup(Table, tablename="tutor_group", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


def _params(**extra) -> dict:
    params = {"null": False, "primary_key": False, "unique": False, "index": False,
              "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False}
    params.update(extra)
    return params


def _fk(references, *, index: bool = False, on_delete=OnDelete.restrict, null: bool = False) -> dict:
    return _params(references=references, on_delete=on_delete, on_update=OnUpdate.cascade,
                   target_column=None, index=index, null=null, default=None)


COLUMNS = [
    ("school", ForeignKey, _fk(School, on_delete=OnDelete.cascade, index=True)),
    ("tutor_group", ForeignKey, _fk(TutorGroup, on_delete=OnDelete.cascade, index=True)),
    ("person", ForeignKey, _fk(Person, on_delete=OnDelete.cascade, index=True)),
    ("set_by", ForeignKey, _fk(Person, on_delete=OnDelete.set_null, null=True)),
    ("set_at", Timestamptz, _params(default=None)),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)
    manager.add_table(class_name="FormTutor", tablename="form_tutor", schema=None, columns=None)
    for name, column_class, params in COLUMNS:
        manager.add_column(table_class_name="FormTutor", tablename="form_tutor", column_name=name,
                           db_column_name=name, column_class_name=column_class.__name__, column_class=column_class,
                           params=params, schema=None)
    return manager
