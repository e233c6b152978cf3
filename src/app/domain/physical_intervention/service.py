"""Physical intervention records (issue 16, points 4 and 5; DfE "Use of reasonable force in schools").

Who sees them: the DSL team, the pastoral leads and the school's senior leaders. Corridor has no SLT role: the
senior leaders are the headteacher and the SLT the school names on the home visits ladder page (HomeVisitSettings),
so a school names its SLT once. Everyone else, admins included, finds nothing ("not found"), and another school's
records are not found either. Every view (a record, the list, the report, the CSV) is audited.

A record is started in one tap from an incident or a resolved on-call request (pupils, time and place copied),
must be completed within the school's time (default 24 hours from the intervention; the owner is reminded once
when it is not), and is signed off by a senior leader who was neither its owner nor one of the staff involved:
the named SLT and headteacher, or, when the school names none, the DSL team and the pastoral leads.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

from app import clock
from app.clock import parse_date
from app.db import atomic, parse_id
from app.domain.audit import service as audit
from app.domain.home_visits import service as home_visits
from app.domain.incidents.tables import Incident, IncidentPupil, Location
from app.domain.notifications import service as notifications
from app.domain.oncall.tables import OnCallPupil, OnCallRequest
from app.domain.physical_intervention.tables import (PhysicalIntervention, PhysicalInterventionPupil,
                                                     PhysicalInterventionSettings, PhysicalInterventionStaff,
                                                     RestraintTechnique)
from app.domain.pupils.tables import Pupil
from app.domain.schools.service import Actor
from app.domain.schools.tables import Membership, Person
from app.errors import CorridorError, NotFound, ValidationFailed

log = logging.getLogger("corridor")
LONDON = ZoneInfo("Europe/London")
NOT_HERE = "There is nothing here, or you do not have access to it."
SEES = ("dsl", "pastoral_lead")
SETS = ("admin", "dsl")
DEFAULT_HOURS = 24
# Generic names used across UK de-escalation and positive-handling training; no programme's own content.
DEFAULT_TECHNIQUES = ["Guide (open hand)", "Escort (single elbow)", "Escort (double elbow)", "Seated hold",
                      "Standing hold", "Wrap / friendly hold", "Release from a grab"]
PARENT_HOW = {"phone": "Phone call", "in_person": "In person", "email": "Email", "letter": "Letter",
              "message": "Text message"}
TEXT_LIMIT = 4000
REPEAT_COUNT = 3  # the same pupil this many times ...
REPEAT_WINDOW = dt.timedelta(days=28)  # ... within four weeks is flagged on the report
REMIND_EVERY = 60.0  # seconds between two reminder checks of one process (the check itself is idempotent)
TEXT_FIELDS = ("witnesses", "lead_up", "deescalation", "injuries", "first_aid", "debrief_pupil", "debrief_staff",
               "parent_not_informed_why")
REQUIRED = {"lead_up": "Say what led to the intervention.",
            "deescalation": "Say what de-escalation was tried first.",
            "injuries": "Say whether anyone was injured (write \"None\" if no one was).",
            "first_aid": "Say what first aid was given (write \"None needed\" if none).",
            "debrief_pupil": "Record the debrief with the pupil (or when it will happen and why not yet).",
            "debrief_staff": "Record the debrief with the staff involved."}


class Locked(CorridorError):
    status_code = 409
    title = "This record has been signed off and can no longer be changed"


def local(at: dt.datetime | None) -> dt.datetime | None:
    return at.astimezone(LONDON) if at else None


def _text(raw: Any) -> str:
    return str(raw or "").strip()


def _list(raw: Any) -> list[str]:
    if raw is None:
        return []
    return [str(v) for v in raw] if isinstance(raw, list) else [str(raw)]


def pupil_name(row: dict, prefix: str = "pupil.") -> str:
    first = row[prefix + "preferred_first_name"] or row[prefix + "legal_first_name"]
    last = row[prefix + "preferred_last_name"] or row[prefix + "legal_last_name"]
    return f"{first} {last}"


# Who ----------------------------------------------------------------------------------------------------------

async def senior_leaders(school_id: int) -> set[int]:
    """The headteacher and SLT the school named on the home visits ladder page (empty when none is named)."""
    conf = await home_visits.ladder(school_id)
    people = {int(p) for p in (conf.get("slt") or "").split(",") if p.strip().isdigit()}
    if conf.get("headteacher"):
        people.add(int(conf["headteacher"]))
    return people


async def may_see(actor: Actor) -> bool:
    if actor.school_id is None:
        return False
    return actor.has(*SEES) or actor.person_id in await senior_leaders(actor.school_id)


async def _require(actor: Actor) -> None:
    if not await may_see(actor):
        raise NotFound(NOT_HERE)


async def _may_sign_off(actor: Actor, record: dict, staff_ids: set[int]) -> bool:
    """A senior leader independent of the intervention: not its owner, not one of the staff involved."""
    if actor.person_id == record["owner"] or actor.person_id in staff_ids:
        return False
    named = await senior_leaders(actor.school_id)
    return actor.person_id in named if named else actor.has(*SEES)


async def _audit(actor: Actor, action: str, record_id: int | None, detail: dict | None = None) -> None:
    # No pupil name in the audit log: admins read it, and they do not see these records.
    await audit.record(action, actor_id=actor.person_id, actor_label=actor.label, school_id=actor.school_id,
                       subject_type="physical_intervention", subject_id=record_id, origin=actor.origin,
                       detail=detail)


# Settings and techniques ------------------------------------------------------------------------------------

async def hours_allowed(school_id: int) -> int:
    row = await PhysicalInterventionSettings.select(PhysicalInterventionSettings.complete_within_hours).where(
        PhysicalInterventionSettings.school == school_id).first()
    return row["complete_within_hours"] if row else DEFAULT_HOURS


async def techniques(school_id: int) -> list[dict]:
    """The school's techniques in use (the defaults are stored the first time a school's list is read)."""
    if not await RestraintTechnique.exists().where(RestraintTechnique.school == school_id):
        await RestraintTechnique.insert(*[RestraintTechnique(school=school_id, name=n, position=i)
                                          for i, n in enumerate(DEFAULT_TECHNIQUES)])
    return await RestraintTechnique.select().where(
        (RestraintTechnique.school == school_id) & RestraintTechnique.retired_at.is_null()).order_by(
        RestraintTechnique.position).order_by(RestraintTechnique.id)


def can_set(actor: Actor) -> bool:
    return actor.school_id is not None and actor.has(*SETS)


async def settings_page(actor: Actor) -> dict:
    if not can_set(actor):
        raise NotFound(NOT_HERE)
    names = [t["name"] for t in await techniques(actor.school_id)]
    return {"hours": str(await hours_allowed(actor.school_id)), "technique_list": "\n".join(names)}


async def update_settings(actor: Actor, form: dict[str, Any]) -> None:
    """An admin or the DSL sets the techniques staff are trained in (one a line) and the hours allowed."""
    if not can_set(actor):
        raise NotFound(NOT_HERE)
    errors = {}
    hours_text = _text(form.get("hours"))
    hours = int(hours_text) if hours_text.isascii() and hours_text.isdigit() and len(hours_text) < 4 else 0
    if not 1 <= hours <= 168:
        errors["hours"] = "Enter a number of hours from 1 to 168."
    names = list(dict.fromkeys(n.strip() for n in str(form.get("technique_list") or "").splitlines() if n.strip()))
    if not names or len(names) > 30 or any(len(n) > 80 for n in names):
        errors["technique_list"] = "List from 1 to 30 techniques, one a line, each up to 80 characters."
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    async with atomic():
        current = await techniques(actor.school_id)
        keep = {t["name"]: t for t in current}
        for t in current:
            if t["name"] not in names:
                await RestraintTechnique.update({RestraintTechnique.retired_at: now}).where(
                    RestraintTechnique.id == t["id"])
        for i, name in enumerate(names):
            if name in keep:
                await RestraintTechnique.update({RestraintTechnique.position: i}).where(
                    RestraintTechnique.id == keep[name]["id"])
            else:
                await RestraintTechnique.insert(RestraintTechnique(school=actor.school_id, name=name, position=i))
        before = await hours_allowed(actor.school_id)
        if await PhysicalInterventionSettings.exists().where(PhysicalInterventionSettings.school == actor.school_id):
            await PhysicalInterventionSettings.update({PhysicalInterventionSettings.complete_within_hours: hours}).where(
                PhysicalInterventionSettings.school == actor.school_id)
        else:
            await PhysicalInterventionSettings.insert(
                PhysicalInterventionSettings(school=actor.school_id, complete_within_hours=hours))
        await _audit(actor, "physical_intervention.settings_changed", None,
                     {"hours": hours, "was": before, "techniques": names})


# Starting a record ----------------------------------------------------------------------------------------------

async def _source(actor: Actor, incident_id: int | None, oncall_id: int | None) -> dict:
    """Pupils, time and place of the incident or resolved on-call request the record starts from."""
    if incident_id:
        row = await Incident.select(Incident.id, Incident.occurred_at, Incident.location).where(
            (Incident.id == incident_id) & (Incident.school == actor.school_id)
            & Incident.deleted_at.is_null()).first()
        if not row:
            raise NotFound(NOT_HERE)
        pupils = [r["pupil"] for r in await IncidentPupil.select(IncidentPupil.pupil).where(
            IncidentPupil.incident == incident_id).order_by(IncidentPupil.id)]
        return {"incident": row["id"], "oncall_request": None, "occurred_at": row["occurred_at"],
                "location": row["location"], "pupils": pupils, "staff": [actor.person_id]}
    if oncall_id:
        row = await OnCallRequest.select(OnCallRequest.id, OnCallRequest.on_scene_at, OnCallRequest.raised_at,
                                         OnCallRequest.location, OnCallRequest.responder, OnCallRequest.incident,
                                         OnCallRequest.state).where(
            (OnCallRequest.id == oncall_id) & (OnCallRequest.school == actor.school_id)).first()
        if not row or row["state"] != "resolved":
            raise NotFound(NOT_HERE)
        pupils = [r["pupil"] for r in await OnCallPupil.select(OnCallPupil.pupil).where(
            OnCallPupil.request == oncall_id).order_by(OnCallPupil.id)]
        staff = [p for p in dict.fromkeys([row["responder"], actor.person_id]) if p]
        return {"incident": row["incident"], "oncall_request": row["id"],
                "occurred_at": row["on_scene_at"] or row["raised_at"], "location": row["location"],
                "pupils": pupils, "staff": staff}
    raise NotFound(NOT_HERE)


async def start(actor: Actor, *, incident_id: int | None = None, oncall_id: int | None = None,
                key: str | None = None, digest: str = "") -> int:
    """Start a record from an incident or a resolved on-call request (one tap); the same submission key again
    returns the same record."""
    await _require(actor)
    if key and (stored := await notifications.replay(actor, key, digest)):
        return json.loads(stored["body"])["record"]
    src = await _source(actor, incident_id, oncall_id)
    if not src["pupils"]:
        raise ValidationFailed({"source": "Name the pupil on the incident or request first: a record is about a "
                                          "pupil."})
    hours = await hours_allowed(actor.school_id)

    async def writing() -> tuple[dict, list]:
        now = clock.now()
        record = PhysicalIntervention(
            school=actor.school_id, incident=src["incident"], oncall_request=src["oncall_request"],
            occurred_at=src["occurred_at"], location=src["location"], owner=actor.person_id,
            due_at=src["occurred_at"] + dt.timedelta(hours=hours), created_at=now, updated_at=now)
        await record.save()
        await PhysicalInterventionPupil.insert(*[PhysicalInterventionPupil(record=record.id, pupil=p)
                                                 for p in src["pupils"]])
        await PhysicalInterventionStaff.insert(*[PhysicalInterventionStaff(record=record.id, person=p)
                                                 for p in src["staff"]])
        await _audit(actor, "physical_intervention.started", record.id,
                     {"incident": src["incident"], "oncall_request": src["oncall_request"],
                      "pupils": src["pupils"], "due_at": record.due_at.isoformat()})
        return {"record": record.id}, []

    return (await notifications.answer_once(actor, key, digest, writing))["record"]


# Reading -------------------------------------------------------------------------------------------------------

async def _record(actor: Actor, record_id: int) -> dict:
    await _require(actor)
    row = await PhysicalIntervention.select(
        *PhysicalIntervention.all_columns(), PhysicalIntervention.location.name,
        PhysicalIntervention.owner.display_name, PhysicalIntervention.signed_off_by.display_name).where(
        (PhysicalIntervention.id == record_id) & (PhysicalIntervention.school == actor.school_id)).first()
    if not row:
        raise NotFound(NOT_HERE)
    return row


async def _pupils(record_ids: list[int]) -> dict[int, list[dict]]:
    if not record_ids:
        return {}
    rows = await PhysicalInterventionPupil.select(
        PhysicalInterventionPupil.record, PhysicalInterventionPupil.pupil, PhysicalInterventionPupil.pupil.year_code,
        PhysicalInterventionPupil.pupil.preferred_first_name, PhysicalInterventionPupil.pupil.legal_first_name,
        PhysicalInterventionPupil.pupil.preferred_last_name, PhysicalInterventionPupil.pupil.legal_last_name).where(
        PhysicalInterventionPupil.record.is_in(record_ids)).order_by(PhysicalInterventionPupil.id)
    out: dict[int, list[dict]] = {}
    for r in rows:
        out.setdefault(r["record"], []).append({"id": r["pupil"], "name": pupil_name(r),
                                                "year": r["pupil.year_code"]})
    return out


async def _staff(record_ids: list[int]) -> dict[int, list[dict]]:
    if not record_ids:
        return {}
    rows = await PhysicalInterventionStaff.select(
        PhysicalInterventionStaff.record, PhysicalInterventionStaff.person,
        PhysicalInterventionStaff.person.display_name).where(
        PhysicalInterventionStaff.record.is_in(record_ids)).order_by(PhysicalInterventionStaff.id)
    out: dict[int, list[dict]] = {}
    for r in rows:
        out.setdefault(r["record"], []).append({"id": r["person"], "name": r["person.display_name"]})
    return out


async def colleagues(school_id: int) -> list[dict]:
    """Staff who may be named as involved: the school's members, guests (cover staff) included."""
    rows = await Membership.select(Membership.person, Membership.person.display_name).where(
        (Membership.school == school_id) & Membership.person.disabled_at.is_null())
    people = {r["person"]: r["person.display_name"] for r in rows}
    return sorted(({"id": k, "name": v} for k, v in people.items()), key=lambda p: p["name"].lower())


