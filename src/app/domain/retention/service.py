"""Retention (issue 17, point 5): how long each kind of record is kept at a school, legal holds, and the run that
lists (dry run) or deletes (apply) what is due. See docs/retention.md.

This feature sits at the top: it reads every feature's tables, and nothing below imports it. Deletions follow the
tables' on_delete rules: a top record is deleted and its child rows go with it by cascade (a concern's entries, an
incident's statements and versions, a case's plan and reviews, a referral's events, a participant's measures); no
pupil row is ever deleted. A pupil under a legal hold keeps every record, whatever is due.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from piccolo.columns import Column
from piccolo.table import Table

from app import clock
from app.db import atomic
from app.domain.accounts.tables import Challenge, EnrolmentToken, Session
from app.domain.attendance.tables import AttendanceMark
from app.domain.audit import service as audit
from app.domain.audit.service import CLI, Origin
from app.domain.casework.tables import Case
from app.domain.chronology.pack_tables import CasePack
from app.domain.chronology.tables import ChronologyFlag
from app.domain.concerns.service import in_dsl_team
from app.domain.concerns.tables import Concern
from app.domain.contact_log.tables import ContactLog
from app.domain.home_visits.tables import HomeVisit, HomeVisitPupil
from app.domain.incidents.tables import Incident, IncidentPupil
from app.domain.interventions.tables import Participant
from app.domain.notifications.service import RECEIPT_DAYS
from app.domain.notifications.tables import Alert, IdempotencyReceipt
from app.domain.oncall.tables import OnCallPupil, OnCallRequest
from app.domain.pupils.tables import Pupil
from app.domain.referrals.tables import Referral
from app.domain.retention.tables import LegalHold, RetentionPolicy
from app.domain.schools.service import Actor
from app.domain.schools.tables import School
from app.errors import NotFound, ValidationFailed

LONDON = ZoneInfo("Europe/London")
NOT_HERE = "There is nothing here, or you do not have access to it."
CHUNK = 500  # ids per IN (...) list: well under SQLite's and asyncpg's parameter limits


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    covers: str
    basis: str  # the default: age | years
    years: int
    bases: tuple[str, ...]  # what a school may choose
    source: str
    min_age: int = 18
    min_years: int = 1


KINDS: tuple[Kind, ...] = (
    Kind("safeguarding", "Safeguarding", "Concerns with the DSL team's actions, decisions and outcomes",
         "age", 25, ("age",), "KCSIE and the IRMS toolkit: at least until the pupil's 25th birthday", min_age=25),
    Kind("behaviour", "Behaviour", "Incidents and each pupil's part in them, follow-ups, statements, earlier versions",
         "age", 25, ("age", "years"), "IRMS toolkit (secondary pupil record): until the pupil's 25th birthday"),
    Kind("casework", "Casework", "Cases with plans and reviews, referrals, intervention places and measures, the "
         "contact log, home visits, chronology marks and case-conference packs",
         "age", 25, ("age", "years"), "IRMS toolkit (pupil record and support files): until the pupil's 25th birthday"),
    Kind("attendance", "Attendance", "Register marks and the history of amended marks", "years", 6, ("years",),
         "School Attendance (Pupil Registration) (England) Regulations 2024: every entry kept 6 years", min_years=6),
    Kind("oncall", "On-call requests", "Requests for help and their history", "years", 3, ("years",),
         "operational: 3 years after the request, long enough to answer a complaint"),
    Kind("alerts", "Alerts", "In-app alerts and who has read them (never a pupil's name)", "years", 1, ("years",),
         "operational: 1 year"),
)
KIND = {k.key: k for k in KINDS}

# Install-wide records with no pupil in them, fixed here (not per school): sign-in and sending machinery.
SESSION_DAYS = 90
TOKEN_DAYS = 30
SYSTEM_KINDS = (
    ("sessions", "Sessions", f"ended or expired over {SESSION_DAYS} days ago"),
    ("enrolment", "Enrolment links and passkey challenges", f"expired over {TOKEN_DAYS} days ago"),
    ("receipts", "Submission receipts", f"older than {RECEIPT_DAYS} days, as corridor purge"),
)


def today() -> dt.date:
    return clock.now().astimezone(LONDON).date()


def birthday(born: dt.date, age: int) -> dt.date:
    """The day a person born on `born` turns `age`; someone born on 29 February turns it on 1 March in a common year
    (as the law counts ages in England and Wales)."""
    try:
        return born.replace(year=born.year + age)
    except ValueError:
        return dt.date(born.year + age, 3, 1)


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return dt.date(day.year - years, 2, 28)


@dataclass(frozen=True)
class Rule:
    basis: str
    years: int
    is_default: bool

    def describe(self) -> str:
        if self.basis == "age":
            return f"until the pupil's {_ordinal(self.years)} birthday"
        return f"{self.years} year{'s' if self.years != 1 else ''} after the record"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# The school's periods ---------------------------------------------------------------------------------------

async def policy_of(school_id: int) -> dict[str, Rule]:
    rows = await RetentionPolicy.select(RetentionPolicy.kind, RetentionPolicy.basis, RetentionPolicy.years).where(
        RetentionPolicy.school == school_id)
    saved = {r["kind"]: r for r in rows if r["kind"] in KIND}
    rules = {}
    for kind in KINDS:
        row = saved.get(kind.key)
        rule = Rule(row["basis"], row["years"], False) if row else Rule(kind.basis, kind.years, True)
        if rule.basis == kind.basis and rule.years == kind.years:
            rule = Rule(rule.basis, rule.years, True)
        rules[kind.key] = rule
    return rules


def _admin_school(actor: Actor) -> int:
    if actor.school_id is None or not actor.has("admin"):
        raise NotFound(NOT_HERE)
    return actor.school_id


async def policy_for_admin(actor: Actor) -> list[dict[str, Any]]:
    """The school's periods as the admin's page shows them: each kind, its rule, its default and the source."""
    rules = await policy_of(_admin_school(actor))
    return [{"kind": k, "rule": rules[k.key], "default": Rule(k.basis, k.years, True)} for k in KINDS]


def _whole(raw: Any) -> int | None:
    text = str(raw or "").strip()
    if not text or len(text) > 3 or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


async def set_policy(actor: Actor, form: dict[str, Any]) -> list[str]:
    """The school's periods, checked kind by kind; the changed ones are saved and audited (before and after).
    Returns the keys of the kinds that changed."""
    school = _admin_school(actor)
    errors: dict[str, str] = {}
    wanted: dict[str, tuple[str, int]] = {}
    for kind in KINDS:
        basis = str(form.get(f"{kind.key}_basis") or kind.bases[0]) if len(kind.bases) > 1 else kind.bases[0]
        if basis not in kind.bases:
            errors[f"{kind.key}_basis"] = f"{kind.label}: choose how the period is counted."
            continue
        years = _whole(form.get(f"{kind.key}_years"))
        if basis == "age":
            if years is None or not kind.min_age <= years <= 100:
                errors[f"{kind.key}_years"] = (f"{kind.label}: give an age from {kind.min_age} to 100"
                                               + (" (KCSIE: at least until the pupil's 25th birthday)."
                                                  if kind.min_age == 25 else "."))
                continue
        elif years is None or not kind.min_years <= years <= 100:
            errors[f"{kind.key}_years"] = (f"{kind.label}: give a whole number of years from {kind.min_years} to 100"
                                           + (" (the law asks for at least 6)." if kind.min_years > 1 else "."))
            continue
        wanted[kind.key] = (basis, years)
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    async with atomic():
        current = await policy_of(school)
        changed = [k for k, (basis, years) in wanted.items()
                   if (current[k].basis, current[k].years) != (basis, years)]
        for key in changed:
            basis, years = wanted[key]
            values = {RetentionPolicy.basis: basis, RetentionPolicy.years: years,
                      RetentionPolicy.updated_by: actor.person_id, RetentionPolicy.updated_at: now}
            where = (RetentionPolicy.school == school) & (RetentionPolicy.kind == key)
            if await RetentionPolicy.exists().where(where):
                await RetentionPolicy.update(values).where(where)
            else:
                await RetentionPolicy.insert(RetentionPolicy(school=school, kind=key, basis=basis, years=years,
                                                             updated_by=actor.person_id, updated_at=now))
        if changed:
            await audit.record("retention.policy_changed", actor_id=actor.person_id, actor_label=actor.label,
                               school_id=school, subject_type="school", subject_id=school, origin=actor.origin,
                               detail={"before": {k: f"{current[k].basis}:{current[k].years}" for k in changed},
                                       "after": {k: f"{wanted[k][0]}:{wanted[k][1]}" for k in changed}})
    return changed


# Legal holds ------------------------------------------------------------------------------------------------

async def _dsl_pupil(actor: Actor, pupil_id: int) -> dict:
    """A pupil of the actor's school, for the DSL team only (anyone else: not found)."""
    if not in_dsl_team(actor):
        raise NotFound(NOT_HERE)
    row = await Pupil.select(Pupil.id, Pupil.preferred_first_name, Pupil.legal_first_name,
                             Pupil.legal_last_name).where(
        (Pupil.id == pupil_id) & (Pupil.school == actor.school_id)).first()
    if not row:
        raise NotFound(NOT_HERE)
    row["name"] = f"{row['preferred_first_name'] or row['legal_first_name']} {row['legal_last_name']}"
    return row


