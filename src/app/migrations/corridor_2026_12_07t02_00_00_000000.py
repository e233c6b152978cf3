"""The contact log (issue 13, point 4): calls, texts, emails, letters, meetings and home visits with a pupil's
family (the MIS contact) or an agency, with the outcome, what was said, the parent's or child's voice and a
follow-up date."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import Date, ForeignKey, Serial, Text, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T02:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "contact log: contact_log"


class School(Table, tablename="school", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Person(Table, tablename="person", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Pupil(Table, tablename="pupil", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


class Contact(Table, tablename="contact", schema=None):
    id = Serial(null=False, primary_key=True, db_column_name="id")


def _params(**extra) -> dict:
    params = {"null": False, "primary_key": False, "unique": False, "index": False,
              "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False}
    params.update(extra)
    return params


def _fk(references, *, index: bool = False, null: bool = False, on_delete: OnDelete = OnDelete.restrict) -> dict:
    return _params(references=references, on_delete=on_delete, on_update=OnUpdate.cascade,
                   target_column=None, null=null, index=index, default=None)


COLUMNS = [
    ("school", ForeignKey, _fk(School, index=True)),
    ("pupil", ForeignKey, _fk(Pupil, index=True)),
    ("contact", ForeignKey, _fk(Contact, null=True, on_delete=OnDelete.set_null)),
    ("agency", Varchar, _params(length=200, default="")),
    ("with_label", Varchar, _params(length=260, default="")),
    ("method", Varchar, _params(length=12, default="")),
    ("direction", Varchar, _params(length=3, default="")),
    ("outcome", Varchar, _params(length=14, default="")),
    ("occurred_at", Timestamptz, _params(default=None, null=True)),
    ("summary", Text, _params(default="")),
    ("voice", Text, _params(default="")),
    ("follow_up_on", Date, _params(default=None, null=True)),
    ("recorded_by", ForeignKey, _fk(Person)),
    ("created_at", Timestamptz, _params(default=None, null=True)),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="corridor", description=DESCRIPTION)
    manager.add_table(class_name="ContactLog", tablename="contact_log", schema=None, columns=None)
    for name, column_class, params in COLUMNS:
        manager.add_column(table_class_name="ContactLog", tablename="contact_log", column_name=name,
                           db_column_name=name, column_class_name=column_class.__name__,
                           column_class=column_class, params=params, schema=None)
    return manager
