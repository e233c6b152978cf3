"""Interventions: programmes (1:1 or group) with their pupils, a session register, measures at baseline, exit and
follow-up with one instrument, and the impact figures per programme and per term.

Who: pastoral staff, the pastoral lead and the DSL see and run every programme of the school; a head of year the
programmes with pupils of their years (or that they run or set up), and of those only their years' pupils, in the
register and in the figures. Everyone else, and every other school: "not found".

Licensed questionnaires (SDQ, SWEMWBS and the like) are entered as totals only: an instrument is a name, a range,
a direction and a threshold that the school types. No item text is stored or shipped.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import statistics
from typing import Any, Awaitable, Callable
from zoneinfo import ZoneInfo

from app import clock
from app.clock import parse_date
from app.db import atomic, parse_id
from app.domain.audit import service as audit
from app.domain.casework.service import colleagues, pupil_name
from app.domain.interventions.tables import (Attendance, Instrument, Measure, Participant, Programme,
                                             ProgrammeSession)
from app.domain.notifications import service as notifications
from app.domain.pupils.tables import Pupil
from app.domain.schools.service import Actor, hoy_years
from app.errors import CorridorError, NotFound, ValidationFailed

LONDON = ZoneInfo("Europe/London")
WORKERS = ("pastoral", "pastoral_lead", "head_of_year", "dsl")
SEES_ALL = ("pastoral", "pastoral_lead", "dsl")
KINDS = {"one_to_one": "1:1", "group": "Group"}
INSTRUMENT_KINDS = {"goals": "Goal-based ratings (built in)", "scale": "The school's own scale",
                    "licensed": "Licensed questionnaire (totals only)"}
MARKS = {"attended": "Attended", "absent": "Absent", "excused": "Excused"}
STAGES = {"baseline": "Baseline", "exit": "Exit", "follow_up": "Follow-up"}
ATTENDANCE_FLAG = 0.8  # below 80% of the sessions held so far, a pupil is flagged
FOLLOW_UP = (dt.timedelta(weeks=6), dt.timedelta(weeks=12))
MAX_GOALS = 3
NOT_HERE = "There is nothing here, or you do not have access to it."
GOALS_NAME = "Goal-based ratings"


class IllegalMove(CorridorError):
    status_code = 409
    title = "That cannot be recorded on this programme"


def today() -> dt.date:
    return clock.now().astimezone(LONDON).date()


def can_work(actor: Actor) -> bool:
    return actor.school_id is not None and actor.has(*WORKERS)


def term_of(day: dt.date) -> str:
    """The school term a date falls in, as '2026-autumn' (autumn Sep-Dec, spring Jan-Mar, summer Apr-Aug)."""
    start = day.year if day.month >= 9 else day.year - 1
    season = "autumn" if day.month >= 9 else "spring" if day.month <= 3 else "summer"
    return f"{start}-{season}"


def term_label(term: str) -> str:
    start, season = term.split("-")
    return f"{season.capitalize()} term {start}-{(int(start) + 1) % 100:02d}"


def parse_term(raw: Any) -> str | None:
    text = str(raw or "").strip()
    parts = text.split("-")
    if len(parts) == 2 and parts[0].isascii() and parts[0].isdigit() and len(parts[0]) == 4 and \
            parts[1] in ("autumn", "spring", "summer"):
        return text
    return None


def _text(raw: Any) -> str:
    return str(raw or "").strip()


def _number(raw: Any) -> float | None:
    text = _text(raw)
    if not text or len(text) > 12 or not text.isascii():
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) < 1e7 else None  # not NaN or inf


def _whole(raw: Any) -> int | None:
    text = _text(raw)
    return int(text) if text.isascii() and text.isdigit() and len(text) < 4 else None


def _pence(raw: Any) -> int | None:
    text = _text(raw).lstrip("£").replace(",", "")
    value = _number(text)
    if value is None or value < 0 or ("." in text and len(text.split(".")[1]) > 2):
        return None
    return round(value * 100)


async def _audit(actor: Actor, action: str, programme_id: int, detail: dict | None = None) -> None:
    # No pupil name in the audit log: admins read it, and they do not see interventions.
    await audit.record(action, actor_id=actor.person_id, actor_label=actor.label, school_id=actor.school_id,
                       subject_type="programme", subject_id=programme_id, origin=actor.origin, detail=detail)


async def _replayed(actor: Actor, key: str | None, digest: str) -> dict | None:
    if key and (stored := await notifications.replay(actor, key, digest)):
        return json.loads(stored["body"])
    return None


async def _once(actor: Actor, key: str | None, digest: str, write: Callable[[], Awaitable[dict]]) -> dict:
    async def writing() -> tuple[dict, list]:
        return await write(), []

    return await notifications.answer_once(actor, key, digest, writing)


# Instruments -----------------------------------------------------------------------------------------------

async def ensure_goals(school_id: int) -> None:
    """The built-in goal-based ratings: 0-10 on each of the pupil's own goals, the score their mean."""
    if not await Instrument.exists().where((Instrument.school == school_id) & (Instrument.kind == "goals")):
        await Instrument(school=school_id, kind="goals", name=GOALS_NAME, low=0, high=10, higher_is_better=True,
                         threshold=None, created_at=clock.now()).save()