async def holds_of(actor: Actor, pupil_id: int) -> dict[str, Any]:
    """The pupil's hold in force (or None) and every earlier one, for the DSL team."""
    pupil = await _dsl_pupil(actor, pupil_id)
    rows = await LegalHold.select(
        LegalHold.id, LegalHold.reason, LegalHold.set_at, LegalHold.set_by.display_name.as_alias("set_by_name"),
        LegalHold.lifted_at, LegalHold.lift_reason, LegalHold.lifted_by.display_name.as_alias("lifted_by_name"),
    ).where(LegalHold.pupil == pupil_id).order_by(LegalHold.id, ascending=False)
    current = next((r for r in rows if r["lifted_at"] is None), None)
    return {"pupil": pupil, "current": current, "history": [r for r in rows if r is not current]}


def _reason(raw: Any, field_name: str, what: str) -> str:
    text = str(raw or "").strip()
    if not text:
        raise ValidationFailed({field_name: f"Say why {what}."})
    if len(text) > 1000:
        raise ValidationFailed({field_name: "Keep the reason to 1,000 characters."})
    return text


async def set_hold(actor: Actor, pupil_id: int, reason: Any) -> None:
    """Put the pupil's records under a legal hold (DSL team only), with a reason; audited, without the reason."""
    await _dsl_pupil(actor, pupil_id)
    text = _reason(reason, "reason", "the records must be kept")
    async with atomic():
        await _holds_turn(actor.school_id)
        if await LegalHold.exists().where((LegalHold.pupil == pupil_id) & LegalHold.lifted_at.is_null()):
            raise ValidationFailed({"reason": "This pupil's records are already under a legal hold."})
        hold = LegalHold(school=actor.school_id, pupil=pupil_id, reason=text, set_by=actor.person_id,
                         set_at=clock.now())
        await hold.save()
        await audit.record("legal_hold.set", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="pupil", subject_id=pupil_id,
                           origin=actor.origin, detail={"hold": hold.id})


