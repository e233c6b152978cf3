"""Home visits (issue 14, points 1, 3 and 4): plan and authorise, start and finish, and the escalation ladder.

planned → authorised → under_way → on_site → finished_safe, or cancelled (before the visit starts). While a
visit is under way the server runs its timer (`tick`, called every few seconds by every process): reminders at
the end time less 5 minutes and at the end time, then the ladder. A phone that never gets signal again is still
escalated on time, because nothing waits for the phone.

The ladder (HomeVisitSettings, defaults below): tier 1 at end + 5 minutes (the buddy and the on-call
responders), tier 2 at end + 15 (the DSL team and SLT), tier 3 at end + 30 (the headteacher, with the 999
script). Each tier has 2 minutes to acknowledge. A tier never fires before the one below has had its full 2
minutes (so a school that sets its tiers close together still gives each its window); a tier whose 2 minutes
pass unacknowledged is marked lapsed, and once the top tier lapses the whole safeguarding team is alerted
(tier 4). The first acknowledgement owns the alarm and stops the climb; nobody acknowledges their own visit.

Exactly once: every step is a conditional UPDATE on the visit's `step` (as on-call's escalation is on its tier),
so of several processes looking at the same moment one takes it; a tier's row is also unique per visit and tier.

Nothing about the pupil or the address goes in an alert, a push or a log line: alerts name the staff and the
time, and lead to the visit's alarm page.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any, Awaitable, Callable

from app import clock
from app.clock import parse_date
from app.db import atomic, parse_id
from app.domain.audit import service as audit
from app.domain.home_visits.tables import (HomeVisit, HomeVisitEscalation, HomeVisitEvent, HomeVisitPupil,
                                           HomeVisitSettings, HomeVisitStaff, HomeVisitText)
from app.domain.incidents.service import LONDON
from app.domain.notifications import service as notifications
from app.domain.notifications.sms import SmsFailed
from app.domain.oncall import service as oncall
from app.domain.pupils.tables import Pupil
from app.domain.schools.service import Actor, hoy_years
from app.domain.schools.tables import Membership, Person
from app.errors import BadRequest, NotFound, ValidationFailed

log = logging.getLogger("corridor")

PLANNERS = ("pastoral", "pastoral_lead", "head_of_year", "dsl")
SEE_ALL = ("pastoral", "pastoral_lead", "dsl")
AUTHORISERS = ("pastoral_lead", "dsl")
HIDDEN = "There is nothing here, or you do not have access to it."
STATES = {"planned": "Planned", "authorised": "Authorised", "under_way": "Under way", "on_site": "On site",
          "finished_safe": "Finished safe", "cancelled": "Cancelled"}
ACTIVE = ("under_way", "on_site")
SOCIAL_WORKER = {"informed": "Yes, informed", "not_needed": "Not needed for this visit",
                 "no_worker": "No social worker"}
DEFAULT_MINUTES = 45
MAX_MINUTES = 240
EXTEND_MINUTES = 15
MAX_EXTENSIONS = 3
REMIND_BEFORE = dt.timedelta(minutes=5)
AFTER_HOUR = dt.time(16, 0)  # a visit running after 16:00 needs two staff
TEXT_LIMIT = 2000
DEFAULTS = {"tier1_minutes": 5, "tier2_minutes": 15, "tier3_minutes": 30, "ack_seconds": 120, "headteacher": None,
            "slt": ""}
# The doorstep outcome (point 6), in the order the form offers them. The last five are "not seen": each makes a
# same-day task for the DSL team.
OUTCOMES = {"seen_alone": "Seen and spoken to alone", "seen_spoken": "Seen and spoken to",
            "seen_not_spoken": "Seen, not spoken to", "adult_spoken": "Not seen, an adult spoken to",
            "no_answer_occupied": "No answer, signs of occupation", "no_answer_empty": "No answer, no signs of occupation",
            "refused": "Refused", "moved": "Suspected moved"}
NOT_SEEN = ("adult_spoken", "no_answer_occupied", "no_answer_empty", "refused", "moved")
NOBODY_THERE = ("no_answer_occupied", "no_answer_empty", "moved")  # "who was present" is not asked
TIER_NAMES = {1: "the buddy and on-call responders", 2: "the DSL team and SLT", 3: "the headteacher",
              4: "the whole safeguarding team"}

# create_app() sets this to send Web Push (a wake-up hint; the alert row is the truth).
_push: Callable[[set[int], dict], Awaitable[None]] | None = None


def set_pusher(push) -> None:
    global _push
    _push = push


# create_app() sets this to publish on the live channels (the leads' board, point 8), as on-call's set_publisher.
_publisher: Callable[[list[str], Any], Awaitable[None]] | None = None


def set_publisher(publisher) -> None:
    global _publisher
    _publisher = publisher


# create_app() sets this when an SMS gateway is configured (SMS_GATEWAY): send(to, body, reference). None: no texts.
_texter: Callable[[str, str, str], Awaitable[None]] | None = None
_public_url = ""


def set_texter(texter, public_url: str = "") -> None:
    global _texter, _public_url
    _texter = texter
    _public_url = public_url.rstrip("/")


def board_channel(school_id: int) -> str:
    return f"home_visits:{school_id}"


async def _publish(school_id: int, visit_id: int) -> None:
    """Tell the school's boards that a visit changed, by its latest event id (after the change has committed)."""
    if _publisher is None:
        return
    try:
        latest = await HomeVisitEvent.select(HomeVisitEvent.id).where(HomeVisitEvent.visit == visit_id).order_by(
            HomeVisitEvent.id, ascending=False).first()
        if latest:
            await _publisher([board_channel(school_id)], {"event": latest["id"]})
    except Exception:
        log.warning("live delivery of home visit event failed", exc_info=True)


class Conflict(BadRequest):
    status_code = 409
    title = "That step does not apply now"


def can_plan(actor: Actor) -> bool:
    return actor.school_id is not None and actor.has(*PLANNERS)


def _hhmm(moment: dt.datetime | None) -> str:
    return moment.astimezone(LONDON).strftime("%H:%M") if moment else ""


async def _wake(people: set[int], payload: dict) -> None:
    if _push is not None and people:
        try:
            await _push(people, payload)
        except Exception:
            log.warning("push failed", exc_info=True)


async def _event(visit_id: int, school_id: int, kind: str, actor_id: int | None, **detail) -> int:
    row = HomeVisitEvent(school=school_id, visit=visit_id, kind=kind, actor=actor_id, at=clock.now(),
                         detail=json.dumps(detail) if detail else "")
    await row.save()
    return row.id


async def _audit(actor: Actor | None, action: str, visit_id: int, school_id: int, detail: dict | None = None) -> None:
    who = {"actor_id": actor.person_id, "actor_label": actor.label, "origin": actor.origin} if actor else {}
    await audit.record(action, school_id=school_id, subject_type="home_visit", subject_id=visit_id, detail=detail,
                       **who)


# Settings -----------------------------------------------------------------------------------------------------

async def ladder(school_id: int) -> dict:
    row = await HomeVisitSettings.select().where(HomeVisitSettings.school == school_id).first()
    return row or dict(DEFAULTS)


async def update_ladder(actor: Actor, form: dict[str, Any]) -> None:
    """The DSL (or an admin) sets the school's ladder: minutes per tier, the time to acknowledge, who is the
    headteacher and who is SLT (Corridor has no such roles)."""
    if actor.school_id is None or not actor.has("dsl", "admin"):
        raise NotFound(HIDDEN)
    errors: dict[str, str] = {}
    values = {}
    for name in ("tier1_minutes", "tier2_minutes", "tier3_minutes"):
        value = _number(form.get(name))
        if value is None or not 1 <= value <= 240:
            errors[name] = "Give a number of minutes from 1 to 240."
        values[name] = value
    if not errors and not values["tier1_minutes"] < values["tier2_minutes"] < values["tier3_minutes"]:
        errors["tier3_minutes"] = "Each tier comes after the one before it."
    ack = _number(form.get("ack_seconds"))
    if ack is None or not 30 <= ack <= 900:
        errors["ack_seconds"] = "Give a time to acknowledge from 30 to 900 seconds."
    members = {m["id"] for m in await _members(actor.school_id)}
    head = parse_id(form.get("headteacher")) if form.get("headteacher") else None
    if form.get("headteacher") and head not in members:
        errors["headteacher"] = "Choose someone at this school."
    slt = [parse_id(v) for v in _list(form.get("slt"))]
    if any(p not in members for p in slt):
        errors["slt"] = "Choose people at this school."
    if errors:
        raise ValidationFailed(errors)
    row = {**values, "ack_seconds": ack, "headteacher": head, "slt": ",".join(str(p) for p in dict.fromkeys(slt))}
    async with atomic():
        if await HomeVisitSettings.exists().where(HomeVisitSettings.school == actor.school_id):
            await HomeVisitSettings.update({getattr(HomeVisitSettings, k): v for k, v in row.items()}).where(
                HomeVisitSettings.school == actor.school_id)
        else:
            await HomeVisitSettings.insert(HomeVisitSettings(school=actor.school_id, **row))
        await audit.record("home_visit.ladder_changed", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, origin=actor.origin, detail=row)