async def instruments(actor: Actor, *, store: bool = True) -> list[dict]:
    """The school's instruments (the built-in goal-based ratings stored on first use). store=False, for checking a
    form or showing it again after a refused request, which must leave no row behind: the built-in one is shown
    without an id while it is not stored."""
    if not can_work(actor):
        raise NotFound(NOT_HERE)
    if store:
        await ensure_goals(actor.school_id)
    rows = await Instrument.select().where(Instrument.school == actor.school_id).order_by(Instrument.id)
    if not store and not any(r["kind"] == "goals" for r in rows):
        rows.insert(0, {"id": None, "kind": "goals", "name": GOALS_NAME, "low": 0, "high": 10,
                        "higher_is_better": True, "threshold": None, "licence_holder": ""})
    return rows


@notifications.releases_claim
async def add_instrument(actor: Actor, form: dict[str, str], *, key: str | None = None, digest: str = "") -> int:
    """The school's own scale, or a licensed questionnaire's total: name, range, direction, threshold."""
    if not can_work(actor):
        raise NotFound(NOT_HERE)
    if stored := await _replayed(actor, key, digest):
        return stored["instrument"]
    kind = _text(form.get("kind"))
    name = " ".join(_text(form.get("name")).split())
    low, high = _number(form.get("low")), _number(form.get("high"))
    threshold_raw = _text(form.get("threshold"))
    threshold = _number(threshold_raw)
    direction = _text(form.get("direction"))
    holder = " ".join(_text(form.get("licence_holder")).split())
    errors = {}
    if kind not in ("scale", "licensed"):
        errors["kind"] = "Choose the school's own scale or a licensed questionnaire."
    if not name or len(name) > 80:
        errors["name"] = "Give the instrument a name of up to 80 characters."
    elif any(i["name"].lower() == name.lower() for i in await instruments(actor, store=False)):
        errors["name"] = "There is already an instrument with that name."
    if low is None:
        errors["low"] = "Give the lowest possible score as a number."
    if high is None:
        errors["high"] = "Give the highest possible score as a number."
    elif low is not None and high <= low:
        errors["high"] = "The highest score must be above the lowest."
    if direction not in ("higher", "lower"):
        errors["direction"] = "Say whether a higher or a lower score is better."
    if threshold_raw and (threshold is None or low is None or high is None or not low <= threshold <= high):
        errors["threshold"] = "The threshold is a score within the range (or leave it blank)."
    if kind == "licensed" and not holder:
        errors["licence_holder"] = "Say who holds the licence (usually the school): only totals are entered."
    if len(holder) > 120:
        errors["licence_holder"] = "The licence holder fits in 120 characters."
    if errors:
        raise ValidationFailed(errors)

    async def write() -> dict:
        row = Instrument(school=actor.school_id, kind=kind, name=name, low=low, high=high,
                         higher_is_better=direction == "higher", threshold=threshold if threshold_raw else None,
                         licence_holder=holder if kind == "licensed" else "", created_at=clock.now())
        await row.save()
        await audit.record("instrument.created", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="instrument", subject_id=row.id,
                           subject_label=name, origin=actor.origin)
        return {"instrument": row.id}

    return (await _once(actor, key, digest, write))["instrument"]


