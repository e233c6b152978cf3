"""Home visits' alarm texts (issue 14, point 4): a person's own mobile, and the queue of texts per tier."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T06:41:37:000000"
VERSION = "1.38.0"
DESCRIPTION = "home visit texts"


class Person(Table, tablename="person", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class HomeVisit(Table, tablename="home_visit", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


def _params(**extra) -> dict:
    params = {"null": False, "primary_key": False, "unique": False, "index": False,
              "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False}
    params.update(extra)
    return params


def _fk(references, *, index: bool = False, on_delete=OnDelete.restrict) -> dict:
    return _params(references=references, on_delete=on_delete, on_update=OnUpdate.cascade,
                   target_column=None, index=index, default=None)


COLUMNS = [
    ("visit", ForeignKey, _fk(HomeVisit, index=True, on_delete=OnDelete.cascade)),
    ("tier", Integer, _params(default=0)),
    ("kind", Varchar, _params(length=10, default="tier")),
    ("person", ForeignKey, _fk(Person, on_delete=OnDelete.cascade)),
    ("phone", Varchar, _params(length=20, default="")),
    ("body", Text, _params(default="")),
    ("state", Varchar, _params(length=10, default="pending", index=True)),
    ("attempts", Integer, _params(default=0)),
    ("next_try_at", Timestamptz, _params(default=None, null=True)),
    ("claimed_at", Timestamptz, _params(default=None, null=True)),
    ("sent_at", Timestamptz, _params(default=None, null=True)),
    ("created_at", Timestamptz, _params(default=None)),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)
    manager.add_column(table_class_name="Person", tablename="person", column_name="mobile", db_column_name="mobile",
                       column_class_name="Varchar", column_class=Varchar,
                       params=_params(length=20, default=""), schema=None)
    manager.add_table(class_name="HomeVisitText", tablename="home_visit_text", schema=None, columns=None)
    for name, column_class, params in COLUMNS:
        manager.add_column(table_class_name="HomeVisitText", tablename="home_visit_text", column_name=name,
                           db_column_name=name, column_class_name=column_class.__name__, column_class=column_class,
                           params=params, schema=None)
    return manager