async def lift_hold(actor: Actor, pupil_id: int, reason: Any) -> None:
    """Lift the pupil's hold in force (DSL team only), with a reason; the hold stays in the history."""
    await _dsl_pupil(actor, pupil_id)
    text = _reason(reason, "lift_reason", "the hold can be lifted")
    async with atomic():
        lifted = await LegalHold.update({LegalHold.lifted_at: clock.now(), LegalHold.lifted_by: actor.person_id,
                                         LegalHold.lift_reason: text}).where(
            (LegalHold.pupil == pupil_id) & LegalHold.lifted_at.is_null()).returning(LegalHold.id)
        if not lifted:
            raise ValidationFailed({"lift_reason": "This pupil has no legal hold in force."})
        await audit.record("legal_hold.lifted", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="pupil", subject_id=pupil_id,
                           origin=actor.origin, detail={"hold": lifted[0]["id"]})


HOLD_LOCK = 17_05  # the first key of the advisory lock a school's holds and its retention run share (PostgreSQL)


async def _holds_turn(school_id: int) -> None:
    """Inside a transaction: a hold being set and a retention run at the same school take turns, so a run never
    deletes by a list of holds read just before a new hold committed. SQLite's write transactions already queue
    (BEGIN IMMEDIATE); PostgreSQL takes a transaction-level advisory lock."""
    if not _is_sqlite():
        await LegalHold.raw("SELECT pg_advisory_xact_lock({}, {})", HOLD_LOCK, school_id)