# Who sees what -----------------------------------------------------------------------------------------------

async def _years(actor: Actor) -> set[str] | None:
    """None: every pupil of the school; else the years whose pupils this actor sees."""
    if actor.has(*SEES_ALL):
        return None
    years = await hoy_years(actor)
    return years


async def visible_programmes(actor: Actor) -> list[dict]:
    if not can_work(actor):
        raise NotFound(NOT_HERE)
    rows = await Programme.select(*PROGRAMME_COLUMNS).where(Programme.school == actor.school_id).order_by(
        Programme.starts_on, ascending=False).order_by(Programme.id, ascending=False)
    years = await _years(actor)
    if years is None:
        return [_programme(r) for r in rows]
    with_pupils = {r["programme"] for r in await Participant.select(Participant.programme).where(
        (Participant.programme.school == actor.school_id) & Participant.pupil.year_code.is_in(sorted(years) or ["-"]))}
    return [_programme(r) for r in rows if r["id"] in with_pupils
            or actor.person_id in (r["facilitator"], r["created_by"])]


PROGRAMME_COLUMNS = (Programme.id, Programme.name, Programme.kind, Programme.aims, Programme.facilitator,
                     Programme.planned_sessions, Programme.cost_pence, Programme.instrument, Programme.starts_on,
                     Programme.created_by, Programme.facilitator.display_name)


def _programme(r: dict) -> dict:
    return {**r, "kind_label": KINDS.get(r["kind"], r["kind"]), "facilitator_name": r["facilitator.display_name"],
            "term": term_of(r["starts_on"]), "term_label": term_label(term_of(r["starts_on"])),
            "cost": f"£{r['cost_pence'] / 100:,.2f}"}


async def visible_programme(actor: Actor, programme_id: int) -> dict:
    for p in await visible_programmes(actor):
        if p["id"] == programme_id:
            instrument = await Instrument.select().where(Instrument.id == p["instrument"]).first()
            return {**p, "instrument_row": instrument}
    raise NotFound(NOT_HERE)


async def pupil_choices(actor: Actor) -> list[dict]:
    """Pupils this actor may put on a programme: the school's, or a head of year's years."""
    years = await _years(actor)
    query = Pupil.select(Pupil.id, Pupil.legal_first_name, Pupil.legal_last_name, Pupil.preferred_first_name,
                         Pupil.preferred_last_name, Pupil.year_code).where(Pupil.school == actor.school_id)
    if years is not None:
        query = query.where(Pupil.year_code.is_in(sorted(years) or ["-"]))
    rows = await query.order_by(Pupil.year_code).order_by(Pupil.legal_last_name).order_by(Pupil.legal_first_name)
    return [{"id": r["id"], "name": pupil_name(r, ""), "year": r["year_code"]} for r in rows]


# Programmes ------------------------------------------------------------------------------------------------