def state_of(row: dict, now: dt.datetime) -> str:
    if row["signed_off_at"]:
        return "signed_off"
    if row["completed_at"]:
        return "awaiting_sign_off"
    return "overdue" if row["due_at"] <= now else "incomplete"


STATES = {"incomplete": "To complete", "overdue": "Overdue", "awaiting_sign_off": "Awaiting sign-off",
          "signed_off": "Signed off"}


def form_of(row: dict, pupils: list[dict], staff: list[dict]) -> dict[str, Any]:
    """The record as the form shows it (what was typed is shown instead after a refused save)."""
    at = local(row["occurred_at"])
    told = local(row["parent_informed_at"])
    form: dict[str, Any] = {k: row[k] or "" for k in TEXT_FIELDS}
    form.update({
        "occurred_date": at.date().isoformat(), "occurred_time": at.strftime("%H:%M"),
        "location_id": str(row["location"] or ""), "duration_minutes": "" if row["duration_minutes"] is None
        else str(row["duration_minutes"]), "parent_informed": row["parent_informed"],
        "parent_informed_date": told.date().isoformat() if told else "",
        "parent_informed_time": told.strftime("%H:%M") if told else "",
        "parent_informed_by": row["parent_informed_by"], "parent_informed_how": row["parent_informed_how"],
        "pupil_ids": [str(p["id"]) for p in pupils], "staff_ids": [str(s["id"]) for s in staff],
        "techniques": [t for t in row["techniques"].split("\n") if t]})
    return form


