from __future__ import annotations

from piccolo.columns import ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from app.domain.schools.tables import Person, School


class AuditEvent(Table):
    """Append-only: the app has no path that updates or deletes a row (and the database refuses an update).

    Tamper-evident: `entry_hash` covers the entry and `prev_hash`, the hash of the entry before it
    (audit.service.entry_hash); a unique index on `prev_hash` refuses a second entry chaining to the same one.
    """

    at = Timestamptz(index=True)
    actor = ForeignKey(references=Person, on_delete=OnDelete.set_null, null=True)
    actor_label = Varchar(length=300, default="")
    action = Varchar(length=60, index=True)
    school = ForeignKey(references=School, on_delete=OnDelete.set_null, null=True, index=True)
    subject_type = Varchar(length=40, default="")
    subject_id = Varchar(length=64, default="")
    subject_label = Varchar(length=300, default="")
    ip = Varchar(length=64, default="")
    detail = Text(default="")
    prev_hash = Varchar(length=64, default="")
    entry_hash = Varchar(length=64, default="")
