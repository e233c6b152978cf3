"""Small helpers for the contact log tests: a pupil with family contacts, a pastoral lead, posting the form."""

from __future__ import annotations

import re
import uuid

from app.domain.contact_log.tables import ContactLog
from app.domain.pupils.tables import Contact
from app.domain.schools import service as schools
from app.domain.audit.service import Origin
from app.domain.schools.tables import Membership
from tests.conftest import Member, add_pupil, csrf, sign_in


async def family(cast, *, year: str = "11", first: str = "Ada", last: str = "Able",
                 school_id: int | None = None) -> dict:
    """A pupil with three MIS contacts: Mum (may be called), Dad (no contact), Gran (no parental responsibility)."""
    pid = await add_pupil(school_id or cast.school_id, first, last, year=year, form=f"{year}A")
    ids = {}
    for name, rel, pr, no, prio in (("Mary Able", "Mother", True, False, 1), ("Dan Able", "Father", True, True, 2),
                                    ("Grace Able", "Grandmother", False, False, 3)):
        c = Contact(pupil=pid, name=name, relationship=rel, phone="07700 900123", priority=prio,
                    parental_responsibility=pr, no_contact=no)
        await c.save()
        ids[rel.lower()] = c.id
    return {"pupil": pid, **ids}


async def lead(cast) -> Member:
    """A pastoral lead with no other pastoral role."""
    pid = await schools.add_person(email="lead@northbridge.example", display_name="Lee Lead", school_id=cast.school_id,
                                   roles=["staff", "pastoral_lead"], actor=None, origin=Origin(ip="test"))
    return Member(pid, "lead@northbridge.example", "Lee Lead", cast.school_id)


async def lead_year_9(cast) -> None:
    await Membership.update({Membership.years: "9"}).where(
        (Membership.person == cast.head_of_year.id) & (Membership.role == "head_of_year"))


def form(f: dict, **changes) -> dict:
    data = {"pupil_id": str(f["pupil"]), "contact_id": str(f["mother"]), "method": "phone", "direction": "out",
            "outcome": "spoke", "summary": "Mum says Ada has been anxious about the trip",
            "voice": "She just wants to know who she'll share a room with", "follow_up_on": "",
            "idempotency_key": str(uuid.uuid4())}
    data.update(changes)
    return data


async def post(client, settings, member, data: dict, *, headers: dict | None = None):
    await sign_in(client, settings, member)
    token = await csrf(client, "/")
    return await client.post("/contact-log/", data={**data, "_csrf_token": token}, headers=headers or {},
                             follow_redirects=False)


async def logs(pupil_id: int) -> list[dict]:
    return await ContactLog.select().where(ContactLog.pupil == pupil_id).order_by(ContactLog.id)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")
