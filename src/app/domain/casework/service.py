"""Caseloads: a pupil's case with its keyworker, support plan, targets and reviews on a cadence.

Who sees a case: the DSL and the pastoral lead every case of the school; a head of year the cases of the years
they lead; a pastoral officer the cases they hold as keyworker or are named on in the plan's "who does what".
Everyone else who may see a pupil's care flags sees only that the pupil has a keyworker, and who. A case the
actor may not see is "not found".
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Awaitable, Callable
from zoneinfo import ZoneInfo

from app import clock
from app.clock import parse_date
from app.db import atomic, parse_id
from app.domain.audit import service as audit
from app.domain.casework.tables import Case, CaseAction, CaseReview, CaseTarget, CaseType, TargetRating
from app.domain.notifications import service as notifications
from app.domain.pupils.tables import Pupil
from app.domain.schools.service import Actor, hoy_years
from app.domain.schools.tables import Membership, Person
from app.errors import CorridorError, NotFound, ValidationFailed

LONDON = ZoneInfo("Europe/London")  # a review is due on a UK school day
CASEWORKERS = ("pastoral", "pastoral_lead", "head_of_year", "dsl")
SEES_ALL = ("pastoral_lead", "dsl")
# Who sees that a pupil has a keyworker, and who (those who see a pupil's care flags on the profile).
SEES_KEYWORKER = ("staff", "responder", "pastoral", "pastoral_lead", "head_of_year", "dsl", "admin")
SETS_TYPES = ("admin", "pastoral_lead", "dsl")
DEFAULT_TYPES = [("Pastoral", 6), ("Behaviour", 6), ("Attendance", 4), ("SEMH", 6), ("Risk assessment", 6),
                 ("Reintegration", 6)]
STATUSES = {"open": "Open", "on_hold": "On hold", "closed": "Closed"}
# Closed is final: work that starts again is a new case, so a closed case's outcome and summary stay as written.
MOVES = {"open": {"on_hold", "closed"}, "on_hold": {"open", "closed"}, "closed": set()}
OUTCOMES = {"met": "Targets met", "partly_met": "Targets partly met", "not_met": "Targets not met",
            "referred_on": "Referred on to another service", "left_school": "Pupil left the school",
            "declined": "Support declined"}
TARGET_STATES = {"not_started": "Not started", "in_progress": "In progress", "partly_met": "Partly met",
                 "met": "Met", "not_met": "Not met"}
MAX_TARGETS = 5
DUE_WINDOW = dt.timedelta(days=14)
TEXT_LIMIT = 2000
NOT_HERE = "There is nothing here, or you do not have access to it."


class IllegalMove(CorridorError):
    status_code = 409
    title = "That change cannot be made to this case"


def today() -> dt.date:
    return clock.now().astimezone(LONDON).date()


def can_work(actor: Actor) -> bool:
    return actor.school_id is not None and actor.has(*CASEWORKERS)


def pupil_name(row: dict, prefix: str = "pupil.") -> str:
    first = row[prefix + "preferred_first_name"] or row[prefix + "legal_first_name"]
    last = row[prefix + "preferred_last_name"] or row[prefix + "legal_last_name"]
    return f"{first} {last}"


def _text(raw: Any) -> str:
    return str(raw or "").strip()


def _whole(raw: Any) -> int | None:
    text = _text(raw)
    return int(text) if text.isascii() and text.isdigit() and len(text) < 4 else None


async def _audit(actor: Actor, action: str, case_id: int, detail: dict | None = None) -> None:
    # No pupil name in the audit log: admins read it, and they do not see casework.
    await audit.record(action, actor_id=actor.person_id, actor_label=actor.label, school_id=actor.school_id,
                       subject_type="case", subject_id=case_id, origin=actor.origin, detail=detail)


async def _replayed(actor: Actor, key: str | None, digest: str) -> dict | None:
    """The first answer to this submission key, if the same form was sent before (else the key is claimed).
    Asked before validating: a second submission may no longer be valid (a sixth target) yet was answered."""
    if key and (stored := await notifications.replay(actor, key, digest)):
        return json.loads(stored["body"])
    return None


async def _once(actor: Actor, key: str | None, digest: str, write: Callable[[], Awaitable[dict]]) -> dict:
    """Run `write` in one transaction with the key's receipt: of two racing submissions, one record."""

    async def writing() -> tuple[dict, list]:
        return await write(), []

    return await notifications.answer_once(actor, key, digest, writing)


