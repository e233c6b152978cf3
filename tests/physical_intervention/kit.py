"""Helpers for the physical intervention tests: an incident and a resolved on-call request to start from, a senior
leadership team named on the ladder page, and a record started and completed over HTTP."""

from __future__ import annotations

import datetime as dt
import uuid

from app import clock
from app.domain.home_visits.tables import HomeVisitSettings
from app.domain.incidents.tables import Category, Incident, IncidentPupil, Location
from app.domain.oncall.tables import OnCallPupil, OnCallReason, OnCallRequest
from app.domain.physical_intervention.tables import PhysicalIntervention
from tests.conftest import _member, post_form, sign_in


async def place(school_id: int, name: str = "Science corridor") -> int:
    row = await Location.select(Location.id).where((Location.school == school_id) & (Location.name == name)).first()
    if row:
        return row["id"]
    loc = Location(school=school_id, name=name)
    await loc.save()
    return loc.id


async def incident(school_id: int, recorder: int, pupils: list[int], *, at: dt.datetime | None = None,
                   where: str = "Science corridor") -> int:
    cat = await Category.select(Category.id).where(Category.school == school_id).first()
    if not cat:
        c = Category(school=school_id, kind="negative", name="Physical aggression", severity=4, points=-5)
        await c.save()
        cat_id = c.id
    else:
        cat_id = cat["id"]
    now = clock.now()
    row = Incident(school=school_id, location=await place(school_id, where), occurred_at=at or now, note="",
                   recorded_by=recorder, recorded_at=now)
    await row.save()
    for p in pupils:
        await IncidentPupil.insert(IncidentPupil(incident=row.id, pupil=p, role="instigator", category=cat_id,
                                                 updated_at=now))
    return row.id


async def resolved_request(school_id: int, requester: int, responder: int, pupils: list[int], *,
                           at: dt.datetime | None = None, where: str = "Sports hall") -> int:
    reason = OnCallReason(school=school_id, name="Pupil in crisis")
    await reason.save()
    at = at or clock.now()
    row = OnCallRequest(school=school_id, requester=requester, location=await place(school_id, where),
                        reason=reason.id, urgency="urgent", state="resolved", responder=responder, raised_at=at,
                        on_scene_at=at + dt.timedelta(minutes=3), resolved_at=at + dt.timedelta(minutes=20),
                        outcome="resolved_on_scene")
    await row.save()
    for p in pupils:
        await OnCallPupil.insert(OnCallPupil(request=row.id, pupil=p))
    return row.id


async def name_slt(school_id: int, *people: int, headteacher: int | None = None) -> None:
    await HomeVisitSettings.insert(HomeVisitSettings(school=school_id, slt=",".join(str(p) for p in people),
                                                     headteacher=headteacher))


async def senior(school_id: int, email: str = "slt@northbridge.example", name: str = "Sam Senior"):
    """A deputy head: a plain staff member at Corridor, named as SLT on the ladder page."""
    return await _member(email, name, school_id, ["staff"])


async def start(client, settings, member, *, incident_id: int | None = None, oncall_id: int | None = None,
                key: str | None = None):
    await sign_in(client, settings, member)
    data = {"idempotency_key": key or str(uuid.uuid4())}
    if incident_id:
        data["incident_id"] = str(incident_id)
    if oncall_id:
        data["oncall_id"] = str(oncall_id)
    return await post_form(client, "/physical-interventions/", data)


def record_id_of(response) -> int:
    return int(str(response.url).rstrip("/").rsplit("/", 1)[1])


def full_form(record: dict, pupils: list[int], staff: list[int], **changes) -> dict:
    at = record["occurred_at"].astimezone(clock_zone())
    told = at  # told straight away (a later time may be in the future for an intervention just now)
    form = {"occurred_date": at.date().isoformat(), "occurred_time": at.strftime("%H:%M"),
            "location_id": str(record["location"]), "pupil_ids": [str(p) for p in pupils],
            "staff_ids": [str(s) for s in staff], "witnesses": "Mr Jones (science)",
            "lead_up": "Threw chairs after a falling-out in the lesson.",
            "deescalation": "Calm voice, offered time out, cleared the room.",
            "techniques": ["Escort (single elbow)"], "duration_minutes": "4", "injuries": "None",
            "first_aid": "None needed", "parent_informed": "yes", "parent_informed_date": told.date().isoformat(),
            "parent_informed_time": told.strftime("%H:%M"), "parent_informed_by": "Head of year",
            "parent_informed_how": "phone", "parent_not_informed_why": "",
            "debrief_pupil": "Talked it through at lunch; pupil said the room felt crowded.",
            "debrief_staff": "Staff debrief after school: no concerns.", "action": "complete"}
    form.update(changes)
    return form


def clock_zone():
    from zoneinfo import ZoneInfo
    return ZoneInfo("Europe/London")


async def row(record_id: int) -> dict:
    return await PhysicalIntervention.select().where(PhysicalIntervention.id == record_id).first()