async def record_page(actor: Actor, record_id: int) -> dict:
    """A record with its pupils and staff, and what this person may do with it; the view is audited."""
    row = await _record(actor, record_id)
    pupils = (await _pupils([record_id])).get(record_id, [])
    staff = (await _staff([record_id])).get(record_id, [])
    await _audit(actor, "physical_intervention.viewed", record_id)
    now = clock.now()
    return {"record": row, "pupils": pupils, "staff": staff, "state": state_of(row, now),
            "stored_form": form_of(row, pupils, staff),
            "may_sign_off": bool(row["completed_at"]) and not row["signed_off_at"]
            and await _may_sign_off(actor, row, {s["id"] for s in staff}),
            "techniques": await techniques(actor.school_id),
            "locations": await Location.select(Location.id, Location.name).where(
                (Location.school == actor.school_id) & (Location.retired_at.is_null()
                                                        | (Location.id == (row["location"] or 0)))).order_by(
                Location.position),
            "colleagues": await colleagues(actor.school_id)}


# Saving and completing --------------------------------------------------------------------------------------------

def _when(day: Any, at: Any) -> dt.datetime | None:
    date = parse_date(_text(day))
    try:
        moment = dt.time.fromisoformat(_text(at)) if _text(at) and len(_text(at)) <= 8 else None
    except ValueError:
        moment = None
    if date is None or moment is None:
        return None
    return dt.datetime.combine(date, moment, LONDON).astimezone(dt.timezone.utc)