def _is_sqlite() -> bool:
    from piccolo.engine.sqlite import SQLiteEngine

    return isinstance(LegalHold._meta.db, SQLiteEngine)


async def held_pupils(school_id: int) -> set[int]:
    rows = await LegalHold.select(LegalHold.pupil).where(
        (LegalHold.school == school_id) & LegalHold.lifted_at.is_null())
    return {r["pupil"] for r in rows}


# What is due ------------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """One school's (or the install's) kind: what is due, what a legal hold keeps, and what was deleted."""

    school_id: int | None
    school: str
    kind: str
    label: str
    rule: str
    due: dict[str, int] = field(default_factory=dict)  # per part (e.g. concerns, incidents): rows due
    held: int = 0  # top records kept back by a legal hold
    ids: dict[str, list[int]] = field(default_factory=dict)
    bulk: tuple | None = None  # attendance: (school, first day kept, held pupils), deleted set-based

    @property
    def due_total(self) -> int:
        return sum(self.due.values())


@dataclass(frozen=True)
class Part:
    """Rows of one table counted and deleted for a kind, found by their pupil and their date."""

    name: str
    table: type[Table]
    pupil: Column
    date: Column
    school: Column
    is_date: bool = False  # the date column is a Date, not a moment
    extra: Any = None  # a further condition (e.g. a case must be closed before 'years after' applies)


def _parts(kind: str) -> list[Part]:
    if kind == "safeguarding":
        return [Part("concerns", Concern, Concern.pupil, Concern.recorded_at, Concern.school)]
    if kind == "behaviour":
        return [Part("pupil entries", IncidentPupil, IncidentPupil.pupil, IncidentPupil.incident.occurred_at,
                     IncidentPupil.incident.school)]
    if kind == "casework":
        return [
            # A case counts from when it closed: an open case is never due by 'years after'.
            Part("cases", Case, Case.pupil, Case.closed_on, Case.school, is_date=True),
            Part("referrals", Referral, Referral.pupil, Referral.updated_at, Referral.school),
            Part("intervention places", Participant, Participant.pupil, Participant.added_at,
                 Participant.programme.school),
            # A visit that is over (finished or cancelled): one planned or under way is never touched.
            Part("home visit pupils", HomeVisitPupil, HomeVisitPupil.pupil, HomeVisitPupil.visit.planned_start,
                 HomeVisitPupil.visit.school, extra=HomeVisitPupil.visit.state.is_in(["finished_safe", "cancelled"])),
            Part("contact log entries", ContactLog, ContactLog.pupil, ContactLog.occurred_at, ContactLog.school),
            Part("chronology marks", ChronologyFlag, ChronologyFlag.pupil, ChronologyFlag.set_at,
                 ChronologyFlag.school),
            Part("case-conference packs", CasePack, CasePack.pupil, CasePack.created_at, CasePack.school),
        ]
    return []


def _start_of(day: dt.date) -> dt.datetime:
    """The start of a UK day, in UTC (as moments are stored)."""
    return dt.datetime.combine(day, dt.time(), LONDON).astimezone(dt.timezone.utc)


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]


