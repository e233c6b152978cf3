"""The data review's early-intervention thresholds per school and its dismissals (issue 15, points 5 and 6)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Integer, Real, Serial, Text, Timestamptz
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T04:20:10:000000"
VERSION = "1.38.0"
DESCRIPTION = "data_review"


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


def _fk(references, *, index: bool = False, on_delete=OnDelete.restrict, null: bool = False, unique=False) -> dict:
    return _params(references=references, on_delete=on_delete, on_update=OnUpdate.cascade,
                   target_column=None, index=index, null=null, unique=unique, default=None)


TABLES = [
    ("ReviewThresholds", "review_thresholds", [
        ("school", ForeignKey, _fk(School, on_delete=OnDelete.cascade, unique=True)),
        ("negative_incidents", Integer, _params(default=3)),
        ("negative_days", Integer, _params(default=7)),
        ("attendance_below", Real, _params(default=92.0)),
        ("attendance_weeks", Integer, _params(default=4)),
        ("lates_per_half_term", Integer, _params(default=5)),
        ("drop_points", Real, _params(default=5.0)),
        ("penalty", Integer, _params(default=1)),
        ("missing_clock_days", Integer, _params(default=10)),
        ("updated_at", Timestamptz, _params(default=None, null=True)),
    ]),
    ("ReviewDismissal", "review_dismissal", [
        ("school", ForeignKey, _fk(School, on_delete=OnDelete.cascade, index=True)),
        ("pupil", ForeignKey, _fk(Pupil, index=True)),
        ("crossings", Text, _params(default="")),
        ("reason", Text, _params(default="")),
        ("dismissed_by", ForeignKey, _fk(Person)),
        ("dismissed_at", Timestamptz, _params(default=None)),
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
