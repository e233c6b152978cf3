"""The case-conference pack (issue 13, point 6): a pack being prepared from a pupil's chronology (date range,
significant only, sources, free-text redactions), so preview, redaction and export survive a reload."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import Boolean, Date, ForeignKey, Serial, Text, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T03:10:10:000000"
VERSION = "1.38.0"
DESCRIPTION = "case-conference pack: case_pack"


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
                   target_column=None, index=index, default=None)


COLUMNS = [
    ("school", ForeignKey, _fk(School, index=True)),
    ("pupil", ForeignKey, _fk(Pupil, index=True)),
    ("starts_on", Date, _params(default=None, null=True)),
    ("ends_on", Date, _params(default=None, null=True)),
    ("significant_only", Boolean, _params(default=False)),
    ("sources", Varchar, _params(length=200, default="")),
    ("redactions", Text, _params(default="[]")),
    ("created_by", ForeignKey, _fk(Person)),
    ("created_at", Timestamptz, _params(default=None, null=True)),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)
    manager.add_table(class_name="CasePack", tablename="case_pack", schema=None, columns=None)
    for name, column_class, params in COLUMNS:
        manager.add_column(table_class_name="CasePack", tablename="case_pack", column_name=name,
                           db_column_name=name, column_class_name=column_class.__name__,
                           column_class=column_class, params=params, schema=None)
    return manager
