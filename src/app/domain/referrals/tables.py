from __future__ import annotations

from piccolo.columns import Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from app.domain.pupils.tables import Pupil
from app.domain.schools.tables import Person, School


class ReferralSettings(Table):
    """One row per school: how many school days a sent referral may wait for an acknowledgement."""

    school = ForeignKey(references=School, on_delete=OnDelete.cascade, unique=True)
    chase_after_days = Integer(default=10)


class ReferralService(Table):
    """A service the school refers to (CAMHS, early help...). Retired services stay on old referrals."""

    school = ForeignKey(references=School, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=80)
    retired_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class Referral(Table):
    """A referral of one pupil to one service, with consent, and its state (history in ReferralEvent)."""

    school = ForeignKey(references=School, on_delete=OnDelete.restrict, index=True)
    pupil = ForeignKey(references=Pupil, on_delete=OnDelete.restrict, index=True)
    service = ForeignKey(references=ReferralService, on_delete=OnDelete.restrict)
    owner = ForeignKey(references=Person, on_delete=OnDelete.restrict, index=True)
    reason = Text()
    consent_given_by = Varchar(length=200, default="")
    consent_on = Date(null=True, default=None)
    consent_how = Varchar(length=20, default="")
    consent_not_needed = Text(default="")  # why consent was not needed (e.g. a child at risk of significant harm)
    state = Varchar(length=12, default="draft")
    sent_at = Timestamptz(null=True, default=None)
    chase_due_on = Date(null=True, default=None)  # the school day an unacknowledged referral is to be chased
    chased_at = Timestamptz(null=True, default=None)  # set once, by the one process that sent the owner's alert
    created_by = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class ReferralEvent(Table):
    """One change of a referral's state, time-stamped, with its note."""

    referral = ForeignKey(references=Referral, on_delete=OnDelete.cascade, index=True)
    from_state = Varchar(length=12, default="")
    to_state = Varchar(length=12)
    note = Text(default="")
    by = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    at = Timestamptz()
