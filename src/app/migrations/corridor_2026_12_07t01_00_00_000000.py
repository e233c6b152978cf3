"""Alerts written once per event: an alert table (what it says, where it leads) and an alert_recipient table
(one narrow row per person: who, and whether they have opened it). The rows move over in the next migration."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T01:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "alert and alert_recipient tables"


class School(Table, tablename="school", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Person(Table, tablename="person", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Alert(Table, tablename="alert", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


def _params(**extra) -> dict:
    params = {"null": False, "primary_key": False, "unique": False, "index": False,
              "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False}
    params.update(extra)
    return params


def _fk(references, *, index: bool = False) -> dict:
    return _params(references=references, on_delete=OnDelete.cascade, on_update=OnUpdate.cascade,
                   target_column=None, null=True, index=index)


COLUMNS = {
    ("Alert", "alert"): [
        ("school", ForeignKey, _fk(School)),
        ("kind", Varchar, _params(length=30, default="")),
        ("text", Text, _params(default="")),
        ("link", Varchar, _params(length=200, default="")),
        ("created_at", Timestamptz, _params(default=TimestamptzNow())),
    ],
    ("AlertRecipient", "alert_recipient"): [
        ("alert", ForeignKey, _fk(Alert, index=True)),
        ("person", ForeignKey, _fk(Person, index=True)),
        ("school", ForeignKey, _fk(School)),
        ("read_at", Timestamptz, _params(default=None, null=True)),
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