async def _due_pupils(school_id: int, age: int, day: dt.date) -> list[int]:
    """Pupils of the school who have had their `age`th birthday by `day` (a pupil turning 25 tomorrow is not due)."""
    # A first cut in SQL (born on or before this day, `age` years ago, plus a day for 29 February), exact in Python.
    latest = years_before(day, age) + dt.timedelta(days=1)
    rows = await Pupil.select(Pupil.id, Pupil.date_of_birth).where(
        (Pupil.school == school_id) & (Pupil.date_of_birth <= latest))
    return sorted(r["id"] for r in rows if birthday(_as_date(r["date_of_birth"]), age) <= day)


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


async def _pupil_rows(part: Part, school_id: int, rule: Rule, day: dt.date, due_pupils: list[int]) -> list[dict]:
    id_col = part.table._meta.primary_key
    columns = (id_col.as_alias("id"), part.pupil.as_alias("pupil"))
    where = part.school == school_id
    if part.extra is not None:
        where = where & part.extra
    if rule.basis == "age":
        rows: list[dict] = []
        for chunk in _chunks(due_pupils):
            rows += await part.table.select(*columns).where(where & part.pupil.is_in(chunk))
        return rows
    cutoff = years_before(day, rule.years)
    # A moment is due once it is before the start of that UK day.
    limit: Any = cutoff if part.is_date else _start_of(cutoff)
    return await part.table.select(*columns).where(where & (part.date < limit))


async def _plan_kind(school: dict, kind: Kind, rule: Rule, day: dt.date, held: set[int]) -> Outcome:
    out = Outcome(school["id"], school["name"], kind.key, kind.label, rule.describe())
    now_cutoff = _start_of(years_before(day, rule.years))
    if kind.key == "oncall":
        rows = await OnCallRequest.select(OnCallRequest.id).where(
            (OnCallRequest.school == school["id"]) & (OnCallRequest.raised_at < now_cutoff))
        ids = [r["id"] for r in rows]
        kept: set[int] = set()
        if held:
            for chunk in _chunks(ids):
                kept |= {r["request"] for r in await OnCallPupil.select(OnCallPupil.request).where(
                    OnCallPupil.request.is_in(chunk) & OnCallPupil.pupil.is_in(sorted(held)))}
        out.ids["requests"] = [i for i in ids if i not in kept]
        out.held = len(kept)
    elif kind.key == "attendance":
        first_kept = years_before(day, rule.years)
        out.bulk = (school["id"], first_kept, sorted(held))
        out.due = {"register marks": await _marks(out.bulk, "count"),
                   "amended marks' history": await _marks(out.bulk, "count_changes")}
        out.held = await _marks(out.bulk, "count_held")
        return out
    elif kind.key == "alerts":
        rows = await Alert.select(Alert.id).where((Alert.school == school["id"]) & (Alert.created_at < now_cutoff))
        out.ids["alerts"] = [r["id"] for r in rows]
    else:
        due_pupils = await _due_pupils(school["id"], rule.years, day) if rule.basis == "age" else []
        for part in _parts(kind.key):
            rows = await _pupil_rows(part, school["id"], rule, day, due_pupils)
            out.ids[part.name] = sorted(r["id"] for r in rows if r["pupil"] not in held)
            out.held += sum(1 for r in rows if r["pupil"] in held)
        if kind.key == "behaviour":
            out.ids["incidents"] = await _left_empty(IncidentPupil, IncidentPupil.incident, out.ids["pupil entries"])
        if kind.key == "casework":
            out.ids["home visits"] = await _left_empty(HomeVisitPupil, HomeVisitPupil.visit,
                                                       out.ids["home visit pupils"])
    out.due = {name: len(ids) for name, ids in out.ids.items()}
    return out


