"""Casework (issue 13, point 1): case types per school, cases with their keyworker and review cadence, the
plan's "who does what", targets, reviews and each target's rating at a review."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T01:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "casework: case_type, pupil_case, case_action, case_target, case_review, target_rating"


class School(Table, tablename="school", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Person(Table, tablename="person", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Pupil(Table, tablename="pupil", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class CaseType(Table, tablename="case_type", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Case(Table, tablename="pupil_case", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class CaseTarget(Table, tablename="case_target", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class CaseReview(Table, tablename="case_review", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


def _params(**extra) -> dict:
    params = {"null": False, "primary_key": False, "unique": False, "index": False,
              "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False}
    params.update(extra)
    return params


def _fk(references, *, index: bool = False, null: bool = False, on_delete: OnDelete = OnDelete.restrict) -> dict:
    return _params(references=references, on_delete=on_delete, on_update=OnUpdate.cascade,
                   target_column=None, null=null, index=index, default=None)


COLUMNS = {
    ("CaseType", "case_type"): [
        ("school", ForeignKey, _fk(School, index=True)),
        ("name", Varchar, _params(length=60, default="")),
        ("review_weeks", Integer, _params(default=6)),
        ("position", Integer, _params(default=0)),
    ],
    ("Case", "pupil_case"): [
        ("school", ForeignKey, _fk(School, index=True)),
        ("pupil", ForeignKey, _fk(Pupil, index=True)),
        ("keyworker", ForeignKey, _fk(Person, index=True)),
        ("case_type", ForeignKey, _fk(CaseType)),
        ("reason", Text, _params(default="")),
        ("started_on", Date, _params(default=None, null=True)),
        ("status", Varchar, _params(length=10, default="open")),
        ("review_weeks", Integer, _params(default=6)),
        ("next_review_on", Date, _params(default=None, null=True)),
        ("strategies", Text, _params(default="")),
        ("outcome", Varchar, _params(length=20, default="")),
        ("closing_summary", Text, _params(default="")),
        ("closed_on", Date, _params(default=None, null=True)),
        ("opened_by", ForeignKey, _fk(Person)),
        ("created_at", Timestamptz, _params(default=None, null=True)),
        ("updated_at", Timestamptz, _params(default=None, null=True)),
    ],
    ("CaseAction", "case_action"): [
        ("case", ForeignKey, _fk(Case, index=True, on_delete=OnDelete.cascade)),
        ("person", ForeignKey, _fk(Person, index=True, null=True)),
        ("who", Varchar, _params(length=120, default="")),
        ("what", Text, _params(default="")),
        ("created_at", Timestamptz, _params(default=None, null=True)),
    ],
    ("CaseTarget", "case_target"): [
        ("case", ForeignKey, _fk(Case, index=True, on_delete=OnDelete.cascade)),
        ("position", Integer, _params(default=1)),
        ("text", Text, _params(default="")),
        ("pupil_words", Text, _params(default="")),
        ("state", Varchar, _params(length=12, default="not_started")),
        ("created_at", Timestamptz, _params(default=None, null=True)),
    ],
    ("CaseReview", "case_review"): [
        ("case", ForeignKey, _fk(Case, index=True, on_delete=OnDelete.cascade)),
        ("held_on", Date, _params(default=None, null=True)),
        ("notes", Text, _params(default="")),
        ("pupil_voice", Text, _params(default="")),
        ("by", ForeignKey, _fk(Person)),
        ("created_at", Timestamptz, _params(default=None, null=True)),
    ],
    ("TargetRating", "target_rating"): [
        ("review", ForeignKey, _fk(CaseReview, index=True, on_delete=OnDelete.cascade)),
        ("target", ForeignKey, _fk(CaseTarget, index=True, on_delete=OnDelete.cascade)),
        ("rating", Integer, _params(default=0)),
        ("state", Varchar, _params(length=12, default="")),
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
