"""Lates at the gate (issue 15, point 3): the duty member of staff finds a pupil (typed, or the card's barcode
read by the phone's camera) and logs a late arrival in one tap, with or without signal.

A gate late is an incident in the school's "Late to school" categories, which the incidents feature already had
(before registers close: L, after: U). It is not a second kind of record: the quick-entry form, the pupil's
timeline and chronology, the follow-up list, the outbox and the idempotency receipts all already know
incidents, so a gate late is on the pupil's chronology the moment it is saved. What the gate adds: the choice
between the two categories is made here, from the time of arrival and the school's register-close times (a
setting, audited), not by the person at the gate; the place is the Main gate; nobody is alerted per late (a
morning brings dozens: today's list is where they are read); and the same pupil arriving twice in one session is
one record. The register itself stays the MIS's: Corridor does not write marks (the import would overwrite
them); the office enters the code shown in today's list.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from app import clock
from app.db import parse_id
from app.domain.attendance.gate_tables import RegisterClose
from app.domain.audit import service as audit
from app.domain.incidents import service as incidents
from app.domain.incidents.service import LONDON, IncidentForm, parse_local_time
from app.domain.incidents.tables import Category, IncidentPupil, Location
from app.domain.notifications import service as notifications
from app.domain.pupils import service as pupils
from app.domain.pupils.tables import Pupil
from app.domain.schools.service import Actor
from app.errors import NotFound, ValidationFailed

HIDDEN = "There is nothing here, or you do not have access to it."
# Gate duty is staff's: not a guest (a supply pass is for on-call and incidents in class) and not the admin alone.
GATE_ROLES = ("staff", "responder", "pastoral", "pastoral_lead", "head_of_year", "dsl")
BEFORE_CLOSE, AFTER_CLOSE = (name for _, name, _, _ in incidents.LATE_TO_SCHOOL)
CODES = {BEFORE_CLOSE: "L", AFTER_CLOSE: "U"}
DEFAULT_CLOSE = {"am_close": "09:00", "pm_close": "13:45"}
# A register stays open 30 minutes at most (DfE guidance): an arrival before the afternoon register can have
# opened belongs to the morning session (a pupil coming in at lunch missed the morning register).
REGISTER_OPEN_AT_MOST = dt.timedelta(minutes=30)
REASON_LIMIT = 200
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
GATE_PLACE = "Main gate"


def can_gate(actor: Actor) -> bool:
    return actor.school_id is not None and actor.has(*GATE_ROLES)


# The school's register-close times -------------------------------------------------------------------------

async def close_times(school_id: int) -> dict[str, str]:
    row = await RegisterClose.select(RegisterClose.am_close, RegisterClose.pm_close).where(
        RegisterClose.school == school_id).first()
    return dict(row) if row else dict(DEFAULT_CLOSE)


def _hhmm(raw: Any) -> dt.time | None:
    match = _HHMM.match(str(raw or "").strip())
    return dt.time(int(match.group(1)), int(match.group(2))) if match else None


async def close_times_for_admin(actor: Actor) -> dict[str, str]:
    if actor.school_id is None or not actor.has("admin"):
        raise NotFound(HIDDEN)
    return await close_times(actor.school_id)


async def set_close_times(actor: Actor, form: dict[str, Any]) -> dict[str, str]:
    """The admin sets when registers close (UK time); audited with the old and new times."""
    from app.db import atomic

    old = await close_times_for_admin(actor)
    errors: dict[str, str] = {}
    am, pm = _hhmm(form.get("am_close")), _hhmm(form.get("pm_close"))
    if am is None:
        errors["am_close"] = "Enter the time the morning register closes, like 09:00."
    if pm is None:
        errors["pm_close"] = "Enter the time the afternoon register closes, like 13:45."
    if am and pm and not am < pm:
        errors["pm_close"] = "The afternoon register closes after the morning one."
    if errors:
        raise ValidationFailed(errors)
    new = {"am_close": am.strftime("%H:%M"), "pm_close": pm.strftime("%H:%M")}
    if new == old:
        return new
    async with atomic():
        updated = await RegisterClose.update({RegisterClose.am_close: new["am_close"],
                                              RegisterClose.pm_close: new["pm_close"],
                                              RegisterClose.updated_at: clock.now()}).where(
            RegisterClose.school == actor.school_id).returning(RegisterClose.id)
        if not updated:
            await RegisterClose.insert(RegisterClose(school=actor.school_id, updated_at=clock.now(), **new))
        await audit.record("register_close.changed", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="school", subject_id=actor.school_id,
                           origin=actor.origin, detail={"old": old, "new": new})
    return new


def _at(day: dt.date, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(day, _hhmm(hhmm) or dt.time(9), tzinfo=LONDON)


def session_of(arrived: dt.datetime, times: dict[str, str]) -> tuple[str, bool, dt.datetime, dt.datetime]:
    """(session, after close?, session start, session end) for an arrival: AM until the afternoon register can
    have opened, PM after; after close is later than the session's close minute (09:00:59 is not after 09:00)."""
    local = arrived.astimezone(LONDON)
    day = local.date()
    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=LONDON)
    pm_close = _at(day, times["pm_close"])
    pm_opens = pm_close - REGISTER_OPEN_AT_MOST
    if local < pm_opens:
        close, session, start, end = _at(day, times["am_close"]), "AM", midnight, pm_opens
    else:
        close, session, start, end = pm_close, "PM", pm_opens, midnight + dt.timedelta(days=1)
    after = local.replace(second=0, microsecond=0) > close
    return session, after, start, end