async def save(actor: Actor, record_id: int, form: dict[str, Any], *, complete: bool) -> bool:
    """Save what is written so far, or complete the record (every part then required). A completed record stays
    complete: saving it again checks every part. Returns whether the record is complete."""
    row = await _record(actor, record_id)
    if row["signed_off_at"]:
        raise Locked()
    complete = complete or bool(row["completed_at"])
    now = clock.now()
    errors: dict[str, str] = {}
    values: dict[Any, Any] = {}
    occurred = _when(form.get("occurred_date"), form.get("occurred_time"))
    if occurred is None or occurred > now + dt.timedelta(minutes=5):
        errors["occurred_at"] = "Give the date and time it happened (no later than now)."
    locations = {r["id"] for r in await Location.select(Location.id).where(Location.school == actor.school_id)}
    location = parse_id(form.get("location_id")) if _text(form.get("location_id")) else None
    if location is not None and location not in locations:
        errors["location_id"] = "Choose the place from the list."
    elif location is None and complete:
        errors["location_id"] = "Choose where it happened."
    current_pupils = {p["id"] for p in (await _pupils([record_id])).get(record_id, [])}
    pupil_ids = {parse_id(v) for v in _list(form.get("pupil_ids"))}
    if not pupil_ids or not pupil_ids <= current_pupils:
        errors["pupil_ids"] = "Keep at least one of the pupils ticked."
    people = {p["id"] for p in await colleagues(actor.school_id)}
    staff_ids = [parse_id(v) for v in _list(form.get("staff_ids"))]
    if any(p not in people for p in staff_ids):
        errors["staff_ids"] = "Choose staff of this school."
    elif complete and not staff_ids:
        errors["staff_ids"] = "Name the staff who held or guided the pupil."
    trained = {t["name"] for t in await techniques(actor.school_id)}
    chosen = list(dict.fromkeys(_list(form.get("techniques"))))
    kept = {t for t in row["techniques"].split("\n") if t}  # a technique since retired stays on its record
    if any(t not in trained and t not in kept for t in chosen):
        errors["techniques"] = "Choose the techniques from the school's list."
    elif complete and not chosen:
        errors["techniques"] = "Choose the hold or technique used."
    for name in TEXT_FIELDS:
        text = _text(form.get(name))
        if len(text) > TEXT_LIMIT:
            errors[name] = f"Keep this to {TEXT_LIMIT} characters."
        values[name] = text
    if complete:
        for name, message in REQUIRED.items():
            if not values[name] and name not in errors:
                errors[name] = message
    duration_text = _text(form.get("duration_minutes"))
    duration = int(duration_text) if duration_text.isascii() and duration_text.isdigit() and len(
        duration_text) < 4 else None
    if duration_text and (duration is None or not 0 <= duration <= 600):
        errors["duration_minutes"] = "Enter the duration in whole minutes, from 0 to 600."
    elif complete and duration is None:
        errors["duration_minutes"] = "Enter how long the intervention lasted, in minutes."
    informed = _text(form.get("parent_informed"))
    told_at = None
    how = _text(form.get("parent_informed_how"))
    by = _text(form.get("parent_informed_by"))
    if informed not in ("", "yes", "no"):
        errors["parent_informed"] = "Choose yes or no."
    elif informed == "yes":
        told_at = _when(form.get("parent_informed_date"), form.get("parent_informed_time"))
        if told_at is None or told_at > now + dt.timedelta(minutes=5):
            errors["parent_informed_at"] = "Give the date and time the parent was told (no later than now)."
        if not by or len(by) > 200:
            errors["parent_informed_by"] = "Say who told the parent (up to 200 characters)."
        if how not in PARENT_HOW:
            errors["parent_informed_how"] = "Choose how the parent was told."
    elif informed == "no":
        if complete and not values["parent_not_informed_why"]:
            errors["parent_not_informed_why"] = "Say why the parent has not been told."
    elif complete:
        errors["parent_informed"] = "Say whether the parent or carer has been told."
    if errors:
        raise ValidationFailed(errors)
    values.update({"location": location, "occurred_at": occurred, "techniques": "\n".join(chosen),
                   "duration_minutes": duration, "parent_informed": informed, "parent_informed_at": told_at,
                   "parent_informed_by": by if informed == "yes" else "",
                   "parent_informed_how": how if informed == "yes" else "",
                   "parent_not_informed_why": values["parent_not_informed_why"] if informed == "no" else "",
                   "updated_at": now})
    first_completion = complete and not row["completed_at"]
    if first_completion:
        values["completed_at"] = now
    async with atomic():
        # Written only while nobody has signed it off (two phones: a sign-off between reading and writing wins).
        done = await PhysicalIntervention.update(
            {getattr(PhysicalIntervention, k): v for k, v in values.items()}).where(
            (PhysicalIntervention.id == record_id) & PhysicalIntervention.signed_off_at.is_null()).returning(
            PhysicalIntervention.id)
        if not done:
            raise Locked()
        await PhysicalInterventionPupil.delete().where(
            (PhysicalInterventionPupil.record == record_id) & PhysicalInterventionPupil.pupil.not_in(list(pupil_ids)))
        await PhysicalInterventionStaff.delete().where(PhysicalInterventionStaff.record == record_id)
        if staff_ids:
            await PhysicalInterventionStaff.insert(*[PhysicalInterventionStaff(record=record_id, person=p)
                                                     for p in dict.fromkeys(staff_ids)])
        await _audit(actor, "physical_intervention.completed" if first_completion else "physical_intervention.saved",
                     record_id, {"fields": sorted(k for k in values if k != "updated_at"),
                                 "late": bool(first_completion and now > row["due_at"])})
    return complete