@notifications.releases_claim
async def create_programme(actor: Actor, form: dict[str, str], *, key: str | None = None, digest: str = "") -> int:
    """A programme: name, 1:1 or group, aims, facilitator, planned sessions, cost and the instrument."""
    if not can_work(actor):
        raise NotFound(NOT_HERE)
    if stored := await _replayed(actor, key, digest):
        return stored["programme"]
    name = " ".join(_text(form.get("name")).split())
    kind, aims = _text(form.get("kind")), _text(form.get("aims"))
    facilitator = parse_id(form.get("facilitator_id"))
    planned = _whole(form.get("planned_sessions"))
    cost = _pence(form.get("cost"))
    instrument = parse_id(form.get("instrument_id"))
    starts = parse_date(form.get("starts_on"))
    errors = {}
    if not name or len(name) > 100:
        errors["name"] = "Give the programme a name of up to 100 characters."
    if kind not in KINDS:
        errors["kind"] = "Choose 1:1 or group."
    if not aims or len(aims) > 2000:
        errors["aims"] = "Say what the programme aims to change, in up to 2000 characters."
    if facilitator not in {p["id"] for p in await colleagues(actor)}:
        errors["facilitator_id"] = "Choose the facilitator from the list of staff."
    if planned is None or not 1 <= planned <= 100:
        errors["planned_sessions"] = "Planned sessions: a whole number from 1 to 100."
    if cost is None or cost > 10_000_000:
        errors["cost"] = "Give the cost in pounds, e.g. 450 or 450.50 (0 if none)."
    if instrument not in {i["id"] for i in await instruments(actor, store=False) if i["id"] is not None}:
        errors["instrument_id"] = "Choose how progress is measured."
    if starts is None:
        errors["starts_on"] = "Give the start date."
    if errors:
        raise ValidationFailed(errors)

    async def write() -> dict:
        row = Programme(school=actor.school_id, name=name, kind=kind, aims=aims, facilitator=facilitator,
                        planned_sessions=planned, cost_pence=cost, instrument=instrument, starts_on=starts,
                        created_by=actor.person_id, created_at=clock.now())
        await row.save()
        await _audit(actor, "programme.created", row.id, {"kind": kind, "facilitator": facilitator})
        return {"programme": row.id}

    return (await _once(actor, key, digest, write))["programme"]


@notifications.releases_claim
async def add_pupil(actor: Actor, programme_id: int, form: dict[str, str], *, key: str | None = None,
                    digest: str = "") -> None:
    """Put a pupil on a programme, with their own goals (one a line, at most three) for goal-based ratings."""
    programme = await visible_programme(actor, programme_id)
    if await _replayed(actor, key, digest):
        return
    pupil = parse_id(form.get("pupil_id"))
    goals = [g.strip() for g in _text(form.get("goals")).splitlines() if g.strip()]
    errors = {}
    if pupil not in {p["id"] for p in await pupil_choices(actor)}:
        errors["pupil_id"] = "Choose a pupil from the list."
    elif await Participant.exists().where((Participant.programme == programme_id) & (Participant.pupil == pupil)):
        errors["pupil_id"] = "This pupil is already on the programme."
    if programme["kind"] == "one_to_one" and await Participant.exists().where(Participant.programme == programme_id):
        errors["pupil_id"] = "A 1:1 programme has one pupil: set up another for the next pupil."
    if len(goals) > MAX_GOALS or any(len(g) > 300 for g in goals):
        errors["goals"] = f"Up to {MAX_GOALS} goals, one a line, each up to 300 characters."
    elif programme["instrument_row"]["kind"] == "goals" and not goals:
        errors["goals"] = "This programme measures the pupil's own goals: write one to three, one a line."
    if errors:
        raise ValidationFailed(errors)

    async def write() -> dict:
        # Two colleagues adding the same pupil at once (different forms): the pupil is on the programme once.
        added = await Participant.insert(Participant(programme=programme_id, pupil=pupil, goals="\n".join(goals),
                                                     added_at=clock.now())).on_conflict(action="DO NOTHING").returning(
            Participant.id)
        if not added:
            raise ValidationFailed({"pupil_id": "This pupil is already on the programme."})
        await _audit(actor, "programme.pupil_added", programme_id, {"pupil": pupil, "participant": added[0]["id"]})
        return {"participant": added[0]["id"]}

    await _once(actor, key, digest, write)