def _number(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 6 else None


def _list(value: Any) -> list:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


# People ----------------------------------------------------------------------------------------------------------

async def _members(school_id: int, roles: tuple[str, ...] | None = None) -> list[dict]:
    """People with a role at the school (not guests, nobody disabled), by name."""
    query = Membership.select(Membership.person.id, Membership.person.display_name, Membership.role).where(
        (Membership.school == school_id) & Membership.person.disabled_at.is_null() & (Membership.role != "guest"))
    if roles:
        query = query.where(Membership.role.is_in(list(roles)))
    people: dict[int, str] = {}
    for r in await query:
        people[r["person.id"]] = r["person.display_name"]
    return [{"id": i, "name": n} for i, n in sorted(people.items(), key=lambda kv: kv[1])]


async def visitors_to_choose(actor: Actor) -> list[dict]:
    """Who may go on a visit: the school's pastoral staff, leads, heads of year and DSL team."""
    return await _members(actor.school_id, PLANNERS + ("pastoral_lead",))


async def buddies_to_choose(actor: Actor) -> list[dict]:
    return await _members(actor.school_id)


async def _holders(school_id: int, *roles: str) -> set[int]:
    return {m["id"] for m in await _members(school_id, roles)}


# Pupils ------------------------------------------------------------------------------------------------------------

def _name(row: dict, prefix: str = "") -> str:
    first = row[f"{prefix}preferred_first_name"] or row[f"{prefix}legal_first_name"]
    return f"{first} {row[f'{prefix}preferred_last_name'] or row[f'{prefix}legal_last_name']}"


async def _pupils_seen_by(actor: Actor, ids: list[int]) -> list[dict]:
    """Of these pupils, those the actor may plan a visit for (their school; a head of year, their years)."""
    if not ids or not can_plan(actor):
        return []
    rows = await Pupil.select(Pupil.id, Pupil.preferred_first_name, Pupil.legal_first_name, Pupil.preferred_last_name,
                              Pupil.legal_last_name, Pupil.year_code, Pupil.family_key, Pupil.tutor_group.name,
                              Pupil.speak_to_dsl, Pupil.safeguarding_marker, Pupil.child_protection,
                              Pupil.child_in_need, Pupil.looked_after).where(
        Pupil.id.is_in(ids) & (Pupil.school == actor.school_id) & Pupil.left_on.is_null())
    years = None if actor.has(*SEE_ALL) else await hoy_years(actor)
    return [{"id": r["id"], "name": _name(r), "year": r["year_code"], "form": r["tutor_group.name"] or "",
             "family_key": r["family_key"], "flagged": r["speak_to_dsl"] or r["safeguarding_marker"]
             or r["child_protection"] or r["child_in_need"] or r["looked_after"]}
            for r in rows if years is None or r["year_code"] in years]


async def pupils_for_form(actor: Actor, pupil_id: int | None) -> list[dict]:
    """The pupil the plan starts from and their brothers and sisters at the school (same MIS family key)."""
    first = await _pupils_seen_by(actor, [pupil_id] if pupil_id else [])
    if not first:
        return []
    family = first[0]["family_key"]
    siblings = []
    if family:
        ids = [r["id"] for r in await Pupil.select(Pupil.id).where(
            (Pupil.school == actor.school_id) & (Pupil.family_key == family) & (Pupil.id != first[0]["id"]))]
        siblings = await _pupils_seen_by(actor, ids)
    return first + sorted(siblings, key=lambda p: p["name"])


# Planning ----------------------------------------------------------------------------------------------------------

def _text(form: dict, name: str, errors: dict, *, required: str = "", limit: int = TEXT_LIMIT) -> str:
    value = str(form.get(name) or "").strip()
    if required and not value:
        errors[name] = required
    elif len(value) > limit:
        errors[name] = f"Keep this to {limit:,} characters."
    return value


def _phone(raw: str) -> str:
    return "".join(c for c in raw if c.isdigit() or c == "+")


async def _two_needed(school_id: int, pupils: list[dict], end: dt.datetime) -> list[str]:
    """Why this visit needs two staff (empty: one may go): a first visit to the family, a pupil with a
    child-protection or risk flag, or a visit running after 16:00."""
    reasons = []
    ids = [p["id"] for p in pupils]
    visited = await HomeVisitPupil.exists().where(
        HomeVisitPupil.pupil.is_in(ids) & (HomeVisitPupil.visit.state == "finished_safe")
        & (HomeVisitPupil.visit.school == school_id))
    if not visited:
        reasons.append("a first visit to this family")
    if any(p["flagged"] for p in pupils):
        # Not which flag: the safeguarding marker is the DSL team's to see.
        reasons.append("a pupil's care flags")
    if end.astimezone(LONDON).time() > AFTER_HOUR or end.astimezone(LONDON).date() > \
            (end - dt.timedelta(minutes=1)).astimezone(LONDON).date():
        reasons.append("it runs after 16:00")
    return reasons


@notifications.releases_claim
async def plan_visit(actor: Actor, form: dict[str, Any], *, key: str | None = None, digest: str = "") -> dict:
    """Plan a visit (state planned). A second submission of the same form answers with the first visit."""
    if not can_plan(actor):
        raise NotFound(HIDDEN)
    if key and (stored := await notifications.replay(actor, key, digest)):
        return json.loads(stored["body"])
    errors: dict[str, str] = {}
    wanted = [p for p in (parse_id(v) for v in _list(form.get("pupil_id"))) if p is not None]
    pupils = await _pupils_seen_by(actor, list(dict.fromkeys(wanted)))
    if not pupils or len(pupils) != len(set(wanted)):
        errors["pupil_id"] = "Choose the pupil or pupils the visit is for (start from the pupil's profile)."
    address = _text(form, "address", errors, required="Give the address you are visiting.", limit=500)
    purpose = _text(form, "purpose", errors, required="Say what the visit is for.")
    day = parse_date(str(form.get("date") or ""))
    start = None
    raw_start = str(form.get("start") or "").strip()
    if day is None:
        errors["date"] = "Choose the day of the visit."
    elif len(raw_start) != 5 or raw_start[2] != ":" or not (raw_start[:2] + raw_start[3:]).isdigit() \
            or int(raw_start[:2]) > 23 or int(raw_start[3:]) > 59:
        errors["start"] = "Give the start time like 10:30."
    else:
        start = dt.datetime.combine(day, dt.time(int(raw_start[:2]), int(raw_start[3:])), LONDON).astimezone(
            dt.timezone.utc)
        if start < clock.now() - dt.timedelta(minutes=30):
            errors["start"] = "That time has passed: plan a visit from now on."
    minutes = _number(form.get("minutes") or DEFAULT_MINUTES)
    if minutes is None or not 5 <= minutes <= MAX_MINUTES:
        errors["minutes"] = f"A visit lasts from 5 minutes to {MAX_MINUTES // 60} hours ({MAX_MINUTES} minutes)."
    allowed = {m["id"]: m["name"] for m in await visitors_to_choose(actor)}
    staff: list[tuple[int, str]] = []
    for n in ("1", "2"):
        raw = str(form.get(f"staff_{n}") or "").strip()
        phone = _phone(str(form.get(f"phone_{n}") or ""))
        if not raw:
            if n == "1":
                errors["staff_1"] = "Choose who is going."
            continue
        person = parse_id(raw)
        if person not in allowed:
            errors[f"staff_{n}"] = "Choose a member of the pastoral team at this school."
        elif any(person == s for s, _ in staff):
            errors[f"staff_{n}"] = "Choose two different people, or only one."
        elif not 10 <= len(phone) <= 15:
            errors[f"phone_{n}"] = "Give the mobile they carry on the visit, like 07700 900123."
        else:
            staff.append((person, phone))
    buddy = None
    if str(form.get("buddy") or "").strip():
        buddy = parse_id(form.get("buddy"))
        if buddy not in {m["id"] for m in await buddies_to_choose(actor)}:
            errors["buddy"] = "Choose someone at this school."
        elif any(buddy == s for s, _ in staff):
            errors["buddy"] = "The buddy stays behind: choose someone who is not going."
    pack_notes = _text(form, "pack_notes", errors)
    if errors:
        raise ValidationFailed(errors)
    end = start + dt.timedelta(minutes=minutes)
    reasons = await _two_needed(actor.school_id, pupils, end)
    now = clock.now()
    made: dict[str, Any] = {}

    async def write() -> tuple[dict, list]:
        visit = HomeVisit(school=actor.school_id, planner=actor.person_id, address=address, purpose=purpose,
                          planned_start=start, planned_end=end, buddy=buddy, state="planned",
                          first_visit="a first visit to this family" in reasons, needs_two=bool(reasons),
                          needs_two_because="; ".join(reasons), pack_notes=pack_notes, created_at=now)
        await visit.save()
        made["id"] = visit.id
        await HomeVisitPupil.insert(*[HomeVisitPupil(visit=visit.id, pupil=p["id"]) for p in pupils])
        await HomeVisitStaff.insert(*[HomeVisitStaff(visit=visit.id, person=s, phone=ph) for s, ph in staff])
        await _event(visit.id, actor.school_id, "planned", actor.person_id)
        await _audit(actor, "home_visit.planned", visit.id, actor.school_id,
                     {"pupils": [p["id"] for p in pupils], "staff": [s for s, _ in staff], "minutes": minutes,
                      "needs_two": bool(reasons)})
        return {"id": visit.id}, []

    result = await notifications.answer_once(actor, key, digest, write)
    if made.get("id"):
        await _publish(actor.school_id, made["id"])
    return result


# Reading ---------------------------------------------------------------------------------------------------------

async def _visit(actor: Actor, visit_id: int) -> dict:
    """The visit, if the actor may see it: the school's pastoral staff, leads and DSL team; a head of year for a
    pupil of their years; whoever planned it, is going, or is its buddy. Else NotFound."""
    if actor.school_id is None:
        raise NotFound(HIDDEN)
    row = await HomeVisit.select().where((HomeVisit.id == visit_id) & (HomeVisit.school == actor.school_id)).first()
    if not row:
        raise NotFound(HIDDEN)
    staff = await HomeVisitStaff.select(HomeVisitStaff.person, HomeVisitStaff.phone,
                                        HomeVisitStaff.person.display_name).where(
        HomeVisitStaff.visit == visit_id).order_by(HomeVisitStaff.id)
    row["staff"] = [{"id": s["person"], "name": s["person.display_name"], "phone": s["phone"]} for s in staff]
    row["staff_ids"] = {s["id"] for s in row["staff"]}
    if actor.has(*SEE_ALL) or actor.person_id in row["staff_ids"] | {row["planner"], row["buddy"]}:
        return row
    if actor.has("head_of_year"):
        years = await hoy_years(actor)
        pupil_years = {p["pupil.year_code"] for p in await HomeVisitPupil.select(HomeVisitPupil.pupil.year_code).where(
            HomeVisitPupil.visit == visit_id)}
        if years is None or pupil_years & years:
            return row
    raise NotFound(HIDDEN)


def phase(row: dict, now: dt.datetime | None = None) -> str:
    """Where an active visit is on its clock: on time, due (5 minutes left), grace (past the end, before tier 1),
    overdue."""
    now = now or clock.now()
    if row["state"] not in ACTIVE or row["ends_at"] is None:
        return ""
    if row["tier"] > 0:
        return "overdue"
    if now >= row["ends_at"]:
        return "grace"
    if now >= row["ends_at"] - REMIND_BEFORE:
        return "due"
    return "on_time"


async def view(actor: Actor, visit_id: int) -> dict:
    """Everything the visit page shows, and what the actor may do on it."""
    row = await _visit(actor, visit_id)
    pupils = await HomeVisitPupil.select(
        HomeVisitPupil.pupil.id, HomeVisitPupil.pupil.preferred_first_name, HomeVisitPupil.pupil.legal_first_name,
        HomeVisitPupil.pupil.preferred_last_name, HomeVisitPupil.pupil.legal_last_name,
        HomeVisitPupil.pupil.tutor_group.name).where(HomeVisitPupil.visit == visit_id).order_by(HomeVisitPupil.id)
    row["pupils"] = [{"id": p["pupil.id"], "name": _name(p, "pupil."), "form": p["pupil.tutor_group.name"] or ""}
                     for p in pupils]
    names = {r["id"]: r["display_name"] for r in await Person.select(Person.id, Person.display_name).where(
        Person.id.is_in([p for p in (row["planner"], row["buddy"], row["override_by"], row["authorised_by"],
                                     row["acknowledged_by"], row["checked_by"], row["finished_by"]) if p] or [-1]))}
    row["names"] = names
    conf = await ladder(actor.school_id)
    going = actor.person_id in row["staff_ids"]
    row["going"] = going
    row["checklist_done"] = row["checked_at"] is not None
    row["lone_ok"] = not row["needs_two"] or len(row["staff"]) >= 2 or row["override_at"] is not None
    row["may"] = {
        "checklist": row["state"] == "planned" and can_plan(actor),
        "override": row["state"] == "planned" and row["needs_two"] and len(row["staff"]) < 2
        and row["override_at"] is None and actor.has(*AUTHORISERS) and not going,
        "authorise": row["state"] == "planned" and actor.has(*AUTHORISERS) and not going,
        "cancel": row["state"] in ("planned", "authorised") and can_plan(actor),
        "start": row["state"] == "authorised" and going,
        "arrive": row["state"] == "under_way" and going,
        "extend": row["state"] in ACTIVE and going and row["tier"] == 0 and row["extensions"] < MAX_EXTENSIONS,
        "safe": row["state"] in ACTIVE and going,
        "outcome": row["state"] in (*ACTIVE, "finished_safe") and going and not row["outcome"],
    }
    alerted = await _alerted(visit_id) if row["duress_at"] else set()
    row["duress"] = bool(row["duress_at"]) and duress_visible(actor, alerted, row["staff_ids"])
    if not row["duress"]:
        row["duress_at"] = None  # the page shows a plain "finished safe" to everyone else
    row["outcome_label"] = OUTCOMES.get(row["outcome"], "")
    row["phase"] = phase(row)
    row["alert_at"] = row["ends_at"] + dt.timedelta(minutes=conf["tier1_minutes"]) if row["ends_at"] else None
    row["minutes"] = int((row["planned_end"] - row["planned_start"]).total_seconds() // 60)
    row["social_worker_label"] = SOCIAL_WORKER.get(row["check_social_worker"], "")
    return row


async def list_visits(actor: Actor) -> dict[str, list[dict]]:
    """The actor's own visits (going or planned by them) not yet over, and for leads those awaiting authorisation."""
    if not can_plan(actor):
        raise NotFound(HIDDEN)
    mine_ids = {r["visit"] for r in await HomeVisitStaff.select(HomeVisitStaff.visit).where(
        HomeVisitStaff.person == actor.person_id)}
    query = HomeVisit.select(HomeVisit.id, HomeVisit.state, HomeVisit.planned_start, HomeVisit.planned_end,
                             HomeVisit.ends_at, HomeVisit.planner, HomeVisit.tier, HomeVisit.checked_at).where(
        (HomeVisit.school == actor.school_id) & HomeVisit.state.is_in(["planned", "authorised", *ACTIVE]))
    rows = await query.order_by(HomeVisit.planned_start)
    mine = [r for r in rows if r["id"] in mine_ids or r["planner"] == actor.person_id]
    waiting = [r for r in rows if r["state"] == "planned" and actor.has(*AUTHORISERS) and r not in mine]
    return {"mine": mine, "waiting": waiting}


# Before the visit ------------------------------------------------------------------------------------------------

async def _move(actor: Actor, visit_id: int, *, allowed_from: tuple[str, ...], changes: dict, kind: str,
                extra_condition=None, detail: dict | None = None, pending_of=None) -> None:
    """Move a visit atomically (of two racing taps one wins; the other is told why not), with its event and audit."""
    condition = (HomeVisit.id == visit_id) & (HomeVisit.school == actor.school_id) & HomeVisit.state.is_in(
        list(allowed_from))
    if extra_condition is not None:
        condition &= extra_condition
    async with atomic():
        moved = await HomeVisit.update(changes).where(condition).returning(HomeVisit.id)
        if moved:
            await _event(visit_id, actor.school_id, kind, actor.person_id, **(detail or {}))
            await _audit(actor, f"home_visit.{kind}", visit_id, actor.school_id, detail)
    if not moved:
        now = await HomeVisit.select(HomeVisit.state).where(HomeVisit.id == visit_id).first()
        raise Conflict(f"This visit is {STATES[now['state']].lower()}: that step does not apply now.")
    await _publish(actor.school_id, visit_id)


async def complete_checklist(actor: Actor, visit_id: int, form: dict[str, Any]) -> None:
    """The pre-visit checklist: known adults or dogs, past incidents at the address, the social worker, the purpose
    agreed. Each must be answered before the visit can be authorised."""
    if not can_plan(actor):
        raise NotFound(HIDDEN)
    row = await _visit(actor, visit_id)
    errors: dict[str, str] = {}
    adults = _text(form, "check_adults_dogs", errors, required="Say who else may be there, and any dogs "
                                                              "(write 'None known' if none).")
    incidents = _text(form, "check_past_incidents", errors, required="Say whether anything has happened at this "
                                                                     "address before (write 'None' if not).")
    worker = str(form.get("check_social_worker") or "")
    if worker not in SOCIAL_WORKER:
        errors["check_social_worker"] = "Say whether the social worker was informed."
    if form.get("check_purpose_agreed") not in ("yes", "on", "true", "1"):
        errors["check_purpose_agreed"] = "Agree the purpose of the visit with your lead before it is authorised."
    if errors:
        raise ValidationFailed(errors)
    if row["state"] != "planned":
        raise Conflict("The checklist can only be changed before the visit is authorised.")
    await _move(actor, visit_id, allowed_from=("planned",), kind="checked", changes={
        HomeVisit.check_adults_dogs: adults, HomeVisit.check_past_incidents: incidents,
        HomeVisit.check_social_worker: worker, HomeVisit.check_purpose_agreed: True,
        HomeVisit.checked_by: actor.person_id, HomeVisit.checked_at: clock.now()})


async def override_lone(actor: Actor, visit_id: int, reason: str) -> None:
    """A lone visit where two staff are the rule: the DSL or the pastoral lead records why, by name. Never the
    person who would go alone."""
    if actor.school_id is None or not actor.has(*AUTHORISERS):
        raise NotFound(HIDDEN)
    row = await _visit(actor, visit_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"override_reason": "Give the reason one person may go alone."})
    if len(reason) > TEXT_LIMIT:
        raise ValidationFailed({"override_reason": f"Keep this to {TEXT_LIMIT:,} characters."})
    if actor.person_id in row["staff_ids"]:
        raise ValidationFailed({"override_reason": "You are going on this visit: another lead or the DSL records "
                                                   "the override."})
    if not row["needs_two"] or len(row["staff"]) >= 2:
        raise Conflict("This visit does not need an override.")
    await _move(actor, visit_id, allowed_from=("planned",), kind="lone_override",
                changes={HomeVisit.override_by: actor.person_id, HomeVisit.override_reason: reason,
                         HomeVisit.override_at: clock.now()}, extra_condition=HomeVisit.override_at.is_null())


async def authorise(actor: Actor, visit_id: int) -> None:
    """The pastoral lead or the DSL authorises a planned visit: its checklist complete and two staff going (or a
    recorded override). Not by someone going on it: authorising is a second pair of eyes."""
    if actor.school_id is None or not actor.has(*AUTHORISERS):
        raise NotFound(HIDDEN)
    row = await _visit(actor, visit_id)
    errors = {}
    if row["checked_at"] is None:
        errors["checklist"] = "Complete the pre-visit checklist first."
    if row["needs_two"] and len(row["staff"]) < 2 and row["override_at"] is None:
        errors["staff"] = (f"Two staff are needed ({row['needs_two_because']}): add a second person, or record why "
                           "one may go alone.")
    if actor.person_id in row["staff_ids"]:
        errors["authorise"] = "You are going on this visit: another lead or the DSL authorises it."
    if errors:
        raise ValidationFailed(errors)
    await _move(actor, visit_id, allowed_from=("planned",), kind="authorised",
                changes={HomeVisit.state: "authorised", HomeVisit.authorised_by: actor.person_id,
                         HomeVisit.authorised_at: clock.now()}, extra_condition=HomeVisit.checked_at.is_not_null())
    await notifications.deliver(await _tell(row["staff_ids"] - {actor.person_id}, actor.school_id, visit_id,
                                            "Your home visit is authorised."))


async def cancel(actor: Actor, visit_id: int, reason: str = "") -> None:
    if not can_plan(actor):
        raise NotFound(HIDDEN)
    await _visit(actor, visit_id)
    reason = (reason or "").strip()[:TEXT_LIMIT]
    await _move(actor, visit_id, allowed_from=("planned", "authorised"), kind="cancelled",
                changes={HomeVisit.state: "cancelled", HomeVisit.cancelled_by: actor.person_id,
                         HomeVisit.cancelled_at: clock.now(), HomeVisit.cancel_reason: reason})


async def _tell(people: set[int], school_id: int, visit_id: int, text: str, link: str = "") -> list:
    return await notifications.notify(people, school_id=school_id, kind="home_visit", text=text,
                                      link=link or f"/home-visits/{visit_id}")


# During the visit -------------------------------------------------------------------------------------------------

def _first_step_at(ends_at: dt.datetime, now: dt.datetime) -> tuple[int, dt.datetime]:
    """The timer after a start or an extension: the end-5 reminder, or the end one if that moment has passed."""
    if now < ends_at - REMIND_BEFORE:
        return 0, ends_at - REMIND_BEFORE
    return 1, ends_at


async def _visitor_step(actor: Actor, visit_id: int, kind: str, key: str | None, digest: str,
                        build: Callable[[dict, dt.datetime], tuple[tuple[str, ...], dict, Any]]) -> dict:
    """A tap by someone going on the visit (start, on site, extend, I'm safe), answered once per submission key."""
    if not can_plan(actor):
        raise NotFound(HIDDEN)
    row = await _visit(actor, visit_id)
    if actor.person_id not in row["staff_ids"]:
        raise NotFound(HIDDEN)
    if key and (stored := await notifications.replay(actor, key, digest)):
        return json.loads(stored["body"])
    now = clock.now()
    allowed_from, changes, extra = build(row, now)
    condition = (HomeVisit.id == visit_id) & HomeVisit.state.is_in(list(allowed_from))
    if extra is not None:
        condition &= extra
    after: dict[str, Any] = {}

    async def write() -> tuple[dict, list]:
        moved = await HomeVisit.update(changes).where(condition).returning(HomeVisit.id)
        if not moved:
            current = await HomeVisit.select(HomeVisit.state, HomeVisit.tier, HomeVisit.extensions).where(
                HomeVisit.id == visit_id).first()
            if kind == "extended" and current["state"] in ACTIVE:
                if current["tier"] > 0:
                    raise Conflict("The office has already been alerted: the visit can no longer be extended.")
                raise Conflict(f"A visit can be extended {MAX_EXTENSIONS} times at most.")
            raise Conflict(f"This visit is {STATES[current['state']].lower()}: that step does not apply now.")
        fresh = await HomeVisit.select(HomeVisit.ends_at, HomeVisit.extensions).where(HomeVisit.id == visit_id).first()
        detail = {"ends_at": fresh["ends_at"].isoformat()} if kind in ("started", "extended") and fresh["ends_at"] \
            else {}
        await _event(visit_id, actor.school_id, kind, actor.person_id, **detail)
        await _audit(actor, f"home_visit.{kind}", visit_id, actor.school_id, detail or None)
        pending = []
        if kind == "finished_safe" and row["tier"] > 0:
            # The office was alerted: everyone alerted hears that the visitor is safe.
            alerted = await _alerted(visit_id)
            after["alerted"] = alerted
            pending = await _tell(alerted, actor.school_id, visit_id,
                                  f"Home visit: {actor.display_name} has checked out safe.")
        return {"id": visit_id, "ends_at": fresh["ends_at"].isoformat() if fresh["ends_at"] else ""}, pending

    result = await notifications.answer_once(actor, key, digest, write)
    await _publish(actor.school_id, visit_id)
    if after.get("alerted"):
        await _wake(after["alerted"], {"title": "Home visit: safe", "body": f"{actor.display_name} has checked out "
                                       "safe.", "url": f"/home-visits/{visit_id}/alarm"})
    return result


@notifications.releases_claim
async def start(actor: Actor, visit_id: int, *, key: str | None = None, digest: str = "") -> dict:
    """"Start visit": the clock runs from now for the planned length; the server times it."""

    def build(row: dict, now: dt.datetime):
        ends = now + (row["planned_end"] - row["planned_start"])
        step, next_at = _first_step_at(ends, now)
        return ("authorised",), {HomeVisit.state: "under_way", HomeVisit.started_at: now, HomeVisit.ends_at: ends,
                                 HomeVisit.step: step, HomeVisit.next_at: next_at}, None

    return await _visitor_step(actor, visit_id, "started", key, digest, build)


@notifications.releases_claim
async def arrive(actor: Actor, visit_id: int, *, key: str | None = None, digest: str = "") -> dict:
    """"I'm at the door": on site (the timer runs on)."""
    return await _visitor_step(actor, visit_id, "on_site", key, digest, lambda row, now: (
        ("under_way",), {HomeVisit.state: "on_site", HomeVisit.on_site_at: now}, None))


@notifications.releases_claim
async def extend(actor: Actor, visit_id: int, *, key: str | None = None, digest: str = "") -> dict:
    """15 more minutes, up to three times, and never once the first tier has fired."""

    def build(row: dict, now: dt.datetime):
        ends = (row["ends_at"] or now) + dt.timedelta(minutes=EXTEND_MINUTES)
        step, next_at = _first_step_at(ends, now)
        return ACTIVE, {HomeVisit.ends_at: ends, HomeVisit.extensions: row["extensions"] + 1, HomeVisit.step: step,
                        HomeVisit.next_at: next_at}, (
            (HomeVisit.tier == 0) & (HomeVisit.extensions == row["extensions"])
            & (HomeVisit.extensions < MAX_EXTENSIONS) & (HomeVisit.step <= 2))

    return await _visitor_step(actor, visit_id, "extended", key, digest, build)


def duress_visible(actor: Actor, alerted: set[int], staff_ids: set[int]) -> bool:
    """Who may know of a duress check-out: the DSL team and the people its alarm went to, never anyone on the visit
    (their screen may be watched). Everyone else sees a visit finished safe."""
    if actor.person_id in staff_ids:
        return False
    return actor.has("dsl") or actor.person_id in alerted


def _duress_text(names: str, at: dt.datetime, tier: int) -> str:
    return (f"Home visit: {names} checked out at {_hhmm(at)} with the agreed duress signal and may need help. "
            "Do not phone them. Open the alarm and acknowledge if you are dealing with it."
            + (" Nobody has acknowledged yet." if tier > 2 else ""))


@notifications.releases_claim
async def finish_duress(actor: Actor, visit_id: int, *, key: str | None = None, digest: str = "") -> dict:
    """The duress check-out (point 5): to the visitor and anyone watching, exactly "I'm safe" (the same answer, the
    same page after, the visit shown finished safe). Silently, the second tier (the DSL team and SLT) is alerted at
    once with the last known details, and the ladder climbs from there until someone acknowledges. Audited."""
    if not can_plan(actor):
        raise NotFound(HIDDEN)
    row = await _visit(actor, visit_id)
    if actor.person_id not in row["staff_ids"]:
        raise NotFound(HIDDEN)
    if key and (stored := await notifications.replay(actor, key, digest)):
        return json.loads(stored["body"])
    now = clock.now()
    conf = await ladder(row["school"])
    staff = row["staff_ids"]
    after: dict[str, Any] = {}

    async def write() -> tuple[dict, list]:
        # The same conditions as "I'm safe": a visit already over answers the same refusal.
        step = max(row["step"], 4)  # 4: tier 2 fired (2 + the tier)
        fired = await _fired(visit_id)
        fired.setdefault(2, now)
        follow = _next_at({**row, "duress_at": now}, conf, fired, step)
        moved = await HomeVisit.update({
            HomeVisit.state: "finished_safe", HomeVisit.finished_at: now, HomeVisit.finished_by: actor.person_id,
            HomeVisit.duress_at: now, HomeVisit.step: step, HomeVisit.tier: step - 2, HomeVisit.next_at: follow,
            HomeVisit.acknowledged_by: None, HomeVisit.acknowledged_at: None}).where(
            (HomeVisit.id == visit_id) & HomeVisit.state.is_in(list(ACTIVE))).returning(HomeVisit.id)
        if not moved:
            current = await HomeVisit.select(HomeVisit.state).where(HomeVisit.id == visit_id).first()
            raise Conflict(f"This visit is {STATES[current['state']].lower()}: that step does not apply now.")
        people = (await _tier_people(row, 2, conf) | await _alerted(visit_id)) - staff
        if not await HomeVisitEscalation.exists().where(
                (HomeVisitEscalation.visit == visit_id) & (HomeVisitEscalation.tier == 2)):
            await HomeVisitEscalation.insert(HomeVisitEscalation(
                visit=visit_id, tier=2, fired_at=now, ack_due_at=now + dt.timedelta(seconds=conf["ack_seconds"]),
                alerted=",".join(str(p) for p in sorted(people))))
        else:  # tier 2 had fired already: those it reached are told again, now of duress
            await HomeVisitEscalation.update({HomeVisitEscalation.alerted: ",".join(str(p) for p in sorted(
                people))}).where((HomeVisitEscalation.visit == visit_id) & (HomeVisitEscalation.tier == 2))
        # What the visitor's page and the pupil's chronology show: finished safe. The duress event and the audit
        # entry are for the alarm page, the DSL team and the audit log.
        await _event(visit_id, actor.school_id, "finished_safe", actor.person_id)
        await _event(visit_id, actor.school_id, "duress", actor.person_id, tier=2, alerted=len(people))
        await _audit(actor, "home_visit.duress", visit_id, actor.school_id, {"tier": 2, "alerted": len(people)})
        names = ", ".join(s["name"] for s in sorted(row["staff"], key=lambda s: s["name"]))
        after.update(people=people, names=names)
        pending = await _tell(people, actor.school_id, visit_id, _duress_text(names, now, 2),
                              link=f"/home-visits/{visit_id}/alarm")
        await _queue_texts(visit_id, 2, "duress", people, _sms_body(names, visit_id, 2, "", duress=True), now)
        return {"id": visit_id, "ends_at": row["ends_at"].isoformat() if row["ends_at"] else ""}, pending

    result = await notifications.answer_once(actor, key, digest, write)
    await _publish(actor.school_id, visit_id)
    if after.get("people"):
        await _wake(after["people"], {"title": "Home visit: help needed", "body": after["names"],
                                      "url": f"/home-visits/{visit_id}/alarm"})
    return result


@notifications.releases_claim
async def finish_safe(actor: Actor, visit_id: int, *, key: str | None = None, digest: str = "") -> dict:
    """"I'm safe": the visit is over and the timer stops."""
    return await _visitor_step(actor, visit_id, "finished_safe", key, digest, lambda row, now: (
        ACTIVE, {HomeVisit.state: "finished_safe", HomeVisit.finished_at: now, HomeVisit.finished_by: actor.person_id,
                 HomeVisit.next_at: None}, None))


# The doorstep outcome ------------------------------------------------------------------------------------------------

@notifications.releases_claim
async def record_outcome(actor: Actor, visit_id: int, form: dict[str, Any], *, key: str | None = None,
                         digest: str = "") -> dict:
    """What happened at the door (point 6): the outcome, who was present, whether a note was left, notes; by someone
    who went, once. "Not seen" alerts the DSL team for a follow-up today and puts the visit on their list."""
    if not can_plan(actor):
        raise NotFound(HIDDEN)
    row = await _visit(actor, visit_id)
    if actor.person_id not in row["staff_ids"]:
        raise NotFound(HIDDEN)
    if key and (stored := await notifications.replay(actor, key, digest)):
        return json.loads(stored["body"])
    errors: dict[str, str] = {}
    outcome = str(form.get("outcome") or "")
    if outcome not in OUTCOMES:
        errors["outcome"] = "Choose what happened at the door."
    present = _text(form, "outcome_present", errors)
    if outcome and outcome not in NOBODY_THERE and outcome in OUTCOMES and not present:
        errors["outcome_present"] = "Say who was present (for example 'Ada and her mum')."
    note = str(form.get("outcome_note_left") or "")
    if note not in ("yes", "no"):
        errors["outcome_note_left"] = "Say whether you left a note."
    notes = _text(form, "outcome_notes", errors)
    if errors:
        raise ValidationFailed(errors)
    if row["state"] not in (*ACTIVE, "finished_safe"):
        raise Conflict("The outcome is recorded once the visit has started.")
    not_seen = outcome in NOT_SEEN

    async def write() -> tuple[dict, list]:
        moved = await HomeVisit.update({
            HomeVisit.outcome: outcome, HomeVisit.outcome_present: present, HomeVisit.outcome_note_left: note == "yes",
            HomeVisit.outcome_notes: notes}).where(
            (HomeVisit.id == visit_id) & (HomeVisit.outcome == "")
            & HomeVisit.state.is_in([*ACTIVE, "finished_safe"])).returning(HomeVisit.id)
        if not moved:
            raise Conflict("The outcome of this visit has already been recorded.")
        await _event(visit_id, actor.school_id, "outcome", actor.person_id, outcome=outcome)
        await _audit(actor, "home_visit.outcome_recorded", visit_id, actor.school_id,
                     {"outcome": outcome, "not_seen": not_seen})
        pending = []
        if not_seen:
            # No pupil's name in the alert: it names the visit and leads to it.
            pending = await _tell(await _holders(actor.school_id, "dsl"), actor.school_id, visit_id,
                                  "Home visit: the child was not seen. Follow up today.")
        return {"id": visit_id, "outcome": outcome}, pending

    result = await notifications.answer_once(actor, key, digest, write)
    await _publish(actor.school_id, visit_id)
    return result


async def not_seen_today(actor: Actor) -> list[dict]:
    """The DSL team's same-day list: visits whose outcome today was "not seen", with the pupils, latest first."""
    if actor.school_id is None or not actor.has("dsl"):
        return []
    start, end = _today_bounds()
    events = await HomeVisitEvent.select(HomeVisitEvent.visit, HomeVisitEvent.at, HomeVisitEvent.detail).where(
        (HomeVisitEvent.school == actor.school_id) & (HomeVisitEvent.kind == "outcome")
        & (HomeVisitEvent.at >= start) & (HomeVisitEvent.at < end)).order_by(
        HomeVisitEvent.id, ascending=False)
    rows = []
    for e in events:
        code = json.loads(e["detail"] or "{}").get("outcome")
        if code not in NOT_SEEN:
            continue
        pupils = await HomeVisitPupil.select(
            HomeVisitPupil.pupil.preferred_first_name, HomeVisitPupil.pupil.legal_first_name,
            HomeVisitPupil.pupil.preferred_last_name, HomeVisitPupil.pupil.legal_last_name).where(
            HomeVisitPupil.visit == e["visit"])
        rows.append({"id": e["visit"], "at": e["at"], "outcome": OUTCOMES[code],
                     "pupils": ", ".join(_name(p, "pupil.") for p in pupils)})
    return rows


# The timer and the ladder ----------------------------------------------------------------------------------------

async def _alerted(visit_id: int) -> set[int]:
    people: set[int] = set()
    for r in await HomeVisitEscalation.select(HomeVisitEscalation.alerted).where(HomeVisitEscalation.visit == visit_id):
        people |= {int(p) for p in r["alerted"].split(",") if p}
    return people


async def _tier_people(row: dict, tier: int, conf: dict) -> set[int]:
    """Who each tier alerts. Corridor has no SLT or headteacher role: the school names them in its ladder settings;
    unnamed, SLT is the pastoral leads and the headteacher tier goes to the DSL team and the pastoral leads."""
    school = row["school"]
    slt = {int(p) for p in (conf.get("slt") or "").split(",") if p} or await _holders(school, "pastoral_lead")
    if tier == 1:
        people = await oncall.on_call(school, None)
        if row["buddy"]:
            people.add(row["buddy"])
    elif tier == 2:
        people = await _holders(school, "dsl") | slt
    elif tier == 3:
        people = {conf["headteacher"]} if conf.get("headteacher") else \
            await _holders(school, "dsl", "pastoral_lead")
    else:
        people = await _holders(school, "dsl", "pastoral_lead") | slt | await _alerted(row["id"])
        if conf.get("headteacher"):
            people.add(conf["headteacher"])
        if row["buddy"]:
            people.add(row["buddy"])
    return people


def _fire_at(row: dict, tier: int, conf: dict, fired: dict[int, dt.datetime]) -> dt.datetime:
    """When a tier is due: its minutes after the end time, and never before the tier below has had its time to
    acknowledge. Tier 4 (the whole team) comes when tier 3's time to acknowledge has passed."""
    ack = dt.timedelta(seconds=conf["ack_seconds"])
    if tier == 4 or (row.get("duress_at") and tier > 2):
        # Under duress tier 2 fired at once; each tier above comes when the one below has had its time.
        return fired[tier - 1] + ack
    at = row["ends_at"] + dt.timedelta(minutes=conf[f"tier{tier}_minutes"])
    if tier > 1:
        at = max(at, fired[tier - 1] + ack)
    return at


async def _fired(visit_id: int) -> dict[int, dt.datetime]:
    return {r["tier"]: r["fired_at"] for r in await HomeVisitEscalation.select(
        HomeVisitEscalation.tier, HomeVisitEscalation.fired_at).where(HomeVisitEscalation.visit == visit_id)}


def _next_at(row: dict, conf: dict, fired: dict[int, dt.datetime], step: int) -> dt.datetime | None:
    """The next moment the timer has something to do for a visit after `step`."""
    if step == 0:
        return row["ends_at"] - REMIND_BEFORE
    if step == 1:
        return row["ends_at"]
    tier = step - 2  # the highest tier fired
    if tier >= 4:
        return None
    return _fire_at(row, tier + 1, conf, fired)


def _alarm_may_run():
    """Visits whose timer may still climb: those under way, and those checked out under duress (point 5), which
    look finished to everyone else but whose alarm runs on until someone acknowledges it."""
    return HomeVisit.state.is_in(list(ACTIVE)) | HomeVisit.duress_at.is_not_null()


async def tick(now: dt.datetime | None = None) -> int:
    """Take every timer step that is due (reminders, tiers, lapses). Safe to run in every process at once: each
    step is a conditional update on the visit's step, so exactly one process takes it. Returns steps taken."""
    now = now or clock.now()
    due = await HomeVisit.select().where(_alarm_may_run() & HomeVisit.next_at.is_not_null()
                                         & (HomeVisit.next_at <= now) & HomeVisit.acknowledged_by.is_null())
    taken = 0
    for row in due:
        try:
            taken += await _advance(row, now)
        except Exception:
            log.warning("home visit timer step failed for visit %s", row["id"], exc_info=True)
    return taken


async def _advance(row: dict, now: dt.datetime) -> int:
    """Take the steps due for one visit, one at a time (after a restart, catching up in order)."""
    conf = await ladder(row["school"])
    taken = 0
    step = row["step"]
    fired = await _fired(row["id"])
    while True:
        at = _next_at(row, conf, fired, step)
        if at is None or at > now:
            return taken
        if step in (0, 1) and now >= row["ends_at"]:
            new_step = 2  # past the end: the end-5 reminder is moot, send the "time is up" one
        else:
            new_step = step + 1
        tier = new_step - 2 if new_step >= 3 else 0
        new_fired = dict(fired)
        if tier:
            new_fired[tier] = now
        follow = _next_at(row, conf, new_fired, new_step)
        pending: list = []
        people: set[int] = set()
        async with atomic():
            changes = {HomeVisit.step: new_step, HomeVisit.next_at: follow}
            if tier:
                changes[HomeVisit.tier] = tier
            moved = await HomeVisit.update(changes).where(
                (HomeVisit.id == row["id"]) & (HomeVisit.step == step) & _alarm_may_run()
                & HomeVisit.acknowledged_by.is_null() & (HomeVisit.extensions == row["extensions"])
            ).returning(HomeVisit.id)
            if not moved:
                return taken  # another process took this step (or the visitor tapped): it does the rest
            staff = {s["person"] for s in await HomeVisitStaff.select(HomeVisitStaff.person).where(
                HomeVisitStaff.visit == row["id"])}
            names = ", ".join(r["display_name"] for r in await Person.select(Person.display_name).where(
                Person.id.is_in(list(staff) or [-1])).order_by(Person.display_name))
            if tier == 0:
                text = ("Home visit: 5 minutes left. Tap 'I'm safe' when you leave, or extend."
                        if new_step == 1 else "Home visit: your time is up. Tap 'I'm safe', or extend.")
                people = staff
                pending = await _tell(people, row["school"], row["id"], text)
                await _event(row["id"], row["school"], "reminded", None, step=new_step)
                payload = {"title": "Home visit", "body": text.removeprefix("Home visit: "),
                           "url": f"/home-visits/{row['id']}"}
            else:
                if tier > 1:
                    # The tier below had its time to acknowledge and nobody did.
                    lapsed = fired[tier - 1] + dt.timedelta(seconds=conf["ack_seconds"])
                    await HomeVisitEscalation.update({HomeVisitEscalation.lapsed_at: lapsed}).where(
                        (HomeVisitEscalation.visit == row["id"]) & (HomeVisitEscalation.tier == tier - 1)
                        & HomeVisitEscalation.lapsed_at.is_null())
                    await _event(row["id"], row["school"], "lapsed", None, tier=tier - 1)
                people = await _tier_people(row, tier, conf) - staff  # nobody is alarmed about their own visit
                await HomeVisitEscalation.insert(HomeVisitEscalation(
                    visit=row["id"], tier=tier, fired_at=now,
                    ack_due_at=now + dt.timedelta(seconds=conf["ack_seconds"]),
                    alerted=",".join(str(p) for p in sorted(people))))
                due_back = _hhmm(row["ends_at"])
                text = (f"Home visit overdue: {names} not back (due {due_back}). "
                        "Acknowledge if you are dealing with it."
                        if tier < 4 else f"Home visit: nobody has acknowledged. {names} not back (due {due_back}).")
                if row.get("duress_at"):
                    text = _duress_text(names, row["duress_at"], tier)
                pending = await _tell(people, row["school"], row["id"], text, link=f"/home-visits/{row['id']}/alarm")
                await _queue_texts(row["id"], tier, "tier", people, _sms_body(
                    names, row["id"], tier, due_back, duress=bool(row.get("duress_at"))), now)
                await _event(row["id"], row["school"], "escalated", None, tier=tier, alerted=len(people))
                await audit.record("home_visit.escalated", school_id=row["school"], subject_type="home_visit",
                                   subject_id=row["id"], detail={"tier": tier, "alerted": len(people)})
                payload = {"title": "Home visit overdue" if tier < 4 else "Home visit: nobody has acknowledged",
                           "body": f"{names}, due back {due_back}", "url": f"/home-visits/{row['id']}/alarm"}
                if row.get("duress_at"):
                    payload = {"title": "Home visit: help needed", "body": names,
                               "url": f"/home-visits/{row['id']}/alarm"}
        taken += 1
        await _publish(row["school"], row["id"])
        await notifications.deliver(pending)
        await _wake(people, payload)
        step, fired = new_step, new_fired


# Texts (SMS) of the alarm ------------------------------------------------------------------------------------------
#
# An SMS is not end-to-end secure: it passes through the gateway and the phone networks, and shows on a lock screen.
# So it carries what a push carries and no more: who went and when they were due back, and a link to the alarm page,
# behind the sign-in. Never the pupil, the address or the visit's purpose (docs/home-visits.md says why).

TEXT_TRIES = 3  # attempts per text, then it is marked failed (and logged, without its number or content)
TEXT_RETRY = dt.timedelta(seconds=30)  # times the attempt number: 30 s, then 60 s
TEXT_CLAIM = dt.timedelta(minutes=2)  # a text claimed this long ago by a process that never finished is retried


def _sms_body(names: str, visit_id: int, tier: int, due_back: str, *, duress: bool) -> str:
    link = f"{_public_url}/home-visits/{visit_id}/alarm"
    if duress:
        return f"Corridor: home visit by {names}: they may need help. Do not phone them. Open Corridor: {link}"
    if tier >= 4:
        return f"Corridor: home visit by {names} overdue (due back {due_back}), nobody has acknowledged. " \
               f"Open Corridor: {link}"
    return f"Corridor: home visit by {names} overdue (due back {due_back}). Open Corridor: {link}"


async def _queue_texts(visit_id: int, tier: int, kind: str, people: set[int], body: str, now: dt.datetime) -> None:
    """In the transaction that fires the tier (so once, as the tier is): a text for each person alerted who has a
    mobile, when a gateway is configured. Sent after the commit by `send_texts`."""
    if _texter is None or not people:
        return
    have = await Person.select(Person.id, Person.mobile).where(
        Person.id.is_in(sorted(people)) & (Person.mobile != "") & Person.disabled_at.is_null())
    queued = {r["person"] for r in await HomeVisitText.select(HomeVisitText.person).where(
        (HomeVisitText.visit == visit_id) & (HomeVisitText.tier == tier) & (HomeVisitText.kind == kind))}
    rows = [HomeVisitText(visit=visit_id, tier=tier, kind=kind, person=r["id"], phone=r["mobile"], body=body,
                          state="pending", next_try_at=now, created_at=now) for r in have if r["id"] not in queued]
    if rows:
        await HomeVisitText.insert(*rows)


def _text_due(now: dt.datetime):
    return (((HomeVisitText.state == "pending") & (HomeVisitText.next_try_at <= now))
            | ((HomeVisitText.state == "sending") & (HomeVisitText.claimed_at < now - TEXT_CLAIM)))


async def send_texts(now: dt.datetime | None = None) -> int:
    """Send the texts that are due, in every process: each is claimed by a conditional update, so one process sends
    it; a failed send is tried again later, TEXT_TRIES times in all, and logged without its number or content.
    Returns how many were sent."""
    if _texter is None:
        return 0
    now = now or clock.now()
    sent = 0
    for due in await HomeVisitText.select(HomeVisitText.id).where(_text_due(now)).order_by(HomeVisitText.id):
        claimed = await HomeVisitText.update({
            HomeVisitText.state: "sending", HomeVisitText.claimed_at: now,
            HomeVisitText.attempts: HomeVisitText.attempts + 1}).where(
            (HomeVisitText.id == due["id"]) & _text_due(now)).returning(
            HomeVisitText.id, HomeVisitText.visit, HomeVisitText.tier, HomeVisitText.phone, HomeVisitText.body,
            HomeVisitText.attempts)
        if not claimed:
            continue  # another process has it
        text = claimed[0]
        try:
            await _texter(text["phone"], text["body"], f"corridor-home-visit-text-{text['id']}")
        except Exception as exc:
            why = str(exc) if isinstance(exc, SmsFailed) else type(exc).__name__
            done = text["attempts"] >= TEXT_TRIES
            await HomeVisitText.update({
                HomeVisitText.state: "failed" if done else "pending",
                HomeVisitText.next_try_at: None if done else clock.now() + TEXT_RETRY * text["attempts"]}).where(
                (HomeVisitText.id == text["id"]) & (HomeVisitText.state == "sending"))
            log.warning("home visit alarm text %s (visit %s, tier %s) not sent, attempt %s of %s: %s%s", text["id"],
                        text["visit"], text["tier"], text["attempts"], TEXT_TRIES, why,
                        "; giving up" if done else "; will try again")
            continue
        await HomeVisitText.update({HomeVisitText.state: "sent", HomeVisitText.sent_at: clock.now()}).where(
            HomeVisitText.id == text["id"])
        sent += 1
    return sent


async def alarm(actor: Actor, visit_id: int) -> dict:
    """The alarm page: for the people alerted, the DSL team and the pastoral leads. From tier 2 it has tap-to-call
    links for the staff who went; from tier 3, the script for a 999 call (address, who went, their phones, the last
    thing recorded)."""
    if actor.school_id is None:
        raise NotFound(HIDDEN)
    row = await HomeVisit.select().where((HomeVisit.id == visit_id) & (HomeVisit.school == actor.school_id)).first()
    if not row or row["tier"] == 0:
        raise NotFound(HIDDEN)
    alerted = await _alerted(visit_id)
    if actor.person_id not in alerted and not actor.has(*AUTHORISERS):
        raise NotFound(HIDDEN)
    staff = await HomeVisitStaff.select(HomeVisitStaff.person, HomeVisitStaff.phone,
                                        HomeVisitStaff.person.display_name).where(HomeVisitStaff.visit == visit_id)
    row["staff"] = [{"id": s["person"], "name": s["person.display_name"], "phone": s["phone"]} for s in staff]
    if row["duress_at"] and not duress_visible(actor, alerted, {s["id"] for s in row["staff"]}):
        raise NotFound(HIDDEN)  # a duress alarm is the DSL team's and its recipients' alone
    last = await HomeVisitEvent.select(HomeVisitEvent.kind, HomeVisitEvent.at, HomeVisitEvent.actor.display_name).where(
        (HomeVisitEvent.visit == visit_id) & HomeVisitEvent.actor.is_not_null()).order_by(
        HomeVisitEvent.id, ascending=False).first()
    row["last"] = last
    row["escalations"] = await HomeVisitEscalation.select().where(HomeVisitEscalation.visit == visit_id).order_by(
        HomeVisitEscalation.tier)
    row["owner"] = (await Person.select(Person.display_name).where(Person.id == row["acknowledged_by"]).first()
                    if row["acknowledged_by"] else None)
    going = actor.person_id in {s["id"] for s in row["staff"]}
    row["may_acknowledge"] = (row["state"] in ACTIVE or row["duress_at"] is not None) \
        and row["acknowledged_by"] is None and not going
    row["show_calls"] = row["tier"] >= 2 or actor.has(*AUTHORISERS)
    row["show_script"] = row["tier"] >= 3 or actor.has(*AUTHORISERS)
    async with atomic():
        await _audit(actor, "home_visit.alarm_viewed", visit_id, actor.school_id)
    return row


async def acknowledge(actor: Actor, visit_id: int) -> None:
    """"I'm dealing with it": the first acknowledgement owns the alarm and stops the climb. Nobody acknowledges a
    visit they are on."""
    row = await alarm(actor, visit_id)
    if actor.person_id in {s["id"] for s in row["staff"]}:
        raise NotFound(HIDDEN)
    now = clock.now()
    async with atomic():
        moved = await HomeVisit.update({HomeVisit.acknowledged_by: actor.person_id, HomeVisit.acknowledged_at: now,
                                        HomeVisit.next_at: None}).where(
            (HomeVisit.id == visit_id) & HomeVisit.acknowledged_by.is_null() & _alarm_may_run()
            & (HomeVisit.tier > 0)).returning(HomeVisit.id)
        if moved:
            await _event(visit_id, actor.school_id, "acknowledged", actor.person_id, tier=row["tier"])
            await _audit(actor, "home_visit.acknowledged", visit_id, actor.school_id, {"tier": row["tier"]})
            others = await _alerted(visit_id) - {actor.person_id}
            pending = await _tell(others, actor.school_id, visit_id,
                                  f"Home visit alarm: {actor.display_name} is dealing with it.",
                                  link=f"/home-visits/{visit_id}/alarm")
    if not moved:
        current = await HomeVisit.select(HomeVisit.acknowledged_by, HomeVisit.state).where(
            HomeVisit.id == visit_id).first()
        if current["acknowledged_by"]:
            who = await Person.select(Person.display_name).where(Person.id == current["acknowledged_by"]).first()
            raise Conflict(f"{who['display_name']} is already dealing with it.")
        raise Conflict(f"This visit is {STATES[current['state']].lower()}: there is nothing to acknowledge.")
    await _publish(actor.school_id, visit_id)
    await notifications.deliver(pending)


# The audit log as an admin reads it ---------------------------------------------------------------------------------

# What a duress check-out leaves in the audit log, from its moment on: the check-out itself, then the alarm's tiers,
# its views and its acknowledgement.
DURESS_TRAIL = ("home_visit.duress", "home_visit.escalated", "home_visit.alarm_viewed", "home_visit.acknowledged")


async def audit_as_seen_by(actor: Actor, events: list[dict]) -> list[dict]:
    """The admin audit viewer's entries as this admin may read them (point 5): to anyone who may not know of a
    duress check-out (not the DSL team of the visit's school, not alerted by it, or on the visit), its entry reads
    as the plain check-out it looks like ("home_visit.finished_safe", no detail), and the alarm's entries after it
    are left out, as they would not exist after a real check-out. Everything is still in the log itself."""
    ids = {int(e["subject_id"]) for e in events if e.get("subject_type") == "home_visit"
           and e["action"] in DURESS_TRAIL and str(e.get("subject_id") or "").isdigit()}
    if not ids:
        return events
    hidden: dict[int, dt.datetime] = {}
    for v in await HomeVisit.select(HomeVisit.id, HomeVisit.school, HomeVisit.duress_at).where(
            HomeVisit.id.is_in(sorted(ids)) & HomeVisit.duress_at.is_not_null()):
        alerted = await _alerted(v["id"])
        staff = {s["person"] for s in await HomeVisitStaff.select(HomeVisitStaff.person).where(
            HomeVisitStaff.visit == v["id"])}
        if actor.person_id in alerted and actor.person_id not in staff:
            continue
        if v["school"] == actor.school_id and duress_visible(actor, alerted, staff):
            continue
        hidden[v["id"]] = v["duress_at"]
    shown = []
    for e in events:
        visit = int(e["subject_id"]) if e.get("subject_type") == "home_visit" and e["action"] in DURESS_TRAIL \
            and str(e.get("subject_id") or "").isdigit() else None
        if visit in hidden:
            if e["action"] == "home_visit.duress":
                e = {**e, "action": "home_visit.finished_safe", "detail": ""}
            elif e["at"] >= hidden[visit]:
                continue
        shown.append(e)
    return shown


# The leads' board (point 8) ----------------------------------------------------------------------------------------

BOARD_ROLES = ("pastoral_lead", "dsl")


def can_see_board(actor: Actor) -> bool:
    return actor.school_id is not None and actor.has(*BOARD_ROLES)


def _today_bounds() -> tuple[dt.datetime, dt.datetime]:
    """Today in the UK, as UTC bounds (stored times are UTC)."""
    day = clock.now().astimezone(LONDON).date()
    start = dt.datetime.combine(day, dt.time(0, 0), tzinfo=LONDON)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), tzinfo=LONDON)
    return start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc)