# Types -----------------------------------------------------------------------------------------------------

async def ensure_types(school_id: int) -> None:
    """Give a school the six built-in case types, once."""
    if not await CaseType.exists().where(CaseType.school == school_id):
        await CaseType.insert(*[CaseType(school=school_id, name=n, review_weeks=w, position=i)
                                for i, (n, w) in enumerate(DEFAULT_TYPES)])


async def case_types(school_id: int, *, store: bool = True) -> list[dict]:
    """The school's types for a page that offers them (the built-in ones are stored on first use). store=False
    (a form shown again after a refused request, which must leave no row behind): the built-in ones are shown
    without ids while none are stored."""
    if store:
        await ensure_types(school_id)
    stored = await stored_case_types(school_id)
    if stored or store:
        return stored
    return [{"id": None, "name": n, "review_weeks": w, "position": i} for i, (n, w) in enumerate(DEFAULT_TYPES)]


async def stored_case_types(school_id: int) -> list[dict]:
    """The types stored for a school, writing nothing: for checking a submitted form, so that a refused
    request leaves no row behind."""
    return await CaseType.select().where(CaseType.school == school_id).order_by(CaseType.position).order_by(CaseType.id)


def can_set_types(actor: Actor) -> bool:
    return actor.school_id is not None and actor.has(*SETS_TYPES)


@notifications.releases_claim
async def add_case_type(actor: Actor, name: str, review_weeks: str, *, key: str | None = None,
                        digest: str = "") -> None:
    """A school's own kind of case, with its review cadence in weeks (admins, the DSL, the pastoral lead)."""
    if not can_set_types(actor):
        raise NotFound(NOT_HERE)
    if await _replayed(actor, key, digest):
        return
    name = " ".join(_text(name).split())
    weeks = _whole(review_weeks)
    errors = {}
    if not name or len(name) > 60:
        errors["name"] = "Give the type a name of up to 60 characters."
    elif name.lower() in {t["name"].lower() for t in await stored_case_types(actor.school_id)} | {
            n.lower() for n, _ in DEFAULT_TYPES}:
        errors["name"] = "There is already a type with that name."
    if weeks is None or not 1 <= weeks <= 26:
        errors["review_weeks"] = "Reviews are every 1 to 26 weeks."
    if errors:
        raise ValidationFailed(errors)

    async def write() -> dict:
        await ensure_types(actor.school_id)  # the built-in ones first, in this transaction
        row = CaseType(school=actor.school_id, name=name, review_weeks=weeks, position=100)
        await row.save()
        await audit.record("case_type.created", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="case_type", subject_id=row.id,
                           subject_label=name, origin=actor.origin)
        return {"type": row.id}

    await _once(actor, key, digest, write)


# Who may see what ------------------------------------------------------------------------------------------

async def _visible(actor: Actor) -> Any | None:
    """The condition on Case for the cases this actor may see at their school; None if none at all."""
    if not can_work(actor):
        return None
    school = Case.school == actor.school_id
    if actor.has(*SEES_ALL):
        return school
    parts = []
    if actor.has("head_of_year"):
        years = await hoy_years(actor)
        parts.append(Case.id > 0 if years is None else Case.pupil.year_code.is_in(sorted(years) or ["-"]))
    if actor.has("pastoral"):
        named = await CaseAction.select(CaseAction.case).where(
            (CaseAction.person == actor.person_id) & (CaseAction.case.school == actor.school_id))
        mine = Case.keyworker == actor.person_id
        parts.append(mine | Case.id.is_in([r["case"] for r in named]) if named else mine)
    if not parts:
        return None
    condition = parts[0]
    for part in parts[1:]:
        condition = condition | part
    return school & condition


CASE_COLUMNS = (Case.id, Case.status, Case.reason, Case.started_on, Case.next_review_on, Case.review_weeks,
                Case.strategies, Case.outcome, Case.closing_summary, Case.closed_on, Case.keyworker,
                Case.pupil, Case.case_type.name, Case.keyworker.display_name, Case.pupil.legal_first_name,
                Case.pupil.legal_last_name, Case.pupil.preferred_first_name, Case.pupil.preferred_last_name,
                Case.pupil.year_code)