async def sign_off(actor: Actor, record_id: int, note: str) -> None:
    """A senior leader who was not involved reviews a completed record and signs it off (once)."""
    row = await _record(actor, record_id)
    staff = {s["id"] for s in (await _staff([record_id])).get(record_id, [])}
    if not await _may_sign_off(actor, row, staff):
        raise NotFound(NOT_HERE)
    note = _text(note)
    if len(note) > TEXT_LIMIT:
        raise ValidationFailed({"review_note": f"Keep this to {TEXT_LIMIT} characters."})
    if not row["completed_at"]:
        raise ValidationFailed({"review_note": "The record must be completed before it is signed off."})
    async with atomic():
        done = await PhysicalIntervention.update({
            PhysicalIntervention.signed_off_by: actor.person_id, PhysicalIntervention.signed_off_at: clock.now(),
            PhysicalIntervention.review_note: note}).where(
            (PhysicalIntervention.id == record_id) & PhysicalIntervention.signed_off_at.is_null()
            & PhysicalIntervention.completed_at.is_not_null()).returning(PhysicalIntervention.id)
        if done:
            await _audit(actor, "physical_intervention.signed_off", record_id)


# Lists ---------------------------------------------------------------------------------------------------------

async def _rows(school_id: int, start: dt.datetime | None = None, end: dt.datetime | None = None,
                limit: int = 2000) -> list[dict]:
    query = PhysicalIntervention.select(
        *PhysicalIntervention.all_columns(), PhysicalIntervention.location.name,
        PhysicalIntervention.owner.display_name).where(PhysicalIntervention.school == school_id)
    if start:
        query = query.where(PhysicalIntervention.occurred_at >= start)
    if end:
        query = query.where(PhysicalIntervention.occurred_at < end)
    rows = await query.order_by(PhysicalIntervention.occurred_at, ascending=False).limit(limit)
    pupils = await _pupils([r["id"] for r in rows])
    staff = await _staff([r["id"] for r in rows])
    now = clock.now()
    for r in rows:
        r["pupils"] = pupils.get(r["id"], [])
        r["staff"] = staff.get(r["id"], [])
        r["state"] = state_of(r, now)
    return rows


