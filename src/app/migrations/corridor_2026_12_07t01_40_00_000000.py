"""Referrals (issue 13, point 2): the school's list of services, its chase setting, referrals and their history."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T01:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "referral_settings, referral_service, referral and referral_event tables"


class School(Table, tablename="school", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Person(Table, tablename="person", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Pupil(Table, tablename="pupil", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class ReferralService(Table, tablename="referral_service", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Referral(Table, tablename="referral", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


def _params(**extra) -> dict:
    params = {"null": False, "primary_key": False, "unique": False, "index": False,
              "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False}
    params.update(extra)
    return params


def _fk(references, *, on_delete=OnDelete.restrict, index: bool = False, unique: bool = False) -> dict:
    return _params(references=references, on_delete=on_delete, on_update=OnUpdate.cascade, target_column=None,
                   null=False, index=index, unique=unique)


COLUMNS = {
    ("ReferralSettings", "referral_settings"): [
        ("school", ForeignKey, _fk(School, on_delete=OnDelete.cascade, unique=True)),
        ("chase_after_days", Integer, _params(default=10)),
    ],
    ("ReferralService", "referral_service"): [
        ("school", ForeignKey, _fk(School, on_delete=OnDelete.cascade, index=True)),
        ("name", Varchar, _params(length=80, default="")),
        ("retired_at", Timestamptz, _params(default=None, null=True)),
        ("created_at", Timestamptz, _params(default=None, null=True)),
    ],
    ("Referral", "referral"): [
        ("school", ForeignKey, _fk(School, index=True)),
        ("pupil", ForeignKey, _fk(Pupil, index=True)),
        ("service", ForeignKey, _fk(ReferralService)),
        ("owner", ForeignKey, _fk(Person, index=True)),
        ("reason", Text, _params(default="")),
        ("consent_given_by", Varchar, _params(length=200, default="")),
        ("consent_on", Date, _params(default=None, null=True)),
        ("consent_how", Varchar, _params(length=20, default="")),
        ("consent_not_needed", Text, _params(default="")),
        ("state", Varchar, _params(length=12, default="draft")),
        ("sent_at", Timestamptz, _params(default=None, null=True)),
        ("chase_due_on", Date, _params(default=None, null=True)),
        ("chased_at", Timestamptz, _params(default=None, null=True)),
        ("created_by", ForeignKey, _fk(Person)),
        ("created_at", Timestamptz, _params(default=None, null=True)),
        ("updated_at", Timestamptz, _params(default=None, null=True)),
    ],
    ("ReferralEvent", "referral_event"): [
        ("referral", ForeignKey, _fk(Referral, on_delete=OnDelete.cascade, index=True)),
        ("from_state", Varchar, _params(length=12, default="")),
        ("to_state", Varchar, _params(length=12, default="")),
        ("note", Text, _params(default="")),
        ("by", ForeignKey, _fk(Person)),
        ("at", Timestamptz, _params(default=None, null=True)),
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