async def latest_event_id(school_id: int) -> int:
    row = await HomeVisitEvent.select(HomeVisitEvent.id).where(HomeVisitEvent.school == school_id).order_by(
        HomeVisitEvent.id, ascending=False).first()
    return row["id"] if row else 0


async def board_event(event_id: int, school_id: int) -> dict | None:
    """An event of the school (never another's), for a stream to turn into its visit's card."""
    return await HomeVisitEvent.select(HomeVisitEvent.id, HomeVisitEvent.visit).where(
        (HomeVisitEvent.id == event_id) & (HomeVisitEvent.school == school_id)).first()


async def board_events_since(school_id: int, after: int) -> list[dict]:
    """For a reconnecting board: each visit changed since `after`, once, by its latest event."""
    latest: dict[int, int] = {}
    for e in await HomeVisitEvent.select(HomeVisitEvent.id, HomeVisitEvent.visit).where(
            (HomeVisitEvent.school == school_id) & (HomeVisitEvent.id > after)).order_by(HomeVisitEvent.id):
        latest[e["visit"]] = e["id"]
    return [{"id": i, "visit": v} for v, i in sorted(latest.items(), key=lambda kv: kv[1])]


async def board_card(school_id: int, visit_id: int) -> dict | None:
    """A visit as the board shows it: who is out, where, due back when, its status. `on_board` is false for a visit
    not today's (the board drops it). Who may see duress is decided per stream (`duress_visible`)."""
    row = await HomeVisit.select().where((HomeVisit.id == visit_id) & (HomeVisit.school == school_id)).first()
    if row is None:
        return None
    start, end = _today_bounds()
    row["on_board"] = row["state"] != "cancelled" and (
        start <= row["planned_start"] < end or row["state"] in ACTIVE or row["duress_at"] is not None
        and row["acknowledged_by"] is None)
    staff = await HomeVisitStaff.select(HomeVisitStaff.person, HomeVisitStaff.person.display_name).where(
        HomeVisitStaff.visit == visit_id).order_by(HomeVisitStaff.id)
    row["staff_ids"] = {s["person"] for s in staff}
    row["staff_names"] = ", ".join(s["person.display_name"] for s in staff)
    row["due_back"] = row["ends_at"] or row["planned_end"]
    row["phase"] = phase(row)
    row["alerted"] = await _alerted(visit_id) if row["tier"] else set()
    row["owner"] = ""
    if row["acknowledged_by"]:
        owner = await Person.select(Person.display_name).where(Person.id == row["acknowledged_by"]).first()
        row["owner"] = owner["display_name"] if owner else ""
    row["outcome_label"] = OUTCOMES.get(row["outcome"], "")
    row["not_seen"] = row["outcome"] in NOT_SEEN
    return row


