"""Lates at the gate and first-day absence (issue 15, points 3 and 4): the school's register-close times and the
DSL team's first-day alerts (one per pupil and day)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import Date, ForeignKey, Serial, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T04:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "gate_first_day"


class School(Table, tablename="school", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Pupil(Table, tablename="pupil", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


def _params(**extra) -> dict:
    params = {"null": False, "primary_key": False, "unique": False, "index": False,
              "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False}
    params.update(extra)
    return params


def _fk(references, *, index: bool = False, on_delete=OnDelete.cascade, unique=False) -> dict:
    return _params(references=references, on_delete=on_delete, on_update=OnUpdate.cascade,
                   target_column=None, index=index, null=False, unique=unique, default=None)


TABLES = [
    ("RegisterClose", "register_close", [
        ("school", ForeignKey, _fk(School, unique=True)),
        ("am_close", Varchar, _params(length=5, default="09:00")),
        ("pm_close", Varchar, _params(length=5, default="13:45")),
        ("updated_at", Timestamptz, _params(default=None, null=True)),
    ]),
    ("FirstDayAlert", "first_day_alert", [
        ("school", ForeignKey, _fk(School, index=True)),
        ("pupil", ForeignKey, _fk(Pupil)),
        ("day", Date, _params(default=None)),
        ("ref", Varchar, _params(length=40, default="", unique=True)),
        ("alerted_at", Timestamptz, _params(default=None)),
    ]),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)
    for class_name, tablename, columns in TABLES:
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
        for name, column_class, params in columns:
            manager.add_column(table_class_name=class_name, tablename=tablename, column_name=name,
                               db_column_name=name, column_class_name=column_class.__name__,
                               column_class=column_class, params=params, schema=None)
    return manager