async def _left_empty(child: type[Table], parent: Column, entry_ids: list[int]) -> list[int]:
    """The incidents (or home visits) every one of whose pupil entries is among those due: they go with their
    statements and versions (or staff, events and escalations). One another pupil is still kept for stays whole
    (its statements may be that pupil's record)."""
    going = set(entry_ids)
    key = child._meta.primary_key
    parents: set[int] = set()
    for chunk in _chunks(entry_ids):
        parents |= {r["parent"] for r in await child.select(parent.as_alias("parent")).where(key.is_in(chunk))}
    staying: set[int] = set()
    for chunk in _chunks(sorted(parents)):
        rows = await child.select(key.as_alias("id"), parent.as_alias("parent")).where(parent.is_in(chunk))
        staying |= {r["parent"] for r in rows if r["id"] not in going}
    return sorted(parents - staying)


def _placeholders(values: list[int]) -> str:
    return ", ".join("{}" for _ in values)


async def _marks(bulk: tuple, what: str) -> int:
    """Register marks of a school before its first kept day, counted or deleted set-based (a year of a school's
    marks is about a million rows: never loaded). Marks of held pupils are left out, or counted for 'count_held'."""
    school, first_kept, held = bulk
    args: list[Any] = [school, first_kept]
    marks = "SELECT id FROM attendance_mark WHERE school = {} AND day < {}"
    if held:
        marks += f" AND pupil {'IN' if what == 'count_held' else 'NOT IN'} ({_placeholders(held)})"
        args += held
    elif what == "count_held":
        return 0
    changes = f"FROM attendance_mark_change WHERE mark IN ({marks})"
    # Built from constants and {} placeholders only: every value is a parameter.
    sql = {"count": f"SELECT COUNT(*) AS n FROM ({marks}) AS due",  # nosec B608
           "count_held": f"SELECT COUNT(*) AS n FROM ({marks}) AS held",  # nosec B608
           "count_changes": f"SELECT COUNT(*) AS n {changes}",
           "delete_changes": f"DELETE {changes}",
           "delete": f"DELETE FROM attendance_mark WHERE id IN ({marks})"}[what]  # nosec B608
    rows = await AttendanceMark.raw(sql, *args)
    return int(rows[0]["n"]) if what.startswith("count") else 0


async def _plan_system(now: dt.datetime) -> list[Outcome]:
    session_cut = now - dt.timedelta(days=SESSION_DAYS)
    token_cut = now - dt.timedelta(days=TOKEN_DAYS)
    sessions = Outcome(None, "Install-wide", "sessions", SYSTEM_KINDS[0][1], SYSTEM_KINDS[0][2])
    sessions.ids["sessions"] = [r["id"] for r in await Session.select(Session.id).where(
        (Session.ended_at < session_cut) | (Session.expires_at < session_cut))]
    enrolment = Outcome(None, "Install-wide", "enrolment", SYSTEM_KINDS[1][1], SYSTEM_KINDS[1][2])
    enrolment.ids["enrolment links"] = [r["id"] for r in await EnrolmentToken.select(EnrolmentToken.id).where(
        EnrolmentToken.expires_at < token_cut)]
    enrolment.ids["challenges"] = [r["id"] for r in await Challenge.select(Challenge.id).where(
        Challenge.expires_at < token_cut)]
    receipts = Outcome(None, "Install-wide", "receipts", SYSTEM_KINDS[2][1], SYSTEM_KINDS[2][2])
    receipts.ids["receipts"] = [r["id"] for r in await IdempotencyReceipt.select(IdempotencyReceipt.id).where(
        IdempotencyReceipt.created_at < now - dt.timedelta(days=RECEIPT_DAYS))]
    for out in (sessions, enrolment, receipts):
        out.due = {name: len(ids) for name, ids in out.ids.items()}
    return [sessions, enrolment, receipts]


TABLE_OF = {"concerns": Concern, "pupil entries": IncidentPupil, "incidents": Incident, "cases": Case,
            "referrals": Referral, "intervention places": Participant, "home visit pupils": HomeVisitPupil,
            "home visits": HomeVisit, "contact log entries": ContactLog,
            "chronology marks": ChronologyFlag, "case-conference packs": CasePack, "requests": OnCallRequest,
            "alerts": Alert, "sessions": Session, "enrolment links": EnrolmentToken, "challenges": Challenge,
            "receipts": IdempotencyReceipt}