def _row(r: dict, on: dt.date) -> dict:
    due = r["next_review_on"]
    return {**r, "pupil_name": pupil_name(r), "type": r["case_type.name"], "keyworker_name": r["keyworker.display_name"],
            "year": r["pupil.year_code"], "status_label": STATUSES[r["status"]],
            "overdue": bool(due and due < on), "due_soon": bool(due and on <= due <= on + DUE_WINDOW),
            "days": (due - on).days if due else None}


async def visible_case(actor: Actor, case_id: int) -> dict:
    condition = await _visible(actor)
    if condition is None:
        raise NotFound(NOT_HERE)
    row = await Case.select(*CASE_COLUMNS).where(condition & (Case.id == case_id)).first()
    if not row:
        raise NotFound(NOT_HERE)
    return _row(row, today())


async def caseload(actor: Actor) -> dict[str, list[dict]]:
    """The actor's own caseload; the visible cases with a review due in 14 days or overdue; all visible open ones."""
    condition = await _visible(actor)
    if condition is None:
        raise NotFound(NOT_HERE)
    on = today()
    rows = [_row(r, on) for r in await Case.select(*CASE_COLUMNS).where(
        condition & (Case.status != "closed")).order_by(Case.next_review_on).order_by(Case.id)]
    named = {r["case"] for r in await CaseAction.select(CaseAction.case).where(CaseAction.person == actor.person_id)}
    return {
        "mine": [r for r in rows if r["keyworker"] == actor.person_id or r["id"] in named],
        "due": [r for r in rows if r["due_soon"] and r["status"] == "open"],
        "overdue": [r for r in rows if r["overdue"] and r["status"] == "open"],
        "all": rows,
    }


async def keyworkers_of(actor: Actor, pupil_id: int) -> dict:
    """For the pupil profile: who the pupil's keyworkers are (anyone who sees care flags), and which of the
    pupil's cases this actor may open."""
    if actor.school_id is None or not actor.has(*SEES_KEYWORKER):
        raise NotFound(NOT_HERE)
    if not await Pupil.exists().where((Pupil.id == pupil_id) & (Pupil.school == actor.school_id)):
        raise NotFound(NOT_HERE)
    live = (Case.school == actor.school_id) & (Case.pupil == pupil_id) & (Case.status != "closed")
    rows = await Case.select(Case.id, Case.keyworker.display_name).where(live).order_by(Case.id)
    condition = await _visible(actor)
    seen = {r["id"] for r in await Case.select(Case.id).where(live & condition)} if condition is not None else set()
    names = list(dict.fromkeys(r["keyworker.display_name"] for r in rows))
    cases = [{"id": r["id"]} for r in rows if r["id"] in seen]
    can_open = can_work(actor) and await pupil_for_case(actor, pupil_id) is not None
    return {"pupil_id": pupil_id, "names": names, "cases": cases, "can_open": can_open}


# Opening a case ---------------------------------------------------------------------------------------------

async def keyworker_choices(actor: Actor) -> list[dict]:
    """Colleagues who can hold a case at this school; a pastoral officer (not a lead, HoY or DSL) only themself."""
    if not actor.has("pastoral_lead", "head_of_year", "dsl"):
        return [{"id": actor.person_id, "display_name": actor.display_name}]
    rows = await Membership.select(Membership.person.id, Membership.person.display_name).where(
        ((Membership.school == actor.school_id) | ((Membership.trust == actor.trust_id) & Membership.school.is_null()))
        & Membership.role.is_in(list(CASEWORKERS)) & Membership.person.disabled_at.is_null())
    people = {r["person.id"]: {"id": r["person.id"], "display_name": r["person.display_name"]} for r in rows}
    return sorted(people.values(), key=lambda p: p["display_name"].lower())


async def pupil_for_case(actor: Actor, pupil_id: int | None) -> dict | None:
    """The pupil a case may be opened for: at the actor's school, and in their years for a head of year only."""
    if not pupil_id:
        return None
    row = await Pupil.select(Pupil.id, Pupil.legal_first_name, Pupil.legal_last_name, Pupil.preferred_first_name,
                             Pupil.preferred_last_name, Pupil.year_code).where(
        (Pupil.id == pupil_id) & (Pupil.school == actor.school_id)).first()
    if not row:
        return None
    if not actor.has("pastoral", "pastoral_lead", "dsl"):
        years = await hoy_years(actor)
        if years is not None and row["year_code"] not in years:
            return None
    return {"id": row["id"], "name": pupil_name(row, ""), "year": row["year_code"]}