async def _participants(actor: Actor, programme_id: int) -> list[dict]:
    years = await _years(actor)
    rows = await Participant.select(
        Participant.id, Participant.pupil, Participant.goals, Participant.pupil.legal_first_name,
        Participant.pupil.legal_last_name, Participant.pupil.preferred_first_name,
        Participant.pupil.preferred_last_name, Participant.pupil.year_code).where(
        Participant.programme == programme_id).order_by(Participant.id)
    out = []
    for r in rows:
        if years is None or r["pupil.year_code"] in years:
            out.append({"id": r["id"], "pupil": r["pupil"], "name": pupil_name(r), "year": r["pupil.year_code"],
                        "goals": [g for g in r["goals"].splitlines() if g]})
    return out


async def _sessions(programme_id: int) -> list[dict]:
    return await ProgrammeSession.select(ProgrammeSession.id, ProgrammeSession.held_on, ProgrammeSession.notes,
                                         ProgrammeSession.by.display_name).where(
        ProgrammeSession.programme == programme_id).order_by(ProgrammeSession.held_on)


def follow_up_state(exit_on: dt.date | None, has_follow_up: bool, on: dt.date) -> str:
    """Where a pupil's follow-up stands: 6-12 weeks after the exit measure."""
    if exit_on is None:
        return ""
    if has_follow_up:
        return "done"
    if on < exit_on + FOLLOW_UP[0]:
        return "not_yet"
    return "due" if on <= exit_on + FOLLOW_UP[1] else "missed"


async def programme_page(actor: Actor, programme_id: int) -> dict:
    """A programme with its pupils (attendance so far, the 80% flag, measures, follow-up) and its sessions."""
    programme = await visible_programme(actor, programme_id)
    pupils = await _participants(actor, programme_id)
    sessions = await _sessions(programme_id)
    ids = [p["id"] for p in pupils]
    marks = await Attendance.select(Attendance.participant, Attendance.mark, Attendance.session).where(
        Attendance.participant.is_in(ids)) if ids else []
    measures = await Measure.select().where(Measure.participant.is_in(ids)) if ids else []
    on = today()
    for p in pupils:
        mine = [m for m in marks if m["participant"] == p["id"]]
        p["attended"] = sum(1 for m in mine if m["mark"] == "attended")
        p["held"] = len(sessions)
        p["rate"] = p["attended"] / p["held"] if p["held"] else None
        p["flagged"] = p["rate"] is not None and p["rate"] < ATTENDANCE_FLAG
        p["measures"] = {m["stage"]: m for m in measures if m["participant"] == p["id"]}
        exit_row = p["measures"].get("exit")
        p["follow_up"] = follow_up_state(exit_row["taken_on"] if exit_row else None, "follow_up" in p["measures"], on)
        if exit_row:
            p["follow_up_from"] = exit_row["taken_on"] + FOLLOW_UP[0]
            p["follow_up_until"] = exit_row["taken_on"] + FOLLOW_UP[1]
    async with atomic():
        await _audit(actor, "programme.viewed", programme_id)
    return {"programme": programme, "pupils": pupils, "sessions": sessions}


# The register ------------------------------------------------------------------------------------------------

async def register_form(actor: Actor, programme_id: int) -> dict:
    programme = await visible_programme(actor, programme_id)
    return {"programme": programme, "pupils": await _participants(actor, programme_id)}