async def index(actor: Actor) -> dict:
    """The school's records, those needing something first; the view is audited."""
    await _require(actor)
    rows = await _rows(actor.school_id, limit=200)
    order = {"overdue": 0, "incomplete": 1, "awaiting_sign_off": 2, "signed_off": 3}
    rows.sort(key=lambda r: order[r["state"]])
    await _audit(actor, "physical_intervention.list_viewed", None, {"count": len(rows)})
    return {"rows": rows, "states": STATES}


async def may_record(actor: Actor) -> bool:
    """Whether to offer "Record physical intervention" on an incident or a resolved on-call request."""
    return await may_see(actor)


# The reminder ---------------------------------------------------------------------------------------------------

async def remind_due(now: dt.datetime | None = None) -> int:
    """Remind the owner of every record not completed by its deadline, once: every process may run this, and the
    conditional update lets exactly one of them claim each record. Returns how many were reminded."""
    now = now or clock.now()
    due = await PhysicalIntervention.select(PhysicalIntervention.id, PhysicalIntervention.school,
                                            PhysicalIntervention.owner).where(
        PhysicalIntervention.completed_at.is_null() & PhysicalIntervention.reminded_at.is_null()
        & (PhysicalIntervention.due_at <= now))
    count = 0
    for row in due:
        async with atomic():
            claimed = await PhysicalIntervention.update({PhysicalIntervention.reminded_at: now}).where(
                (PhysicalIntervention.id == row["id"]) & PhysicalIntervention.completed_at.is_null()
                & PhysicalIntervention.reminded_at.is_null()).returning(PhysicalIntervention.id)
            if not claimed:
                continue
            # No pupil's name: the alert's text is shown in lists and may be read over a shoulder.
            pending = await notifications.notify(
                {row["owner"]}, school_id=row["school"], kind="physical_intervention.reminder",
                text="A physical intervention record you started is past its deadline: complete it now.",
                link=f"/physical-interventions/{row['id']}")
            await audit.record("physical_intervention.reminded", school_id=row["school"],
                               subject_type="physical_intervention", subject_id=row["id"],
                               subject_label=f"Physical intervention {row['id']}", detail={"owner": row["owner"]})
        count += 1
        await notifications.deliver(pending)
    return count


