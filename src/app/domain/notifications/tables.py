from __future__ import annotations

from piccolo.columns import ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from app.domain.schools.tables import Person, School


class Alert(Table):
    """One per event (an incident routed, a concern raised, an on-call request): what it says and where it leads.
    Its recipients are AlertRecipient rows, written together in one statement."""

    school = ForeignKey(references=School, on_delete=OnDelete.cascade)
    kind = Varchar(length=30)
    text = Text()  # never a pupil's name: the person opens the record to see who
    link = Varchar(length=200, default="")
    created_at = Timestamptz()


class AlertRecipient(Table):
    """One person's copy of an alert: only who and whether they have opened it (the read state is per person)."""

    alert = ForeignKey(references=Alert, on_delete=OnDelete.cascade, index=True)
    # Indexed with school, read_at and id together (alert_recipient_person_unread, migration 2026-12-07T07:31:23).
    person = ForeignKey(references=Person, on_delete=OnDelete.cascade)
    school = ForeignKey(references=School, on_delete=OnDelete.cascade)
    read_at = Timestamptz(null=True, default=None)


class Notification(Table):
    """An alert as one person sees it: a database view joining AlertRecipient (whose id it has) to its Alert.
    Read it; write Alert and AlertRecipient. The row is the truth; live delivery is a hint."""

    person = ForeignKey(references=Person, on_delete=OnDelete.cascade, index=True)
    school = ForeignKey(references=School, on_delete=OnDelete.cascade)
    kind = Varchar(length=30)
    text = Text()
    link = Varchar(length=200, default="")
    created_at = Timestamptz()
    read_at = Timestamptz(null=True, default=None)


class IdempotencyReceipt(Table):
    """One per submission key: the stored answer to a request, kept in the same transaction as its record."""

    key = Varchar(length=64)
    person = ForeignKey(references=Person, on_delete=OnDelete.cascade)
    request_hash = Varchar(length=64)
    status_code = Varchar(length=3, default="")  # empty while the first attempt is still running
    response_body = Text(default="")
    location = Varchar(length=300, default="")
    created_at = Timestamptz(index=True)