@notifications.releases_claim
async def take_register(actor: Actor, programme_id: int, form: dict[str, str], *, key: str | None = None,
                        digest: str = "") -> int:
    """A session's register: each pupil attended, absent or excused, with a note; the session's notes. A second
    register for the same day fills in the same session (a head of year marks their years' pupils)."""
    programme = await visible_programme(actor, programme_id)
    if stored := await _replayed(actor, key, digest):
        return stored["session"]
    pupils = await _participants(actor, programme_id)
    held = parse_date(form.get("held_on"))
    notes = _text(form.get("notes"))
    errors = {}
    if held is None or held > today() or held < programme["starts_on"]:
        errors["held_on"] = "Give the session's date: on or after the programme started, and no later than today."
    if len(notes) > 2000:
        errors["notes"] = "Session notes fit in 2000 characters."
    if not pupils:
        errors["pupils"] = "Put pupils on the programme before taking a register."
    marks = []
    for p in pupils:
        mark, note = _text(form.get(f"mark_{p['id']}")), _text(form.get(f"note_{p['id']}"))
        if mark not in MARKS:
            errors[f"mark_{p['id']}"] = "Mark this pupil attended, absent or excused."
        if len(note) > 500:
            errors[f"note_{p['id']}"] = "A note fits in 500 characters."
        marks.append((p["id"], mark, note))
    if held is not None and "held_on" not in errors:
        baselines = await Measure.select(Measure.taken_on).where(
            Measure.participant.is_in([p["id"] for p in pupils] or [0]) & (Measure.stage == "exit"))
        if any(b["taken_on"] < held for b in baselines):
            errors["held_on"] = "A pupil's exit measure is dated before this session: sessions come before the exit."
    if errors:
        raise ValidationFailed(errors)

    async def write() -> dict:
        # One session a day: two registers for the same day at once (different forms) fill in the same one.
        await ProgrammeSession.insert(ProgrammeSession(programme=programme_id, held_on=held, notes=notes,
                                                       by=actor.person_id, created_at=clock.now())).on_conflict(
            action="DO NOTHING")
        session_id = (await ProgrammeSession.select(ProgrammeSession.id).where(
            (ProgrammeSession.programme == programme_id) & (ProgrammeSession.held_on == held)).first())["id"]
        if notes:
            await ProgrammeSession.update({ProgrammeSession.notes: notes}).where(ProgrammeSession.id == session_id)
        await Attendance.delete().where((Attendance.session == session_id)
                                        & Attendance.participant.is_in([p for p, _, _ in marks]))
        await Attendance.insert(*[Attendance(session=session_id, participant=p, mark=m, note=n)
                                  for p, m, n in marks]).on_conflict(action="DO NOTHING")
        await _audit(actor, "programme.register_taken", programme_id,
                     {"session": session_id, "held_on": held.isoformat(),
                      "attended": sum(1 for _, m, _ in marks if m == "attended"), "marked": len(marks)})
        return {"session": session_id}

    return (await _once(actor, key, digest, write))["session"]


# Measures ----------------------------------------------------------------------------------------------------

async def measure_form(actor: Actor, programme_id: int, participant_id: int) -> dict:
    programme = await visible_programme(actor, programme_id)
    pupil = next((p for p in await _participants(actor, programme_id) if p["id"] == participant_id), None)
    if pupil is None:
        raise NotFound(NOT_HERE)
    taken = {m["stage"]: m for m in await Measure.select().where(Measure.participant == participant_id)}
    stage = next((s for s in STAGES if s not in taken), "")
    return {"programme": programme, "pupil": pupil, "taken": taken, "stage": stage}


