"""Rewards: the school's milestones, and the certificates printed (issue 15, point 7)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import Boolean, Date, ForeignKey, Integer, Serial, Text, Timestamptz
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T06:31:17:000042"
VERSION = "1.38.0"
DESCRIPTION = "rewards"


class School(Table, tablename="school", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Person(Table, tablename="person", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Pupil(Table, tablename="pupil", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class CertificateBatch(Table, tablename="certificate_batch", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


def _params(**extra) -> dict:
    params = {"null": False, "primary_key": False, "unique": False, "index": False,
              "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False}
    params.update(extra)
    return params


def _fk(references, *, index: bool = False, on_delete=OnDelete.restrict, null: bool = False, unique=False) -> dict:
    return _params(references=references, on_delete=on_delete, on_update=OnUpdate.cascade,
                   target_column=None, index=index, null=null, unique=unique, default=None)


TABLES = [
    ("RewardSettings", "reward_settings", [
        ("school", ForeignKey, _fk(School, on_delete=OnDelete.cascade, unique=True)),
        ("milestones", Text, _params(default="50,100,250")),
        ("updated_at", Timestamptz, _params(default=None, null=True)),
    ]),
    ("CertificateBatch", "certificate_batch", [
        ("school", ForeignKey, _fk(School, on_delete=OnDelete.cascade, index=True)),
        ("key", Text, _params(default="", unique=True)),
        ("picks", Text, _params(default="")),
        ("printed_by", ForeignKey, _fk(Person)),
        ("printed_at", Timestamptz, _params(default=None)),
    ]),
    ("CertificatePrint", "certificate_print", [
        ("batch", ForeignKey, _fk(CertificateBatch, on_delete=OnDelete.cascade, index=True)),
        ("school", ForeignKey, _fk(School, on_delete=OnDelete.cascade)),
        ("pupil", ForeignKey, _fk(Pupil, on_delete=OnDelete.cascade, index=True)),
        ("milestone", Integer, _params(default=0)),
        ("year_start", Date, _params(default=None)),
        ("points", Integer, _params(default=0)),
        ("reprint", Boolean, _params(default=False)),
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