@notifications.releases_claim
async def open_case(actor: Actor, form: dict[str, str], *, key: str | None = None, digest: str = "") -> int:
    """Open a case; returns its id. The same submission key again returns the same case."""
    if not can_work(actor):
        raise NotFound(NOT_HERE)
    if stored := await _replayed(actor, key, digest):
        return stored["case"]
    errors: dict[str, str] = {}
    pupil = await pupil_for_case(actor, parse_id(form.get("pupil_id")))
    if not pupil:
        errors["pupil_id"] = "Choose a pupil of your school (find them, then open a case from their profile)."
    keyworker = parse_id(form.get("keyworker_id"))
    if keyworker not in {p["id"] for p in await keyworker_choices(actor)}:
        errors["keyworker_id"] = "Choose the keyworker from the list."
    types = {t["id"]: t for t in await stored_case_types(actor.school_id)}
    case_type = types.get(parse_id(form.get("type_id")) or 0)
    if not case_type:
        errors["type_id"] = "Choose the type of case."
    reason = _text(form.get("reason"))
    if not reason or len(reason) > TEXT_LIMIT:
        errors["reason"] = f"Say why the case is opened, in up to {TEXT_LIMIT} characters."
    started = parse_date(form.get("started_on"))
    if started is None or started > today():
        errors["started_on"] = "Give the start date as a date no later than today."
    weeks = _whole(form.get("review_weeks")) if _text(form.get("review_weeks")) else (
        case_type["review_weeks"] if case_type else None)
    if weeks is None or not 1 <= weeks <= 26:
        errors["review_weeks"] = "Reviews are every 1 to 26 weeks."
    if pupil and case_type and await Case.exists().where(
            (Case.pupil == pupil["id"]) & (Case.case_type == case_type["id"]) & (Case.status != "closed")):
        errors["type_id"] = f"This pupil already has an open {case_type['name'].lower()} case."
    if errors:
        raise ValidationFailed(errors)

    async def write() -> dict:
        now = clock.now()
        case = Case(school=actor.school_id, pupil=pupil["id"], keyworker=keyworker, case_type=case_type["id"],
                    reason=reason, started_on=started, status="open", review_weeks=weeks,
                    next_review_on=started + dt.timedelta(weeks=weeks), opened_by=actor.person_id, created_at=now,
                    updated_at=now)
        await case.save()
        await _audit(actor, "case.opened", case.id, {"pupil": pupil["id"], "keyworker": keyworker,
                                                      "type": case_type["name"]})
        return {"case": case.id}

    return (await _once(actor, key, digest, write))["case"]


# The case page and its changes ------------------------------------------------------------------------------

async def case_page(actor: Actor, case_id: int) -> dict:
    """A case with its plan, targets (each with its ratings, oldest first) and reviews; the view is audited."""
    case = await visible_case(actor, case_id)
    targets = await CaseTarget.select().where(CaseTarget.case == case_id).order_by(CaseTarget.position)
    reviews = await CaseReview.select(CaseReview.id, CaseReview.held_on, CaseReview.notes, CaseReview.pupil_voice,
                                      CaseReview.by.display_name).where(CaseReview.case == case_id).order_by(
        CaseReview.held_on).order_by(CaseReview.id)
    ratings = await TargetRating.select().where(TargetRating.review.case == case_id)
    by_review: dict[int, dict[int, dict]] = {}
    for r in ratings:
        by_review.setdefault(r["review"], {})[r["target"]] = r
    for t in targets:
        t["ratings"] = [by_review[rv["id"]][t["id"]]["rating"] for rv in reviews if t["id"] in by_review.get(rv["id"], {})]
        t["state_label"] = TARGET_STATES.get(t["state"], t["state"])
    for rv in reviews:
        rv["ratings"] = by_review.get(rv["id"], {})
    actions = await CaseAction.select(CaseAction.id, CaseAction.who, CaseAction.what,
                                      CaseAction.person.display_name).where(CaseAction.case == case_id).order_by(
        CaseAction.id)
    async with atomic():
        await _audit(actor, "case.viewed", case_id)
    return {"case": case, "targets": targets, "reviews": reviews, "actions": actions}