# Finding a pupil ------------------------------------------------------------------------------------------

async def find(actor: Actor, query: str) -> list:
    """Pupils matching what was typed or scanned: a name, a form, a UPN (pupils' own lookup), or the MIS id a
    pupil card's barcode may carry instead (an exact match, at this school only)."""
    if not can_gate(actor):
        raise NotFound(HIDDEN)
    query = (query or "").strip()[:100]
    found = await pupils.search(actor, query)
    if found or not query or " " in query:
        return found
    row = await Pupil.select(Pupil.id).where((Pupil.school == actor.school_id) & (Pupil.mis_id == query)
                                             & Pupil.left_on.is_null()).first()
    if not row:
        return []
    entry = (await pupils._school_index(actor.school_id)).by_id.get(row["id"])
    return [entry] if entry else []


async def entry_for(actor: Actor, pupil_id: Any) -> list:
    """The pupil a refused tap was for, as a search result, so the page can show their entry with its messages."""
    wanted = parse_id(pupil_id)
    if not can_gate(actor) or wanted is None:
        return []
    entry = (await pupils._school_index(actor.school_id)).by_id.get(wanted)
    return [entry] if entry and not entry.left else []


# Logging a late -------------------------------------------------------------------------------------------

async def _late_categories(school_id: int) -> dict[str, int]:
    rows = await Category.select(Category.id, Category.name).where(
        (Category.school == school_id) & Category.name.is_in(list(CODES)) & Category.retired_at.is_null())
    return {r["name"]: r["id"] for r in rows}


async def _existing(school_id: int, pupil_id: int, category_ids: list[int], start: dt.datetime,
                    end: dt.datetime) -> int | None:
    row = await IncidentPupil.select(IncidentPupil.incident).where(
        (IncidentPupil.pupil == pupil_id) & IncidentPupil.category.is_in(category_ids)
        & (IncidentPupil.incident.school == school_id) & IncidentPupil.incident.deleted_at.is_null()
        & (IncidentPupil.incident.occurred_at >= start) & (IncidentPupil.incident.occurred_at < end)).first()
    return row["incident"] if row else None


