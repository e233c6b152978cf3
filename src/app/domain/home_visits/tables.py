"""Home visits (issue 14): the plan, who goes, the server-run timer and the escalation ladder.

Columns for what later points add are here already, so those points need no table change: the doorstep
outcome (point 6), duress (point 5), the visit pack's chosen notes (point 2). The HomeVisitEvent rows are the
visit's chronology and, by their ids, the live board's event ids (point 8).
"""

from __future__ import annotations

from piccolo.columns import Boolean, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from app.domain.pupils.tables import Pupil
from app.domain.schools.tables import Person, School


class HomeVisitSettings(Table):
    """A school's ladder (defaults when there is no row): minutes after the end time for each tier, the time each
    tier has to acknowledge, and who the headteacher and SLT are (Corridor has no such roles)."""

    school = ForeignKey(references=School, on_delete=OnDelete.cascade, unique=True)
    tier1_minutes = Integer(default=5)
    tier2_minutes = Integer(default=15)
    tier3_minutes = Integer(default=30)
    ack_seconds = Integer(default=120)
    headteacher = ForeignKey(references=Person, on_delete=OnDelete.set_null, null=True)
    slt = Varchar(length=400, default="")  # person ids, comma-separated


class HomeVisit(Table):
    school = ForeignKey(references=School, on_delete=OnDelete.restrict, index=True)
    planner = ForeignKey(references=Person, on_delete=OnDelete.restrict)
    address = Text()  # typed or copied from the MIS: never in a URL, a log line, an alert or a push
    purpose = Text()
    planned_start = Timestamptz()
    planned_end = Timestamptz()
    buddy = ForeignKey(references=Person, on_delete=OnDelete.restrict, null=True)
    state = Varchar(length=14, default="planned", index=True)
    first_visit = Boolean(default=True)
    needs_two = Boolean(default=True)
    needs_two_because = Varchar(length=200, default="")
    override_by = ForeignKey(references=Person, on_delete=OnDelete.restrict, null=True)
    override_reason = Text(default="")
    override_at = Timestamptz(null=True, default=None)
    # The pre-visit checklist
    check_adults_dogs = Text(default="")
    check_past_incidents = Text(default="")
    check_social_worker = Varchar(length=12, default="")  # informed | not_needed | no_worker
    check_purpose_agreed = Boolean(default=False)
    checked_by = ForeignKey(references=Person, on_delete=OnDelete.restrict, null=True)
    checked_at = Timestamptz(null=True, default=None)
    authorised_by = ForeignKey(references=Person, on_delete=OnDelete.restrict, null=True)
    authorised_at = Timestamptz(null=True, default=None)
    started_at = Timestamptz(null=True, default=None)
    on_site_at = Timestamptz(null=True, default=None)
    ends_at = Timestamptz(null=True, default=None)  # the time the visitor is due back, after any extension
    extensions = Integer(default=0)
    finished_at = Timestamptz(null=True, default=None)
    finished_by = ForeignKey(references=Person, on_delete=OnDelete.restrict, null=True)
    cancelled_at = Timestamptz(null=True, default=None)
    cancelled_by = ForeignKey(references=Person, on_delete=OnDelete.restrict, null=True)
    cancel_reason = Text(default="")
    # The timer: what the server does next and when (null: nothing to do). Every process looks; a conditional
    # update on `step` lets exactly one of them take each step.
    next_at = Timestamptz(null=True, default=None, index=True)
    step = Integer(default=0)  # 0 none yet, 1 reminded at end-5, 2 reminded at end, then 2 + the tier fired
    tier = Integer(default=0)  # the highest tier fired (4: the whole safeguarding team)
    acknowledged_by = ForeignKey(references=Person, on_delete=OnDelete.restrict, null=True)
    acknowledged_at = Timestamptz(null=True, default=None)
    # Point 6, the doorstep outcome; point 5, duress; point 2, what the pack carries.
    outcome = Varchar(length=30, default="")
    outcome_present = Text(default="")
    outcome_note_left = Boolean(null=True, default=None)
    outcome_notes = Text(default="")
    duress_at = Timestamptz(null=True, default=None)
    pack_notes = Text(default="")
    created_at = Timestamptz()


class HomeVisitPupil(Table):
    visit = ForeignKey(references=HomeVisit, on_delete=OnDelete.cascade, index=True)
    pupil = ForeignKey(references=Pupil, on_delete=OnDelete.restrict, index=True)


class HomeVisitStaff(Table):
    """Someone going on the visit, with the mobile they carry (for the tap-to-call links and the 999 script)."""

    visit = ForeignKey(references=HomeVisit, on_delete=OnDelete.cascade, index=True)
    person = ForeignKey(references=Person, on_delete=OnDelete.restrict, index=True)
    phone = Varchar(length=40, default="")


class HomeVisitEscalation(Table):
    """One row per tier fired (unique per visit and tier): who was alerted, by when they must acknowledge,
    whether the tier lapsed. Tier 4 is the whole safeguarding team, after every tier lapsed."""

    visit = ForeignKey(references=HomeVisit, on_delete=OnDelete.cascade, index=True)
    tier = Integer()
    fired_at = Timestamptz()
    ack_due_at = Timestamptz()
    alerted = Text(default="")  # person ids, comma-separated
    lapsed_at = Timestamptz(null=True, default=None)


class HomeVisitEvent(Table):
    """Every change to a visit, in order: the visit's chronology and (by id) the live board's event ids."""

    school = ForeignKey(references=School, on_delete=OnDelete.cascade, index=True)
    visit = ForeignKey(references=HomeVisit, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=20)
    actor = ForeignKey(references=Person, on_delete=OnDelete.set_null, null=True)
    at = Timestamptz()
    detail = Text(default="")


class HomeVisitText(Table):
    """An SMS of the alarm (point 4) to one person: queued in the transaction that fires the tier (so exactly once,
    as the tier is), sent after that commits by whichever process claims it first, retried a few times. Unique per
    visit, tier, kind ("tier", or "duress" for the duress check-out's tier 2) and person. The number is copied at
    queueing; the body holds no pupil data (docs/home-visits.md)."""

    visit = ForeignKey(references=HomeVisit, on_delete=OnDelete.cascade, index=True)
    tier = Integer()
    kind = Varchar(length=10, default="tier")
    person = ForeignKey(references=Person, on_delete=OnDelete.cascade)
    phone = Varchar(length=20)
    body = Text()
    state = Varchar(length=10, default="pending", index=True)  # pending | sending | sent | failed
    attempts = Integer(default=0)
    next_try_at = Timestamptz(null=True, default=None)
    claimed_at = Timestamptz(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