async def board(actor: Actor) -> list[dict]:
    """Today's visits at the actor's school, for the pastoral leads and the DSL team; due back soonest first."""
    if not can_see_board(actor):
        raise NotFound(HIDDEN)
    start, end = _today_bounds()
    ids = [r["id"] for r in await HomeVisit.select(HomeVisit.id).where(
        (HomeVisit.school == actor.school_id) & (HomeVisit.state != "cancelled") & (
            ((HomeVisit.planned_start >= start) & (HomeVisit.planned_start < end))
            | HomeVisit.state.is_in(list(ACTIVE))))]
    cards = [c for c in [await board_card(actor.school_id, i) for i in ids] if c and c["on_board"]]
    cards.sort(key=lambda c: c["due_back"])
    async with atomic():
        await audit.record("home_visit.board_viewed", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, origin=actor.origin)
    return cards


# For the pupil's chronology -----------------------------------------------------------------------------------------

EVENT_TEXT = {"planned": "Home visit planned", "checked": "Home visit: pre-visit checklist completed",
              "lone_override": "Home visit: lone visit agreed", "authorised": "Home visit authorised",
              "cancelled": "Home visit cancelled", "started": "Home visit started",
              "on_site": "Home visit: at the door",
              "extended": "Home visit extended by 15 minutes", "finished_safe": "Home visit finished: staff safe",
              "escalated": "Home visit overdue: alarm raised", "acknowledged": "Home visit alarm acknowledged",
              "outcome": "Home visit outcome"}