async def plan(*, school_id: int | None = None) -> list[Outcome]:
    """What is due now, per school and kind, then the install-wide kinds. Changes nothing."""
    day = today()
    query = School.select(School.id, School.name, School.slug).order_by(School.id)
    if school_id is not None:
        query = query.where(School.id == school_id)
    outcomes: list[Outcome] = []
    for school in await query:
        rules = await policy_of(school["id"])
        held = await held_pupils(school["id"])
        for kind in KINDS:
            outcomes.append(await _plan_kind(school, kind, rules[kind.key], day, held))
    if school_id is None:
        outcomes += await _plan_system(clock.now())
    return outcomes


# The parts of a kind in the order they are deleted: a referral, case or entry before anything it points at.
ORDER = ("pupil entries", "incidents", "concerns", "cases", "referrals", "intervention places", "home visit pupils",
         "home visits", "contact log entries",
         "chronology marks", "case-conference packs", "requests", "alerts", "challenges", "enrolment links",
         "sessions", "receipts")


async def apply(*, school_id: int | None = None, origin: Origin = CLI) -> list[Outcome]:
    """Delete what is due, one transaction and one audit event (counts only, never contents) per school and kind
    that had anything due or held. What is due is worked out again inside each transaction, so a hold set or a
    period changed since the dry run is respected."""
    day = today()
    query = School.select(School.id, School.name, School.slug).order_by(School.id)
    if school_id is not None:
        query = query.where(School.id == school_id)
    done: list[Outcome] = []
    for school in await query:
        for kind in KINDS:
            async with atomic():
                await _holds_turn(school["id"])
                rules = await policy_of(school["id"])
                held = await held_pupils(school["id"])
                out = await _plan_kind(school, kind, rules[kind.key], day, held)
                await _delete(out)
                if out.due_total or out.held:
                    await audit.record("retention.applied", actor_label="corridor retention",
                                       school_id=school["id"], subject_type="retention", subject_id=kind.key,
                                       origin=origin, detail={"kind": kind.key, "rule": out.rule,
                                                              "deleted": out.due, "held": out.held})
            done.append(out)
    if school_id is None:
        for out in await _plan_system(clock.now()):
            async with atomic():
                await _delete(out)
                if out.due_total:
                    await audit.record("retention.applied", actor_label="corridor retention",
                                       subject_type="retention", subject_id=out.kind, origin=origin,
                                       detail={"kind": out.kind, "rule": out.rule, "deleted": out.due, "held": 0})
            done.append(out)
    return done


async def _delete(out: Outcome) -> None:
    if out.bulk:
        # An amended mark's history points at the mark (RESTRICT): it goes first.
        await _marks(out.bulk, "delete_changes")
        await _marks(out.bulk, "delete")
    for name in ORDER:
        table = TABLE_OF[name]
        for chunk in _chunks(out.ids.get(name, [])):
            await table.delete().where(table._meta.primary_key.is_in(chunk))



def report(outcomes: list[Outcome], *, applied: bool, day: dt.date | None = None) -> str:
    """The command's output: per school and kind, how many records are (or were) due and how many are held."""
    day = day or today()
    verb = "deleted" if applied else "due"
    lines = [f"Retention {'applied' if applied else 'dry run'} on {day:%d %b %Y}"
             + ("" if applied else " (nothing changed)") + ":"]
    school = object()
    for out in outcomes:
        if out.school_id != school:
            school = out.school_id
            lines.append("")
            lines.append(out.school)
        parts = ", ".join(f"{n} {name}" for name, n in out.due.items() if n) or "none"
        held = f"; {out.held} held (legal hold)" if out.held else ""
        lines.append(f"  {out.label} ({out.rule}): {out.due_total} {verb} [{parts}]{held}")
    if not applied:
        lines += ["", "Run again with --apply to delete what is due."]
    return "\n".join(lines) + "\n"
