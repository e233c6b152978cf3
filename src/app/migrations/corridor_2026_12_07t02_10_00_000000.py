"""Interventions (issue 13, point 3): instruments, programmes, their pupils, the session register and measures."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import (Boolean, Date, DoublePrecision, ForeignKey, Integer, Serial, Text,
                                          Timestamptz, Varchar)
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T02:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "intervention instrument, programme, participant, session, attendance and measure tables"


class School(Table, tablename="school", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Person(Table, tablename="person", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Pupil(Table, tablename="pupil", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Instrument(Table, tablename="intervention_instrument", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Programme(Table, tablename="intervention_programme", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Participant(Table, tablename="intervention_participant", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class ProgrammeSession(Table, tablename="intervention_session", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


def _params(**extra) -> dict:
    params = {"null": False, "primary_key": False, "unique": False, "index": False,
              "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False}
    params.update(extra)
    return params


def _fk(references, *, on_delete=OnDelete.restrict, index: bool = False) -> dict:
    return _params(references=references, on_delete=on_delete, on_update=OnUpdate.cascade, target_column=None,
                   null=False, index=index)


COLUMNS = {
    ("Instrument", "intervention_instrument"): [
        ("school", ForeignKey, _fk(School, index=True)),
        ("kind", Varchar, _params(length=10, default="")),
        ("name", Varchar, _params(length=80, default="")),
        ("low", DoublePrecision, _params(default=0.0)),
        ("high", DoublePrecision, _params(default=10.0)),
        ("higher_is_better", Boolean, _params(default=True)),
        ("threshold", DoublePrecision, _params(default=None, null=True)),
        ("licence_holder", Varchar, _params(length=120, default="")),
        ("created_at", Timestamptz, _params(default=None, null=True)),
    ],
    ("Programme", "intervention_programme"): [
        ("school", ForeignKey, _fk(School, index=True)),
        ("name", Varchar, _params(length=100, default="")),
        ("kind", Varchar, _params(length=10, default="")),
        ("aims", Text, _params(default="")),
        ("facilitator", ForeignKey, _fk(Person)),
        ("planned_sessions", Integer, _params(default=6)),
        ("cost_pence", Integer, _params(default=0)),
        ("instrument", ForeignKey, _fk(Instrument)),
        ("starts_on", Date, _params(default=None, null=True)),
        ("created_by", ForeignKey, _fk(Person)),
        ("created_at", Timestamptz, _params(default=None, null=True)),
    ],
    ("Participant", "intervention_participant"): [
        ("programme", ForeignKey, _fk(Programme, on_delete=OnDelete.cascade, index=True)),
        ("pupil", ForeignKey, _fk(Pupil, index=True)),
        ("goals", Text, _params(default="")),
        ("added_at", Timestamptz, _params(default=None, null=True)),
    ],
    ("ProgrammeSession", "intervention_session"): [
        ("programme", ForeignKey, _fk(Programme, on_delete=OnDelete.cascade, index=True)),
        ("held_on", Date, _params(default=None, null=True)),
        ("notes", Text, _params(default="")),
        ("by", ForeignKey, _fk(Person)),
        ("created_at", Timestamptz, _params(default=None, null=True)),
    ],
    ("Attendance", "intervention_attendance"): [
        ("session", ForeignKey, _fk(ProgrammeSession, on_delete=OnDelete.cascade, index=True)),
        ("participant", ForeignKey, _fk(Participant, on_delete=OnDelete.cascade, index=True)),
        ("mark", Varchar, _params(length=10, default="")),
        ("note", Text, _params(default="")),
    ],
    ("Measure", "intervention_measure"): [
        ("participant", ForeignKey, _fk(Participant, on_delete=OnDelete.cascade, index=True)),
        ("stage", Varchar, _params(length=10, default="")),
        ("taken_on", Date, _params(default=None, null=True)),
        ("score", DoublePrecision, _params(default=0.0)),
        ("ratings", Text, _params(default="")),
        ("rater", Varchar, _params(length=120, default="")),
        ("by", ForeignKey, _fk(Person)),
        ("created_at", Timestamptz, _params(default=None, null=True)),
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