@notifications.releases_claim
async def record_measure(actor: Actor, programme_id: int, participant_id: int, form: dict[str, str], *,
                         key: str | None = None, digest: str = "") -> None:
    """A baseline (on or before the first session), an exit (after a baseline, on or after the last session)
    or a follow-up (6 to 12 weeks after the exit), with the programme's instrument."""
    page = await measure_form(actor, programme_id, participant_id)
    if await _replayed(actor, key, digest):
        return
    programme, pupil, taken = page["programme"], page["pupil"], page["taken"]
    instrument = programme["instrument_row"]
    stage = _text(form.get("stage"))
    on = parse_date(form.get("taken_on"))
    rater = " ".join(_text(form.get("rater")).split())
    errors: dict[str, str] = {}
    if stage not in STAGES:
        errors["stage"] = "Choose baseline, exit or follow-up."
    elif stage in taken:
        errors["stage"] = f"The {STAGES[stage].lower()} measure is already recorded for this pupil."
    elif stage == "exit" and "baseline" not in taken:
        errors["stage"] = "Record the baseline first: the exit measure is compared with it."
    elif stage == "follow_up" and "exit" not in taken:
        errors["stage"] = "Record the exit measure first: the follow-up comes 6 to 12 weeks after it."
    sessions = [s["held_on"] for s in await _sessions(programme_id)]
    if on is None or on > today():
        errors["taken_on"] = "Give the date it was taken, no later than today."
    elif stage == "baseline" and sessions and on > sessions[0]:
        errors["taken_on"] = f"A baseline is taken before the first session ({sessions[0]:%-d %b %Y})."
    elif stage == "exit" and sessions and on < sessions[-1]:
        errors["taken_on"] = f"An exit measure is taken after the last session ({sessions[-1]:%-d %b %Y})."
    elif stage == "exit" and "baseline" in taken and on < taken["baseline"]["taken_on"]:
        errors["taken_on"] = "An exit measure comes after the baseline."
    elif stage == "follow_up" and "exit" in taken:
        start, end = (taken["exit"]["taken_on"] + w for w in FOLLOW_UP)
        if not start <= on <= end:
            errors["taken_on"] = f"A follow-up is taken 6 to 12 weeks after the exit: {start:%-d %b} to {end:%-d %b %Y}."
    if len(rater) > 120:
        errors["rater"] = "The rater fits in 120 characters."
    elif stage in ("exit", "follow_up") and "baseline" in taken and rater.lower() != taken["baseline"]["rater"].lower():
        errors["rater"] = f"Use the same rater as the baseline ({taken['baseline']['rater'] or 'none named'})."
    ratings: list[float] = []
    if instrument["kind"] == "goals":
        for i, _ in enumerate(pupil["goals"], start=1):
            value = _whole(form.get(f"goal_{i}"))
            if value is None or not 0 <= value <= 10:
                errors[f"goal_{i}"] = "Rate this goal from 0 to 10."
            else:
                ratings.append(value)
        if not pupil["goals"]:
            errors["stage"] = "This pupil has no goals to rate."
        score = statistics.fmean(ratings) if ratings else None
    else:
        score = _number(form.get("score"))
        if score is None or not instrument["low"] <= score <= instrument["high"]:
            errors["score"] = f"Give the total score, from {instrument['low']:g} to {instrument['high']:g}."
    if errors:
        raise ValidationFailed(errors)

    async def write() -> dict:
        # The same measure sent from two forms at once: the first is kept, the second told it is there.
        added = await Measure.insert(Measure(participant=participant_id, stage=stage, taken_on=on, score=score,
                                             ratings=",".join(f"{r:g}" for r in ratings), rater=rater,
                                             by=actor.person_id, created_at=clock.now())).on_conflict(
            action="DO NOTHING").returning(Measure.id)
        if not added:
            raise ValidationFailed({"stage": f"The {STAGES[stage].lower()} measure is already recorded for this pupil."})
        await _audit(actor, "programme.measured", programme_id, {"participant": participant_id, "stage": stage})
        return {"measure": added[0]["id"]}

    await _once(actor, key, digest, write)


# Impact ------------------------------------------------------------------------------------------------------

