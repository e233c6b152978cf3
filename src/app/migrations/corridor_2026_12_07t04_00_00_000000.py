"""Subject access requests (issue 17, point 6): one row per request, with the DSL's decisions on safeguarding items."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import Date, ForeignKey, Serial, Text, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T04:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "subject_access_request"


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
                   target_column=None, index=index)


COLUMNS = [
    ("school", ForeignKey, _fk(School, index=True)),
    ("pupil", ForeignKey, _fk(Pupil, index=True)),
    ("requester_name", Varchar, _params(length=200, default="")),
    ("requester_relationship", Varchar, _params(length=60, default="")),
    ("received_on", Date, _params(default=None, null=True)),
    ("staff_names", Varchar, _params(length=6, default="keep")),
    ("decisions", Text, _params(default="{}")),
    ("created_by", ForeignKey, _fk(Person)),
    ("created_at", Timestamptz, _params(default=None, null=True)),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)
    manager.add_table(class_name="SubjectAccessRequest", tablename="subject_access_request", schema=None,
                      columns=None)
    for name, column_class, params in COLUMNS:
        manager.add_column(table_class_name="SubjectAccessRequest", tablename="subject_access_request",
                           column_name=name, db_column_name=name, column_class_name=column_class.__name__,
                           column_class=column_class, params=params, schema=None)
    return manager