_last_check = float("-inf")
_monotonic = time.monotonic


async def remind_if_due() -> None:
    """The periodic job's hook: a check at most every REMIND_EVERY seconds in this process; never raises."""
    global _last_check
    now = _monotonic()
    if now - _last_check < REMIND_EVERY:
        return
    _last_check = now
    try:
        await remind_due()
    except Exception:
        log.warning("physical intervention reminder check failed", exc_info=True)


# Oversight --------------------------------------------------------------------------------------------------------

def repeats(times: list[dt.datetime]) -> bool:
    """REPEAT_COUNT interventions within REPEAT_WINDOW (any window, not calendar weeks)."""
    times = sorted(times)
    return any(times[i + REPEAT_COUNT - 1] - times[i] < REPEAT_WINDOW for i in range(len(times) - REPEAT_COUNT + 1))


def report_window(typed: dict[str, Any]) -> tuple[dict[str, str], dict[str, str], dt.date, dt.date]:
    """The period asked for (default: the last 12 weeks up to today), with a message per bad field."""
    today = clock.now().astimezone(LONDON).date()
    errors: dict[str, str] = {}
    start_text, end_text = _text(typed.get("start")), _text(typed.get("end"))
    start = parse_date(start_text) if start_text else today - dt.timedelta(weeks=12)
    end = parse_date(end_text) if end_text else today
    if start is None:
        errors["start"] = "Give the first day as a date."
    if end is None:
        errors["end"] = "Give the last day as a date."
    if start and end and end < start:
        errors["end"] = "The last day must not be before the first."
    if errors:
        start, end = today - dt.timedelta(weeks=12), today
    return {"start": start_text or start.isoformat(), "end": end_text or end.isoformat()}, errors, start, end


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return (dt.datetime.combine(start, dt.time(), LONDON).astimezone(dt.timezone.utc),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), LONDON).astimezone(dt.timezone.utc))


def _counted(counter: Counter, labels: dict | None = None) -> list[tuple[str, int]]:
    return sorted(((labels or {}).get(k, k), n) for k, n in counter.items())


async def report(actor: Actor, start: dt.date, end: dt.date, *, audit_view: bool = True) -> dict:
    """Interventions in the period by pupil, staff, technique, place, hour and weekday, with pupils seen
    REPEAT_COUNT times within four weeks flagged; the view is audited."""
    await _require(actor)
    rows = await _rows(actor.school_id, *_bounds(start, end), limit=100000)
    by_pupil: dict[int, dict] = {}
    staff: Counter = Counter()
    technique: Counter = Counter()
    place: Counter = Counter()
    hour: Counter = Counter()
    weekday: Counter = Counter()
    for r in rows:
        at = local(r["occurred_at"])
        for p in r["pupils"]:
            entry = by_pupil.setdefault(p["id"], {"id": p["id"], "name": p["name"], "year": p["year"], "times": []})
            entry["times"].append(r["occurred_at"])
        for s in r["staff"]:
            staff[s["name"]] += 1
        for t in (t for t in r["techniques"].split("\n") if t):
            technique[t] += 1
        place[r["location.name"] or "Not given"] += 1
        hour[f"{at.hour:02d}:00"] += 1
        weekday[at.weekday()] += 1
    pupils = []
    for p in by_pupil.values():
        pupils.append({"id": p["id"], "name": p["name"], "year": p["year"], "count": len(p["times"]),
                       "repeat": repeats(p["times"])})
    pupils.sort(key=lambda p: (not p["repeat"], -p["count"], p["name"].lower()))
    days = dict(enumerate(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]))
    result = {
        "rows": rows, "total": len(rows), "pupils": pupils,
        "staff": sorted(staff.items(), key=lambda kv: (-kv[1], kv[0].lower())),
        "techniques": sorted(technique.items(), key=lambda kv: (-kv[1], kv[0].lower())),
        "places": sorted(place.items(), key=lambda kv: (-kv[1], kv[0].lower())),
        "hours": sorted(hour.items()), "weekdays": [(days[d], n) for d, n in sorted(weekday.items())],
        "overdue": sum(1 for r in rows if r["state"] == "overdue"),
        "awaiting_sign_off": sum(1 for r in rows if r["state"] == "awaiting_sign_off"),
        "repeat_pupils": sum(1 for p in pupils if p["repeat"])}
    if audit_view:
        await _audit(actor, "physical_intervention.report_viewed", None,
                     {"start": start.isoformat(), "end": end.isoformat(), "count": len(rows)})
    return result


