"""Home visits (issue 14, points 1, 3 and 4): the plan, who goes, the server-run timer, the escalation ladder and
the visit's events; with the columns points 2, 5 and 6 will fill (pack notes, duress, the doorstep outcome)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import Boolean, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T03:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "home_visit_settings, home_visit, home_visit_pupil, home_visit_staff, home_visit_escalation, " \
              "home_visit_event"


class School(Table, tablename="school", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Person(Table, tablename="person", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Pupil(Table, tablename="pupil", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class HomeVisit(Table, tablename="home_visit", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


def _params(**extra) -> dict:
    params = {"null": False, "primary_key": False, "unique": False, "index": False,
              "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False}
    params.update(extra)
    return params


def _fk(references, *, on_delete=OnDelete.restrict, index: bool = False, unique: bool = False,
        null: bool = False) -> dict:
    return _params(references=references, on_delete=on_delete, on_update=OnUpdate.cascade, target_column=None,
                   null=null, index=index, unique=unique)


def _when(**extra) -> dict:
    return _params(default=None, null=True, **extra)


COLUMNS = {
    ("HomeVisitSettings", "home_visit_settings"): [
        ("school", ForeignKey, _fk(School, on_delete=OnDelete.cascade, unique=True)),
        ("tier1_minutes", Integer, _params(default=5)),
        ("tier2_minutes", Integer, _params(default=15)),
        ("tier3_minutes", Integer, _params(default=30)),
        ("ack_seconds", Integer, _params(default=120)),
        ("headteacher", ForeignKey, _fk(Person, on_delete=OnDelete.set_null, null=True)),
        ("slt", Varchar, _params(length=400, default="")),
    ],
    ("HomeVisit", "home_visit"): [
        ("school", ForeignKey, _fk(School, index=True)),
        ("planner", ForeignKey, _fk(Person)),
        ("address", Text, _params(default="")),
        ("purpose", Text, _params(default="")),
        ("planned_start", Timestamptz, _when()),
        ("planned_end", Timestamptz, _when()),
        ("buddy", ForeignKey, _fk(Person, null=True)),
        ("state", Varchar, _params(length=14, default="planned", index=True)),
        ("first_visit", Boolean, _params(default=True)),
        ("needs_two", Boolean, _params(default=True)),
        ("needs_two_because", Varchar, _params(length=200, default="")),
        ("override_by", ForeignKey, _fk(Person, null=True)),
        ("override_reason", Text, _params(default="")),
        ("override_at", Timestamptz, _when()),
        ("check_adults_dogs", Text, _params(default="")),
        ("check_past_incidents", Text, _params(default="")),
        ("check_social_worker", Varchar, _params(length=12, default="")),
        ("check_purpose_agreed", Boolean, _params(default=False)),
        ("checked_by", ForeignKey, _fk(Person, null=True)),
        ("checked_at", Timestamptz, _when()),
        ("authorised_by", ForeignKey, _fk(Person, null=True)),
        ("authorised_at", Timestamptz, _when()),
        ("started_at", Timestamptz, _when()),
        ("on_site_at", Timestamptz, _when()),
        ("ends_at", Timestamptz, _when()),
        ("extensions", Integer, _params(default=0)),
        ("finished_at", Timestamptz, _when()),
        ("finished_by", ForeignKey, _fk(Person, null=True)),
        ("cancelled_at", Timestamptz, _when()),
        ("cancelled_by", ForeignKey, _fk(Person, null=True)),
        ("cancel_reason", Text, _params(default="")),
        ("next_at", Timestamptz, _when(index=True)),
        ("step", Integer, _params(default=0)),
        ("tier", Integer, _params(default=0)),
        ("acknowledged_by", ForeignKey, _fk(Person, null=True)),
        ("acknowledged_at", Timestamptz, _when()),
        ("outcome", Varchar, _params(length=30, default="")),
        ("outcome_present", Text, _params(default="")),
        ("outcome_note_left", Boolean, _when()),
        ("outcome_notes", Text, _params(default="")),
        ("duress_at", Timestamptz, _when()),
        ("pack_notes", Text, _params(default="")),
        ("created_at", Timestamptz, _when()),
    ],
    ("HomeVisitPupil", "home_visit_pupil"): [
        ("visit", ForeignKey, _fk(HomeVisit, on_delete=OnDelete.cascade, index=True)),
        ("pupil", ForeignKey, _fk(Pupil, index=True)),
    ],
    ("HomeVisitStaff", "home_visit_staff"): [
        ("visit", ForeignKey, _fk(HomeVisit, on_delete=OnDelete.cascade, index=True)),
        ("person", ForeignKey, _fk(Person, index=True)),
        ("phone", Varchar, _params(length=40, default="")),
    ],
    ("HomeVisitEscalation", "home_visit_escalation"): [
        ("visit", ForeignKey, _fk(HomeVisit, on_delete=OnDelete.cascade, index=True)),
        ("tier", Integer, _params(default=0)),
        ("fired_at", Timestamptz, _when()),
        ("ack_due_at", Timestamptz, _when()),
        ("alerted", Text, _params(default="")),
        ("lapsed_at", Timestamptz, _when()),
    ],
    ("HomeVisitEvent", "home_visit_event"): [
        ("school", ForeignKey, _fk(School, on_delete=OnDelete.cascade, index=True)),
        ("visit", ForeignKey, _fk(HomeVisit, on_delete=OnDelete.cascade, index=True)),
        ("kind", Varchar, _params(length=20, default="")),
        ("actor", ForeignKey, _fk(Person, on_delete=OnDelete.set_null, null=True)),
        ("at", Timestamptz, _when()),
        ("detail", Text, _params(default="")),
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