def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def impact(programme: dict, pupils: list[dict]) -> dict:
    """The figures for one programme over the pupils given (each with attended, held and measures)."""
    instrument = programme["instrument_row"]
    sign = 1 if instrument["higher_is_better"] else -1
    threshold = instrument["threshold"]

    def right_side(score: float) -> bool:
        return score >= threshold if instrument["higher_is_better"] else score <= threshold

    paired = [p for p in pupils if "baseline" in p["measures"] and "exit" in p["measures"]]
    changes = [sign * (p["measures"]["exit"]["score"] - p["measures"]["baseline"]["score"]) for p in paired]
    below = [p for p in paired if threshold is not None and not right_side(p["measures"]["baseline"]["score"])]
    crossed = [p for p in below if right_side(p["measures"]["exit"]["score"])]
    n = len(pupils)
    return {
        "pupils": n,
        "with_exit": sum(1 for p in pupils if "exit" in p["measures"]),
        "attended_80": sum(1 for p in pupils if p["rate"] is not None and p["rate"] >= ATTENDANCE_FLAG),
        "completion_exit": _share(sum(1 for p in pupils if "exit" in p["measures"]), n),
        "completion_attended": _share(sum(1 for p in pupils if p["rate"] is not None
                                          and p["rate"] >= ATTENDANCE_FLAG), n),
        "paired": len(changes),
        "mean_change": statistics.fmean(changes) if changes else None,
        # The sample standard deviation (n - 1): these pupils stand for the ones the programme will take next.
        "sd_change": statistics.stdev(changes) if len(changes) >= 2 else None,
        "improved": sum(1 for c in changes if c > 0),
        "share_improved": _share(sum(1 for c in changes if c > 0), len(changes)),
        "below_threshold": len(below), "crossed": len(crossed),
        "share_crossed": _share(len(crossed), len(below)),
        "cost_per_pupil": programme["cost_pence"] / n / 100 if n else None,
        "threshold": threshold, "higher_is_better": instrument["higher_is_better"],
        "instrument": instrument["name"],
    }


async def programme_impact(actor: Actor, programme_id: int) -> dict:
    """The impact report of one programme (over the pupils the actor sees); the view is audited."""
    page = await programme_page(actor, programme_id)
    return {**page, "figures": impact(page["programme"], page["pupils"])}


async def term_impact(actor: Actor, term: str) -> list[dict]:
    """Each visible programme that started in the term, with its figures."""
    out = []
    for p in await visible_programmes(actor):
        if p["term"] == term:
            out.append(await programme_impact(actor, p["id"]))
    return out


def terms(programmes: list[dict]) -> list[tuple[str, str]]:
    seen = dict.fromkeys(p["term"] for p in programmes)
    return [(t, term_label(t)) for t in sorted(seen, reverse=True)]


CSV_HEADER = ["programme", "type", "term", "instrument", "better", "threshold", "pupils", "with_exit_measure",
              "share_with_exit_measure", "attended_80pc", "share_attended_80pc", "pupils_with_baseline_and_exit",
              "mean_change", "sd_change", "share_improved", "below_threshold_at_baseline", "crossed_threshold",
              "share_crossed_threshold", "cost", "cost_per_pupil"]


def _fmt(value: float | None, places: int = 2) -> str:
    return "" if value is None else f"{value:.{places}f}"


def _cell(text: str) -> str:
    # A spreadsheet must not run a typed name as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def impact_csv(reports: list[dict]) -> str:
    """One line a programme, figures only: no pupil's name (the file is for governors and funders)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for r in reports:
        p, f = r["programme"], r["figures"]
        writer.writerow([_cell(p["name"]), p["kind_label"], p["term_label"], _cell(f["instrument"]),
                         "higher" if f["higher_is_better"] else "lower", "" if f["threshold"] is None else f"{f['threshold']:g}",
                         f["pupils"], f["with_exit"], _fmt(f["completion_exit"], 3), f["attended_80"],
                         _fmt(f["completion_attended"], 3), f["paired"], _fmt(f["mean_change"]), _fmt(f["sd_change"]),
                         _fmt(f["share_improved"], 3), f["below_threshold"], f["crossed"],
                         _fmt(f["share_crossed"], 3), f"{p['cost_pence'] / 100:.2f}", _fmt(f["cost_per_pupil"])])
    return out.getvalue()
