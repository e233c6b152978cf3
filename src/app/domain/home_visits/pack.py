"""The visit pack (issue 14, point 2): what the visiting staff's phones keep for a visit they may lose signal on.

Only the staff going on the visit get it, and only from authorisation until the visit is over (finished safe or
cancelled): before that the plan may still change, after it nobody needs the address on a phone. The phone
keeps it encrypted in IndexedDB under the outbox's key (service_worker/visitpack.js), never in Cache Storage,
and wipes it at check-out, at the end of the visit's day and on sign-out. Every fetch is audited.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from app import clock
from app.domain.home_visits import service as visits
from app.domain.home_visits.tables import HomeVisitPupil
from app.domain.pupils.tables import Contact, Pupil
from app.domain.schools.service import Actor
from app.errors import NotFound

PACKED_STATES = ("authorised", "under_way", "on_site")
UK = ZoneInfo("Europe/London")


def _uk(moment: dt.datetime | None) -> dt.datetime | None:
    return moment.astimezone(UK) if moment else None


async def visit_pack(actor: Actor, visit_id: int) -> dict[str, Any]:
    """The pack for one of the actor's own authorised visits (address, pupils with photo and contacts, the staff
    going, the checklist and the planner's notes), audited; NotFound for anyone not going or any other state."""
    row = await visits._visit(actor, visit_id)
    if actor.person_id not in row["staff_ids"] or row["state"] not in PACKED_STATES:
        raise NotFound(visits.HIDDEN)
    pupils = await HomeVisitPupil.select(
        HomeVisitPupil.pupil.id, HomeVisitPupil.pupil.preferred_first_name, HomeVisitPupil.pupil.legal_first_name,
        HomeVisitPupil.pupil.preferred_last_name, HomeVisitPupil.pupil.legal_last_name,
        HomeVisitPupil.pupil.tutor_group.name).where(HomeVisitPupil.visit == visit_id).order_by(HomeVisitPupil.id)
    ids = [p["pupil.id"] for p in pupils] or [-1]
    photos = {r["id"]: r["photo"] for r in await Pupil.select(Pupil.id, Pupil.photo).where(Pupil.id.is_in(ids))}
    contacts: dict[int, list[dict]] = {}
    for c in await Contact.select(Contact.pupil, Contact.name, Contact.relationship, Contact.phone, Contact.priority,
                                  Contact.parental_responsibility, Contact.no_contact).where(
            Contact.pupil.is_in(ids)).order_by(Contact.priority, Contact.id):
        contacts.setdefault(c["pupil"], []).append({
            "name": c["name"], "relationship": c["relationship"], "phone": "" if c["no_contact"] else c["phone"],
            "parental_responsibility": bool(c["parental_responsibility"]), "no_contact": bool(c["no_contact"])})
    start, end = _uk(row["planned_start"]), _uk(row["ends_at"] or row["planned_end"])
    day = start.date() if start else clock.now().astimezone(UK).date()
    pack = {
        "v": 1, "visit": visit_id, "person": str(actor.person_id), "state": row["state"], "day": day.isoformat(),
        "start": start.strftime("%H:%M") if start else "", "due_back": end.strftime("%H:%M") if end else "",
        "minutes": int((row["planned_end"] - row["planned_start"]).total_seconds() // 60),
        "address": row["address"], "purpose": row["purpose"], "notes": row["pack_notes"],
        "adults_dogs": row["check_adults_dogs"], "past_incidents": row["check_past_incidents"],
        "staff": [{"name": s["name"], "phone": s["phone"]} for s in row["staff"]],
        "pupils": [{"name": visits._name(p, "pupil."), "form": p["pupil.tutor_group.name"] or "",
                    "photo": ("data:image/jpeg;base64," + base64.b64encode(bytes(photos[p["pupil.id"]])).decode())
                    if photos.get(p["pupil.id"]) else "",
                    "contacts": contacts.get(p["pupil.id"], [])} for p in pupils],
    }
    await visits._audit(actor, "home_visit.pack_viewed", visit_id, actor.school_id)
    return pack
