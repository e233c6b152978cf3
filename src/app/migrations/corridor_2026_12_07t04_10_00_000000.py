"""Physical intervention records (issue 16, points 4 and 5): settings, techniques, the record, its pupils and staff."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T04:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "physical_intervention"


class School(Table, tablename="school", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Person(Table, tablename="person", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Pupil(Table, tablename="pupil", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Incident(Table, tablename="incident", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Location(Table, tablename="location", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class OnCallRequest(Table, tablename="on_call_request", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class PhysicalIntervention(Table, tablename="physical_intervention", schema=None):
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
    ("PhysicalInterventionSettings", "physical_intervention_settings", [
        ("school", ForeignKey, _fk(School, on_delete=OnDelete.cascade, unique=True)),
        ("complete_within_hours", Integer, _params(default=24)),
    ]),
    ("RestraintTechnique", "restraint_technique", [
        ("school", ForeignKey, _fk(School, on_delete=OnDelete.cascade, index=True)),
        ("name", Varchar, _params(length=80, default="")),
        ("position", Integer, _params(default=0)),
        ("retired_at", Timestamptz, _params(default=None, null=True)),
    ]),
    ("PhysicalIntervention", "physical_intervention", [
        ("school", ForeignKey, _fk(School, index=True)),
        ("incident", ForeignKey, _fk(Incident, on_delete=OnDelete.set_null, null=True)),
        ("oncall_request", ForeignKey, _fk(OnCallRequest, on_delete=OnDelete.set_null, null=True)),
        ("occurred_at", Timestamptz, _params(default=None)),
        ("location", ForeignKey, _fk(Location, on_delete=OnDelete.set_null, null=True)),
        ("witnesses", Text, _params(default="")),
        ("lead_up", Text, _params(default="")),
        ("deescalation", Text, _params(default="")),
        ("techniques", Text, _params(default="")),
        ("duration_minutes", Integer, _params(default=None, null=True)),
        ("injuries", Text, _params(default="")),
        ("first_aid", Text, _params(default="")),
        ("parent_informed", Varchar, _params(length=3, default="")),
        ("parent_informed_at", Timestamptz, _params(default=None, null=True)),
        ("parent_informed_by", Varchar, _params(length=200, default="")),
        ("parent_informed_how", Varchar, _params(length=12, default="")),
        ("parent_not_informed_why", Text, _params(default="")),
        ("debrief_pupil", Text, _params(default="")),
        ("debrief_staff", Text, _params(default="")),
        ("owner", ForeignKey, _fk(Person)),
        ("due_at", Timestamptz, _params(default=None, index=True)),
        ("completed_at", Timestamptz, _params(default=None, null=True)),
        ("reminded_at", Timestamptz, _params(default=None, null=True)),
        ("signed_off_by", ForeignKey, _fk(Person, null=True)),
        ("signed_off_at", Timestamptz, _params(default=None, null=True)),
        ("review_note", Text, _params(default="")),
        ("created_at", Timestamptz, _params(default=None)),
        ("updated_at", Timestamptz, _params(default=None)),
    ]),
    ("PhysicalInterventionPupil", "physical_intervention_pupil", [
        ("record", ForeignKey, _fk(PhysicalIntervention, on_delete=OnDelete.cascade, index=True)),
        ("pupil", ForeignKey, _fk(Pupil, index=True)),
    ]),
    ("PhysicalInterventionStaff", "physical_intervention_staff", [
        ("record", ForeignKey, _fk(PhysicalIntervention, on_delete=OnDelete.cascade, index=True)),
        ("person", ForeignKey, _fk(Person, index=True)),
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
