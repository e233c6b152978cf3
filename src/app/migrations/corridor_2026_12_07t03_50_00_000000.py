"""Retention (issue 17, point 5): each school's retention periods per record kind, and legal holds on pupils."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T03:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "retention_policy, legal_hold"


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


def _fk(references, *, on_delete=OnDelete.restrict, index: bool = False, null: bool = False) -> dict:
    return _params(references=references, on_delete=on_delete, on_update=OnUpdate.cascade, target_column=None,
                   null=null, index=index)


def _when() -> dict:
    return _params(default=None, null=True)


COLUMNS = {
    ("RetentionPolicy", "retention_policy"): [
        ("school", ForeignKey, _fk(School, on_delete=OnDelete.cascade, index=True)),
        ("kind", Varchar, _params(length=20, default="")),
        ("basis", Varchar, _params(length=6, default="")),
        ("years", Integer, _params(default=0)),
        ("updated_by", ForeignKey, _fk(Person, on_delete=OnDelete.set_null, null=True)),
        ("updated_at", Timestamptz, _when()),
    ],
    ("LegalHold", "legal_hold"): [
        ("school", ForeignKey, _fk(School, index=True)),
        ("pupil", ForeignKey, _fk(Pupil, index=True)),
        ("reason", Text, _params(default="")),
        ("set_by", ForeignKey, _fk(Person)),
        ("set_at", Timestamptz, _when()),
        ("lifted_by", ForeignKey, _fk(Person, null=True)),
        ("lifted_at", Timestamptz, _when()),
        ("lift_reason", Text, _params(default="")),
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
