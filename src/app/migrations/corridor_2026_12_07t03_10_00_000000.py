"""Chronology (issue 13, point 5): the significant flags on a pupil's chronology entries (indexes in the next
migration, once the table exists)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Serial, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T03:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "chronology_flag table"


class School(Table, tablename="school", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Person(Table, tablename="person", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Pupil(Table, tablename="pupil", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


def _params(**extra) -> dict:
    params = {"null": False, "primary_key": False, "unique": False, "index": False,
              "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False}
    params.update(extra)
    return params


def _fk(references, *, index: bool = False) -> dict:
    return _params(references=references, on_delete=OnDelete.restrict, on_update=OnUpdate.cascade,
                   target_column=None, null=False, index=index)


COLUMNS = [
    ("school", ForeignKey, _fk(School, index=True)),
    ("pupil", ForeignKey, _fk(Pupil)),
    ("ref", Varchar, _params(length=60, default="")),
    ("set_by", ForeignKey, _fk(Person)),
    ("set_at", Timestamptz, _params(default=None, null=True)),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)
    manager.add_table(class_name="ChronologyFlag", tablename="chronology_flag", schema=None, columns=None)
    for name, column_class, params in COLUMNS:
        manager.add_column(table_class_name="ChronologyFlag", tablename="chronology_flag", column_name=name,
                           db_column_name=name, column_class_name=column_class.__name__, column_class=column_class,
                           params=params, schema=None)

    return manager
