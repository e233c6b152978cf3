"""Helpers for the case-conference pack tests: a pupil whose chronology names other pupils, written straight into
the features' tables (their own tests cover how those records are made), and the pack's HTTP steps."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from zoneinfo import ZoneInfo

from app.domain.accounts import service as accounts
from app.domain.audit.service import Origin
from app.domain.contact_log.tables import ContactLog
from app.domain.incidents.tables import Category, Incident, IncidentPupil, Location
from tests.conftest import add_pupil, post_form, sign_in

LONDON = ZoneInfo("Europe/London")
OTHERS = ("Tom Hardy", "Zoë O'Brien", "Łukasz Nowak")


def at(day: int, hour: int = 10, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=LONDON).astimezone(dt.timezone.utc)


async def actor_for(settings, member):
    token = await accounts._create_session(settings, member.id, member.email, Origin(ip="test"), "pytest")
    return await accounts.load_actor(settings, token, Origin(ip="test"))


async def incident(school_id: int, by: int, when: dt.datetime, pupils: list[tuple[int, str]], note: str,
                   category: str = "Fighting") -> int:
    cat = await Category.select(Category.id).where((Category.school == school_id) & (Category.name == category)).first()
    if cat:
        cat_id = cat["id"]
    else:
        row = Category(school=school_id, kind="negative", name=category, severity=2, points=-3)
        await row.save()
        cat_id = row.id
    loc = Location(school=school_id, name="Canteen")
    await loc.save()
    inc = Incident(school=school_id, location=loc.id, occurred_at=when, note=note, recorded_by=by, recorded_at=when)
    await inc.save()
    for pupil_id, role in pupils:
        await IncidentPupil.insert(IncidentPupil(incident=inc.id, pupil=pupil_id, role=role, category=cat_id,
                                                 points=-3, updated_at=when))
    return inc.id


async def contact(school_id: int, pupil_id: int, by: int, when: dt.datetime, summary: str) -> int:
    row = ContactLog(school=school_id, pupil=pupil_id, with_label="Mrs Brown (Mother)", method="phone",
                     direction="out", outcome="spoke", occurred_at=when, summary=summary, recorded_by=by,
                     created_at=when)
    await row.save()
    return row.id


async def story(cast) -> dict:
    """Amy Brown (year 9) and three other pupils named in her chronology, one of them by a nickname and one only
    in an entry outside November, plus her brother Sam Brown, who shares her surname."""
    school, by = cast.school_id, cast.pastoral.id
    amy = await add_pupil(school, "Amy", "Brown", year="9")
    tom = await add_pupil(school, "Thomas", "Hardy", year="9", preferred_first_name="Tom")
    zoe = await add_pupil(school, "Zoë", "O'Brien", year="10", form="10B")
    lukasz = await add_pupil(school, "Łukasz", "Nowak", year="9")
    sam = await add_pupil(school, "Sam", "Brown", year="7", form="7C")
    await incident(school, by, at(2, month=10), [(amy, "involved"), (lukasz, "instigator")],
                   "Łukasz Nowak took Amy's bag.")
    await incident(school, by, at(3), [(amy, "involved"), (tom, "instigator")],
                   "Tom Hardy pushed Amy in the lunch queue; Thomas said sorry after.")
    await incident(school, by, at(5), [(amy, "instigator"), (zoe, "involved"), (tom, "witness")],
                   "Amy argued with Zoë O’Brien. Tom saw it; Zoe cried.")
    await incident(school, by, at(9), [(amy, "involved"), (sam, "involved")],
                   "Sam Brown and Amy Brown late together; Sam said their dad's van broke down at 14 Elm Road.")
    await contact(school, amy, by, at(10), "Mum says Lukasz and Łukasz Nowak's older brother wait at the gate.")
    return {"amy": amy, "tom": tom, "zoe": zoe, "lukasz": lukasz, "sam": sam}


async def make_pack(client, settings, member, pupil_id: int, key: str | None = None, **fields):
    """Sign in, fill the form (every source the page offers ticked unless given) and return the response."""
    await sign_in(client, settings, member)
    page = await client.get(f"/case-pack/new?pupil={pupil_id}")
    sources = fields.pop("sources", None)
    if sources is None:
        sources = re.findall(r'name="sources" value="([a-z_]+)"', page.text)
    return await post_form(client, "/case-pack/", {"pupil_id": str(pupil_id), "sources": sources,
                                                   "idempotency_key": key or str(uuid.uuid4()), **fields},
                           page=f"/case-pack/new?pupil={pupil_id}")


def pack_id(response) -> int:
    match = re.search(r"/case-pack/(\d+)", str(response.url))
    assert match, response.url
    return int(match.group(1))


def pdf_text(body: bytes) -> str:
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(body))
    return "\n".join(page.extract_text() for page in reader.pages)


def detail(row: dict) -> dict:
    import json

    value = row["detail"]
    return json.loads(value) if isinstance(value, str) else value