@notifications.releases_claim
async def log_late(actor: Actor, form: dict[str, Any], *, key: str | None = None, digest: str = "") -> dict:
    """Log one pupil's late arrival: {"incident", "code", "already"}. The same key again, or the same pupil again
    in the same session, answers with the record already made."""
    if not can_gate(actor):
        raise NotFound(HIDDEN)
    errors: dict[str, str] = {}
    pupil_id = parse_id(form.get("pupil_id"))
    pupil = None
    if pupil_id is not None:
        pupil = await Pupil.select(Pupil.id).where((Pupil.id == pupil_id) & (Pupil.school == actor.school_id)
                                                   & Pupil.left_on.is_null()).first()
    if not pupil:
        errors["pupil"] = "Find the pupil again: this one is not on roll at this school."
    raw_time = str(form.get("occurred_at") or "").strip()
    arrived = clock.now()
    if raw_time:
        try:
            arrived = parse_local_time(raw_time)
        except ValueError:
            errors["occurred_at"] = "Enter the time like 24/11/2026 08:52."
        else:
            if arrived > clock.now() + dt.timedelta(minutes=5):
                errors["occurred_at"] = "The time can't be in the future."
            elif arrived < clock.now() - dt.timedelta(days=60):
                errors["occurred_at"] = "That is more than 60 days ago. Check the date."
    reason = " ".join(str(form.get("reason") or "").split())
    if len(reason) > REASON_LIMIT:
        errors["reason"] = f"Keep the reason to {REASON_LIMIT} characters (it has {len(reason)})."
    cats = await _late_categories(actor.school_id)
    if len(cats) < 2 and not errors:
        errors["pupil"] = "This school's Late to school categories are retired: ask the admin to restore them."
    if errors:
        raise ValidationFailed(errors)

    times = await close_times(actor.school_id)
    session, after, start, end = session_of(arrived, times)
    category = cats[AFTER_CLOSE if after else BEFORE_CLOSE]
    code = "U" if after else "L"
    existing = await _existing(actor.school_id, pupil_id, list(cats.values()), start, end)
    if existing:
        # Two taps with two keys (two gates, or the page loaded twice): still one late for the session.
        if key and (stored := await notifications.replay(actor, key, digest)):
            return json.loads(stored["body"])

        async def nothing_new() -> tuple[dict, list]:
            return {"incident": existing, "code": code, "already": True}, []

        return await notifications.answer_once(actor, key, digest, nothing_new)

    place = await Location.select(Location.id).where(
        (Location.school == actor.school_id) & (Location.name == GATE_PLACE) & Location.retired_at.is_null()).first()
    incident_form = IncidentForm(pupil_ids=[str(pupil_id)], roles=["involved"], category_id=str(category),
                                 location_id=str(place["id"]) if place else "",
                                 occurred_at=arrived.astimezone(LONDON).strftime("%Y-%m-%dT%H:%M"), note=reason)
    incident_id = await incidents.record_incident(actor, incident_form, key=key, digest=digest, route=False)
    return {"incident": incident_id, "code": code, "already": False}


async def todays_lates(actor: Actor) -> dict[str, Any]:
    """Today's lates at this school, latest first (every gate's, so two members of staff see one list)."""
    if not can_gate(actor):
        raise NotFound(HIDDEN)
    cats = await _late_categories(actor.school_id)
    today = clock.now().astimezone(LONDON).date()
    start = dt.datetime.combine(today, dt.time(0), tzinfo=LONDON)
    rows = await IncidentPupil.select(
        IncidentPupil.incident, IncidentPupil.category, IncidentPupil.pupil.id,
        IncidentPupil.pupil.preferred_first_name, IncidentPupil.pupil.legal_first_name,
        IncidentPupil.pupil.legal_last_name, IncidentPupil.pupil.preferred_last_name,
        IncidentPupil.pupil.tutor_group.name, IncidentPupil.incident.occurred_at, IncidentPupil.incident.note,
        IncidentPupil.incident.recorded_by.display_name,
    ).where(IncidentPupil.category.is_in(list(cats.values()) or [0]) & (IncidentPupil.incident.school == actor.school_id)
            & IncidentPupil.incident.deleted_at.is_null() & (IncidentPupil.incident.occurred_at >= start)
            ).order_by(IncidentPupil.incident.occurred_at, ascending=False)
    code_of = {cid: CODES[name] for name, cid in cats.items()}
    lates = [{
        "incident": r["incident"], "pupil": r["pupil.id"],
        "name": f"{r['pupil.preferred_first_name'] or r['pupil.legal_first_name']} "
                f"{r['pupil.preferred_last_name'] or r['pupil.legal_last_name']}",
        "form": r["pupil.tutor_group.name"] or "", "code": code_of.get(r["category"], ""),
        "at": _local(r["incident.occurred_at"]).strftime("%H:%M"), "reason": r["incident.note"],
        "by": r["incident.recorded_by.display_name"] or "",
    } for r in rows]
    return {"lates": lates, "times": await close_times(actor.school_id), "today": today}


def _local(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(LONDON)