async def set_status(actor: Actor, case_id: int, to: str, outcome: str = "", summary: str = "") -> None:
    """Put a case on hold, take it off hold, or close it with an outcome and a closing summary."""
    case = await visible_case(actor, case_id)
    if to not in STATUSES:
        raise ValidationFailed({"status": "Choose what to do with the case."})
    if to == case["status"]:
        return  # the same change sent twice: it is already made
    if to not in MOVES[case["status"]]:
        raise IllegalMove(f"A {STATUSES[case['status']].lower()} case cannot be moved to "
                          f"{STATUSES[to].lower()}." + (" Open a new case instead." if case["status"] == "closed" else ""))
    summary = _text(summary)
    values: dict[Any, Any] = {Case.status: to, Case.updated_at: clock.now()}
    if to == "closed":
        errors = {}
        if outcome not in OUTCOMES:
            errors["outcome"] = "Choose the outcome."
        if not summary or len(summary) > TEXT_LIMIT:
            errors["closing_summary"] = f"Write a closing summary of up to {TEXT_LIMIT} characters."
        if errors:
            raise ValidationFailed(errors)
        values.update({Case.outcome: outcome, Case.closing_summary: summary, Case.closed_on: today(),
                       Case.next_review_on: None})
    elif to == "on_hold":
        values[Case.next_review_on] = None  # reviews pause while the work does
    else:
        values[Case.next_review_on] = today() + dt.timedelta(weeks=case["review_weeks"])
    action = {"closed": "case.closed", "on_hold": "case.put_on_hold", "open": "case.resumed"}[to]
    async with atomic():
        # Only from the state read above: a concurrent change makes this one a no-op, not a double move.
        moved = await Case.update(values).where((Case.id == case_id) & (Case.status == case["status"])).returning(Case.id)
        if moved:
            await _audit(actor, action, case_id, {"from": case["status"], "to": to,
                                                  **({"outcome": outcome} if to == "closed" else {})})


def _require_live(case: dict) -> None:
    if case["status"] == "closed":
        raise IllegalMove("This case is closed: its plan and reviews are kept as they were.")


@notifications.releases_claim
async def save_plan(actor: Actor, case_id: int, form: dict[str, Any], *, key: str | None = None,
                    digest: str = "") -> None:
    """The plan's strategies, and who does what: remove lines, add one (a colleague, or someone in words)."""
    case = await visible_case(actor, case_id)
    _require_live(case)
    if await _replayed(actor, key, digest):
        return
    strategies = _text(form.get("strategies"))
    what, who = _text(form.get("new_what")), " ".join(_text(form.get("new_who")).split())
    person_raw = _text(form.get("new_person"))
    person = parse_id(person_raw) if person_raw else None
    remove = {parse_id(v) for v in form.get("remove_action", [])} - {None}
    errors = {}
    if len(strategies) > TEXT_LIMIT:
        errors["strategies"] = f"Strategies fit in {TEXT_LIMIT} characters."
    if person_raw and person not in {p["id"] for p in await colleagues(actor)}:
        errors["new_person"] = "Choose a colleague from the list."
    if (what or who or person_raw) and not what:
        errors["new_what"] = "Say what they will do."
    elif what and not (who or person):
        errors["new_who"] = "Say who will do it: a colleague, or someone named here (e.g. Mum, the pupil)."
    if len(what) > 500 or len(who) > 120:
        errors["new_what"] = "Keep it short: up to 500 characters (and a name up to 120)."
    if errors:
        raise ValidationFailed(errors)

    async def write() -> dict:
        await Case.update({Case.strategies: strategies, Case.updated_at: clock.now()}).where(Case.id == case_id)
        if remove:
            await CaseAction.delete().where((CaseAction.case == case_id) & CaseAction.id.is_in(sorted(remove)))
        added = None
        if what:
            row = CaseAction(case=case_id, person=person, who=who, what=what, created_at=clock.now())
            await row.save()
            added = row.id
        await _audit(actor, "case.plan_changed", case_id, {"added": added, "removed": sorted(remove)})
        return {"case": case_id}

    await _once(actor, key, digest, write)


async def colleagues(actor: Actor) -> list[dict]:
    """Active colleagues at the school who may be named on a plan (guests are there for a day, so never)."""
    rows = await Membership.select(Membership.person.id, Membership.person.display_name, Membership.role).where(
        ((Membership.school == actor.school_id) | ((Membership.trust == actor.trust_id) & Membership.school.is_null()))
        & Membership.person.disabled_at.is_null())
    people: dict[int, dict] = {}
    guests = {r["person.id"] for r in rows if r["role"] == "guest"}
    for r in rows:
        if r["person.id"] not in guests:
            people[r["person.id"]] = {"id": r["person.id"], "display_name": r["person.display_name"]}
    return sorted(people.values(), key=lambda p: p["display_name"].lower())


