from __future__ import annotations

from piccolo.columns import ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from app.domain.schools.tables import Person, School


class Notification(Table):
    """An in-app alert for one person; live delivery is a hint, this row is the truth."""

    person = ForeignKey(references=Person, on_delete=OnDelete.cascade, index=True)
    school = ForeignKey(references=School, on_delete=OnDelete.cascade)
    kind = Varchar(length=30)
    text = Text()  # never a pupil's name: the person opens the record to see who
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
