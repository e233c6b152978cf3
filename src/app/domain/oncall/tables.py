from __future__ import annotations

from piccolo.columns import Boolean, Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from app.domain.incidents.tables import Incident, Location
from app.domain.pupils.tables import Pupil
from app.domain.schools.tables import Person, School


class OnCallSettings(Table):
    school = ForeignKey(references=School, on_delete=OnDelete.cascade, unique=True)
    ack_seconds = Integer(default=60)  # escalate to the next tier when nobody acknowledges in this time
    top_tier = Integer(default=2)  # tiers run 1..top_tier; after the top, everyone on duty is alerted


class OnCallReason(Table):
    school = ForeignKey(references=School, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=80)
    position = Integer(default=0)
    retired_at = Timestamptz(null=True, default=None)


class RotaSlot(Table):
    """A weekly slot: this person is on call on this weekday between these times (UK time), at a tier."""

    school = ForeignKey(references=School, on_delete=OnDelete.cascade, index=True)
    person = ForeignKey(references=Person, on_delete=OnDelete.cascade)
    weekday = Integer()  # 0 Monday .. 6 Sunday
    starts = Varchar(length=5)  # "08:40"
    ends = Varchar(length=5)  # "15:20"
    tier = Integer(default=1)


class RotaOverride(Table):
    """A change for one date: someone added (on_call) or removed (not on_call) at a tier."""

    school = ForeignKey(references=School, on_delete=OnDelete.cascade, index=True)
    person = ForeignKey(references=Person, on_delete=OnDelete.cascade)
    on_date = Date()
    tier = Integer(default=1)
    on_call = Boolean(default=True)


class OnDuty(Table):
    """Someone who has marked themselves on duty now (until they stop, or the end of the day)."""

    school = ForeignKey(references=School, on_delete=OnDelete.cascade, index=True)
    person = ForeignKey(references=Person, on_delete=OnDelete.cascade)
    since = Timestamptz()
    until = Timestamptz()


class OnCallRequest(Table):
    school = ForeignKey(references=School, on_delete=OnDelete.restrict, index=True)
    requester = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    location = ForeignKey(references=Location, on_delete=OnDelete.restrict)
    reason = ForeignKey(references=OnCallReason, on_delete=OnDelete.restrict)
    urgency = Varchar(length=10)  # routine | urgent | emergency
    note = Text(default="")
    state = Varchar(length=14, default="raised", index=True)
    tier = Integer(default=1)
    responder = ForeignKey(references=Person, on_delete=OnDelete.restrict, null=True)
    raised_at = Timestamptz()
    escalate_at = Timestamptz(null=True, default=None, index=True)
    acknowledged_at = Timestamptz(null=True, default=None)
    en_route_at = Timestamptz(null=True, default=None)
    on_scene_at = Timestamptz(null=True, default=None)
    resolved_at = Timestamptz(null=True, default=None)
    cancelled_at = Timestamptz(null=True, default=None)
    escalations = Integer(default=0)
    outcome = Varchar(length=30, default="")
    incident = ForeignKey(references=Incident, on_delete=OnDelete.set_null, null=True)


class OnCallPupil(Table):
    request = ForeignKey(references=OnCallRequest, on_delete=OnDelete.cascade, index=True)
    pupil = ForeignKey(references=Pupil, on_delete=OnDelete.restrict)


class OnCallEvent(Table):
    """Every change to a request, in order: its id is the SSE event id clients resume from."""

    school = ForeignKey(references=School, on_delete=OnDelete.cascade, index=True)
    request = ForeignKey(references=OnCallRequest, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=20)
    actor = ForeignKey(references=Person, on_delete=OnDelete.set_null, null=True)
    at = Timestamptz()
    detail = Text(default="")


class Presence(Table):
    """A responder's board is open (refreshed by the live stream's heartbeat): who is online now."""

    person = ForeignKey(references=Person, on_delete=OnDelete.cascade, unique=True)
    school = ForeignKey(references=School, on_delete=OnDelete.cascade)
    seen_at = Timestamptz()


class PushSubscription(Table):
    person = ForeignKey(references=Person, on_delete=OnDelete.cascade, index=True)
    endpoint = Varchar(length=1000, unique=True)
    p256dh = Varchar(length=200)
    auth = Varchar(length=100)
    created_at = Timestamptz()
    last_seen_at = Timestamptz()