@notifications.releases_claim
async def add_target(actor: Actor, case_id: int, text: str, pupil_words: str, *, key: str | None = None,
                     digest: str = "") -> None:
    """One of the plan's (at most five) targets, with the pupil's own words where given."""
    case = await visible_case(actor, case_id)
    _require_live(case)
    if await _replayed(actor, key, digest):
        return
    text, pupil_words = _text(text), _text(pupil_words)
    errors = {}
    if not text or len(text) > 500:
        errors["target_text"] = "Write the target in up to 500 characters."
    if len(pupil_words) > 500:
        errors["pupil_words"] = "The pupil's words fit in 500 characters."
    count = await CaseTarget.count().where(CaseTarget.case == case_id)
    if count >= MAX_TARGETS:
        errors["target_text"] = f"A plan has at most {MAX_TARGETS} targets: review the ones it has first."
    if errors:
        raise ValidationFailed(errors)

    async def write() -> dict:
        row = CaseTarget(case=case_id, position=count + 1, text=text, pupil_words=pupil_words, state="not_started",
                         created_at=clock.now())
        await row.save()
        await _audit(actor, "case.target_added", case_id, {"target": row.id})
        return {"target": row.id}

    await _once(actor, key, digest, write)


async def review_form(actor: Actor, case_id: int) -> dict:
    case = await visible_case(actor, case_id)
    targets = await CaseTarget.select().where(CaseTarget.case == case_id).order_by(CaseTarget.position)
    return {"case": case, "targets": targets}


@notifications.releases_claim
async def record_review(actor: Actor, case_id: int, form: dict[str, Any], *, key: str | None = None,
                        digest: str = "") -> int:
    """A review: each target's 0-10 rating and state, notes and the pupil's voice; the next review is set a
    cadence after it. Returns the review's id; the same submission key again returns the same review."""
    case = await visible_case(actor, case_id)
    if case["status"] != "open":
        raise IllegalMove("Reviews are recorded on open cases: take the case off hold first."
                          if case["status"] == "on_hold" else "This case is closed.")
    if stored := await _replayed(actor, key, digest):
        return stored["review"]
    targets = await CaseTarget.select().where(CaseTarget.case == case_id).order_by(CaseTarget.position)
    errors = {}
    held = parse_date(form.get("held_on"))
    if held is None or held > today() or held < case["started_on"]:
        errors["held_on"] = "Give the date of the review: on or after the case started, and no later than today."
    notes, voice = _text(form.get("notes")), _text(form.get("pupil_voice"))
    if len(notes) > TEXT_LIMIT:
        errors["notes"] = f"Notes fit in {TEXT_LIMIT} characters."
    if len(voice) > TEXT_LIMIT:
        errors["pupil_voice"] = f"The pupil's voice fits in {TEXT_LIMIT} characters."
    if not targets:
        errors["targets"] = "Add the plan's targets before reviewing them."
    scored = []
    for t in targets:
        rating = _whole(form.get(f"rating_{t['id']}"))
        state = _text(form.get(f"state_{t['id']}"))
        if rating is None or not 0 <= rating <= 10:
            errors[f"rating_{t['id']}"] = "Rate this target from 0 to 10."
        if state not in TARGET_STATES:
            errors[f"state_{t['id']}"] = "Choose where this target stands."
        scored.append((t["id"], rating, state))
    if errors:
        raise ValidationFailed(errors)
    next_on = max(held + dt.timedelta(weeks=case["review_weeks"]), today() + dt.timedelta(days=1))

    async def write() -> dict:
        review = CaseReview(case=case_id, held_on=held, notes=notes, pupil_voice=voice, by=actor.person_id,
                            created_at=clock.now())
        await review.save()
        await TargetRating.insert(*[TargetRating(review=review.id, target=t, rating=r, state=s) for t, r, s in scored])
        for t, _, s in scored:
            await CaseTarget.update({CaseTarget.state: s}).where(CaseTarget.id == t)
        await Case.update({Case.next_review_on: next_on, Case.updated_at: clock.now()}).where(Case.id == case_id)
        await _audit(actor, "case.reviewed", case_id, {"review": review.id, "next_review_on": next_on.isoformat()})
        return {"review": review.id}

    return (await _once(actor, key, digest, write))["review"]