async def chronology_rows(school_id: int, pupil_id: int) -> list[dict]:
    """A pupil's visits as plain rows for the chronology (which sits above this feature and wraps them in its own
    entries; this module imports nothing of it): at, ref ('visit:<visit>:<event>'), event, detail, recorded_by.
    Reminders and lapses are left out: they are the timer's, not the visit's story. Who may see them is the
    chronology's rule (pastoral, leads, DSL team; heads of year their years), the same as this feature's."""
    visit_ids = [r["visit"] for r in await HomeVisitPupil.select(HomeVisitPupil.visit).where(
        (HomeVisitPupil.pupil == pupil_id) & (HomeVisitPupil.visit.school == school_id))]
    if not visit_ids:
        return []
    visits = {r["id"]: r for r in await HomeVisit.select(
        HomeVisit.id, HomeVisit.purpose, HomeVisit.duress_at, HomeVisit.outcome, HomeVisit.outcome_present,
        HomeVisit.outcome_note_left, HomeVisit.outcome_notes).where(HomeVisit.id.is_in(visit_ids))}
    events = await HomeVisitEvent.select(HomeVisitEvent.id, HomeVisitEvent.visit, HomeVisitEvent.kind,
                                         HomeVisitEvent.at, HomeVisitEvent.detail, HomeVisitEvent.actor.display_name,
                                         HomeVisitEvent.actor.email).where(
        HomeVisitEvent.visit.is_in(visit_ids) & HomeVisitEvent.kind.is_in(list(EVENT_TEXT))).order_by(
        HomeVisitEvent.at).order_by(HomeVisitEvent.id)
    rows = []
    for e in events:
        detail = json.loads(e["detail"]) if e["detail"] else {}
        visit = visits[e["visit"]]
        if visit["duress_at"] and e["kind"] in ("escalated", "acknowledged"):
            continue  # a duress alarm is the DSL team's and its recipients' (the alarm page), not the chronology's
        text = EVENT_TEXT[e["kind"]]
        shown = visit["purpose"] if e["kind"] == "planned" else ""
        if e["kind"] == "escalated":
            text += f" (tier {detail.get('tier')}: {TIER_NAMES.get(detail.get('tier'), '')})"
        if e["kind"] == "outcome":
            text += f": {OUTCOMES.get(detail.get('outcome'), '')}"
            parts = [f"Present: {visit['outcome_present'].rstrip('.')}." if visit["outcome_present"] else "",
                     "A note was left." if visit["outcome_note_left"] else "No note left.", visit["outcome_notes"]]
            shown = " ".join(p for p in parts if p)
        who = f"{e['actor.display_name']} <{e['actor.email']}>" if e["actor.display_name"] else ""
        rows.append({"at": e["at"], "ref": f"visit:{e['visit']}:{e['id']}", "event": text,
                     "detail": shown, "recorded_by": who})
    return rows