CSV_COLUMNS = ["Date", "Time", "Place", "Pupils", "Repeat pattern", "Staff", "Techniques", "Duration (minutes)",
               "Injuries", "First aid", "Parent informed", "State", "Signed off by"]


async def report_csv(actor: Actor, start: dt.date, end: dt.date) -> list[list[str]]:
    """The period's interventions, one a row (under CSV_COLUMNS); the download is audited."""
    data = await report(actor, start, end, audit_view=False)
    flagged = {p["id"] for p in data["pupils"] if p["repeat"]}
    signers = {r["signed_off_by"] for r in data["rows"] if r["signed_off_by"]}
    names = {p["id"]: p["display_name"] for p in await Person.select(Person.id, Person.display_name).where(
        Person.id.is_in(list(signers)))} if signers else {}
    out = []
    for r in sorted(data["rows"], key=lambda r: r["occurred_at"]):
        at = local(r["occurred_at"])
        out.append([at.strftime("%Y-%m-%d"), at.strftime("%H:%M"), r["location.name"] or "",
                    "; ".join(p["name"] for p in r["pupils"]),
                    "yes" if any(p["id"] in flagged for p in r["pupils"]) else "no",
                    "; ".join(s["name"] for s in r["staff"]), "; ".join(t for t in r["techniques"].split("\n") if t),
                    "" if r["duration_minutes"] is None else str(r["duration_minutes"]), r["injuries"],
                    r["first_aid"], {"yes": "yes", "no": "no"}.get(r["parent_informed"], ""), STATES[r["state"]],
                    names.get(r["signed_off_by"], "")])
    await _audit(actor, "physical_intervention.report_exported", None,
                 {"start": start.isoformat(), "end": end.isoformat(), "count": len(out)})
    return out


# The chronology ---------------------------------------------------------------------------------------------------

async def chronology_rows(actor: Actor, pupil_id: int) -> list[dict]:
    """The pupil's records as chronology lines (at, ref, event, detail, recorded_by), for the chronology to turn into
    entries of a "physical_intervention" source: none for anyone who may not see these records (the chronology
    audits its own views)."""
    if not await may_see(actor):
        return []
    rows = await PhysicalIntervention.select(
        PhysicalIntervention.id, PhysicalIntervention.occurred_at, PhysicalIntervention.location.name,
        PhysicalIntervention.techniques, PhysicalIntervention.duration_minutes, PhysicalIntervention.injuries,
        PhysicalIntervention.completed_at, PhysicalIntervention.signed_off_at,
        PhysicalIntervention.owner.display_name).where(
        (PhysicalIntervention.school == actor.school_id)
        & PhysicalIntervention.id.is_in(PhysicalInterventionPupil.select(PhysicalInterventionPupil.record).where(
            PhysicalInterventionPupil.pupil == pupil_id))).order_by(PhysicalIntervention.occurred_at)
    out = []
    for r in rows:
        held = ", ".join(t for t in r["techniques"].split("\n") if t) or "technique not yet recorded"
        where = f" in {r['location.name']}" if r["location.name"] else ""
        minutes = f", {r['duration_minutes']} min" if r["duration_minutes"] is not None else ""
        state = "signed off" if r["signed_off_at"] else ("complete, awaiting sign-off" if r["completed_at"]
                                                         else "record not yet complete")
        out.append({"at": r["occurred_at"], "ref": f"physical_intervention:{r['id']}",
                    "event": f"Physical intervention{where}: {held}{minutes}",
                    "detail": f"Injuries: {r['injuries']}" if r["injuries"] else "", "outcome": state,
                    "recorded_by": r["owner.display_name"]})
    return out
