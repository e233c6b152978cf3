"""Pupils on report (issue 16, points 1-3): the day's periods, scale labels, reports, targets, ratings, changes."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T04:25:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "on_report"


class School(Table, tablename="school", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Person(Table, tablename="person", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Pupil(Table, tablename="pupil", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Incident(Table, tablename="incident", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Case(Table, tablename="pupil_case", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class SchoolPeriod(Table, tablename="school_period", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class OnReport(Table, tablename="on_report", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class OnReportTarget(Table, tablename="on_report_target", schema=None):
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
    ("SchoolPeriod", "school_period", [
        ("school", ForeignKey, _fk(School, on_delete=OnDelete.cascade, index=True)),
        ("name", Varchar, _params(length=40, default="")),
        ("starts", Varchar, _params(length=5, default="")),
        ("ends", Varchar, _params(length=5, default="")),
        ("kind", Varchar, _params(length=12, default="lesson")),
        ("position", Integer, _params(default=0)),
        ("retired_at", Timestamptz, _params(default=None, null=True)),
    ]),
    ("OnReportSettings", "on_report_settings", [
        ("school", ForeignKey, _fk(School, on_delete=OnDelete.cascade, unique=True)),
        ("labels", Text, _params(default="")),
    ]),
    ("OnReport", "on_report", [
        ("school", ForeignKey, _fk(School, index=True)),
        ("pupil", ForeignKey, _fk(Pupil, index=True)),
        ("level", Integer, _params(default=1)),
        ("starts_on", Date, _params(default=None)),
        ("ends_on", Date, _params(default=None)),
        ("periods", Text, _params(default="")),
        ("visible_to", Varchar, _params(length=60, default="tutor,head_of_year,pastoral")),
        ("incident", ForeignKey, _fk(Incident, on_delete=OnDelete.set_null, null=True)),
        ("case", ForeignKey, _fk(Case, on_delete=OnDelete.set_null, null=True)),
        ("owner", ForeignKey, _fk(Person)),
        ("created_at", Timestamptz, _params(default=None)),
        ("updated_at", Timestamptz, _params(default=None)),
        ("ended_at", Timestamptz, _params(default=None, null=True)),
        ("end_reason", Text, _params(default="")),
    ]),
    ("OnReportTarget", "on_report_target", [
        ("report", ForeignKey, _fk(OnReport, on_delete=OnDelete.cascade, index=True)),
        ("position", Integer, _params(default=0)),
        ("text", Varchar, _params(length=200, default="")),
        ("pupil_words", Varchar, _params(length=300, default="")),
    ]),
    ("OnReportRating", "on_report_rating", [
        ("report", ForeignKey, _fk(OnReport, on_delete=OnDelete.cascade, index=True)),
        ("target", ForeignKey, _fk(OnReportTarget, on_delete=OnDelete.cascade)),
        ("period", ForeignKey, _fk(SchoolPeriod)),
        ("day", Date, _params(default=None)),
        ("score", Integer, _params(default=0)),
        ("comment", Varchar, _params(length=500, default="")),
        ("rated_by", ForeignKey, _fk(Person)),
        ("rated_at", Timestamptz, _params(default=None)),
    ]),
    ("OnReportChange", "on_report_change", [
        ("report", ForeignKey, _fk(OnReport, on_delete=OnDelete.cascade, index=True)),
        ("action", Varchar, _params(length=12, default="")),
        ("from_level", Integer, _params(default=0)),
        ("to_level", Integer, _params(default=0)),
        ("reason", Text, _params(default="")),
        ("by", ForeignKey, _fk(Person)),
        ("at", Timestamptz, _params(default=None)),
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
