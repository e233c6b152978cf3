"""The data review's fixture with known answers: att's five pupils and their autumn-term marks (tests/attendance),
Fin in 9B, and seven incidents (one deleted, one in year 11).

As of Monday 24 November 2025 (all times London, GMT then):
  1 Wed 19 Nov 10:15 Canteen   Ava Disruption, Ben Disruption
  2 Tue 18 Nov 12:40 Corridor  Ava Fighting, Cal Witness (neutral)
  3 Tue 18 Nov 12:10 Canteen   Ava Disruption
  4 Wed 19 Nov 14:05 (no place) Fin Kindness (+5)
  5 Mon 10 Nov 09:00 Canteen   Ben Kindness (+3)
  6 Thu 20 Nov 07:30 Corridor  Dee Fighting (year 11)
  7 Fri 21 Nov 11:00 Canteen   Ava Disruption, deleted
"""

from __future__ import annotations

import datetime as dt

from app import clock
from app.domain.incidents.tables import Category, Incident, IncidentPupil, Location
from tests.attendance.kit import fixture_pupils, import_fixture, pupil

UTC = dt.timezone.utc


async def category(school_id: int, name: str, kind: str, points: int) -> int:
    c = Category(school=school_id, kind=kind, name=name, severity=2 if kind == "negative" else 0, points=points)
    await c.save()
    return c.id


async def place(school_id: int, name: str) -> int:
    loc = Location(school=school_id, name=name)
    await loc.save()
    return loc.id


async def incident(school_id: int, by: int, at: dt.datetime, where: int | None, *parts: tuple[int, int, int],
                   deleted: bool = False) -> int:
    """parts: (pupil, category, points)."""
    now = clock.now()
    i = Incident(school=school_id, location=where, occurred_at=at, recorded_by=by, recorded_at=now,
                 deleted_at=now if deleted else None, deleted_by=by if deleted else None)
    await i.save()
    for pupil_id, category_id, points in parts:
        await IncidentPupil(incident=i.id, pupil=pupil_id, role="involved", category=category_id, points=points,
                            updated_at=now).save()
    return i.id


async def build(cast) -> dict:
    s = cast.school_id
    p = await fixture_pupils(s)
    p["fin"] = await pupil(s, "Fin", "Ford", mis_id="MIS-FIN", form="9B")
    await import_fixture(s)
    disruption = await category(s, "Disruption", "negative", -2)
    fighting = await category(s, "Fighting", "negative", -5)
    kindness = await category(s, "Kindness", "positive", 3)
    witness = await category(s, "Witness", "neutral", 0)
    canteen, corridor = await place(s, "Canteen"), await place(s, "Corridor")
    by = cast.teacher.id
    d = dt.datetime
    await incident(s, by, d(2025, 11, 19, 10, 15, tzinfo=UTC), canteen, (p["ava"], disruption, -2),
                   (p["ben"], disruption, -2))
    await incident(s, by, d(2025, 11, 18, 12, 40, tzinfo=UTC), corridor, (p["ava"], fighting, -5),
                   (p["cal"], witness, 0))
    await incident(s, by, d(2025, 11, 18, 12, 10, tzinfo=UTC), canteen, (p["ava"], disruption, -2))
    await incident(s, by, d(2025, 11, 19, 14, 5, tzinfo=UTC), None, (p["fin"], kindness, 5))
    await incident(s, by, d(2025, 11, 10, 9, 0, tzinfo=UTC), canteen, (p["ben"], kindness, 3))
    await incident(s, by, d(2025, 11, 20, 7, 30, tzinfo=UTC), corridor, (p["dee"], fighting, -5))
    await incident(s, by, d(2025, 11, 21, 11, 0, tzinfo=UTC), canteen, (p["ava"], disruption, -2), deleted=True)
    p.update(disruption=disruption, fighting=fighting, kindness=kindness, canteen=canteen)
    return p
