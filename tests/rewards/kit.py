"""The rewards fixture with known answers. Today is Wednesday 11 March 2026, 16:00 (GMT).

School days (the attendance import's days; weekdays only): autumn 1 Sep - 24 Oct 2025 and 3 Nov - 19 Dec,
spring 5 Jan - 13 Feb 2026 and 23 Feb - 11 Mar. So the presets are:
  this week       Mon 9 Mar - Wed 11 Mar 2026
  this half term  Mon 23 Feb - 11 Mar
  this term       Mon 5 Jan - 11 Mar (spring: its two half terms)
  this year       Mon 1 Sep 2025 - 11 Mar

Pupils: Ava Adeyemi 9A, Ben Brook 9A, Cal Carter 9B, Eve Evans 9B (left 31 Jan 2026), Dee Dunn 11A; Oz Other at
another school. Kindness +5, Effort +3 (rewards), Disruption -2 (behaviour).

  #  when (UTC)            London             who         what
  1  2025-08-31 22:59      Sun 31 Aug 23:59   Ava         Kindness 5   (last year: 31 Aug is before 1 Sep)
  2  2025-08-31 23:30      Mon 1 Sep 00:30    Ava         Kindness 5   (this year's first minutes, BST)
  3  2025-10-20 10:00                         Ben         Effort 3
  4  2026-01-04 23:59      Sun 4 Jan 23:59    Cal         Effort 3     (the day before the spring term)
  5  2026-01-05 00:00      Mon 5 Jan 00:00    Cal         Kindness 5   (the spring term's first minute)
  6  2026-02-10 10:00                         Eve         Kindness 5   (has left since)
  7  2026-02-23 08:00                         Ava         Effort 3
  8  2026-03-09 09:00                         Ava, Ben    Kindness 5 each
  9  2026-03-10 10:00                         Ava         Disruption -2 (behaviour: not a reward)
 10  2026-03-10 11:00                         Ben         Kindness 5   DELETED
 11  2026-03-11 15:00                         Dee         Kindness 5   (year 11)
 12  2026-03-10 09:00                         Oz          Kindness 5   (the other school)

Year 9 by hand:
  year       Ava 13 (2, 7, 8), Ben 8 (3, 8), Cal 8 (4, 5), Eve 5      forms 9A 21, 9B 13; years 9: 34, 11: 5
  term       Ava 8, Ben 5, Cal 5, Eve 5                              9A 13, 9B 10
  half term  Ava 8, Ben 5                                            9A 13
  week       Ava 5, Ben 5                                            9A 10
With milestones 8 and 13 (running totals from 1 September): Cal reaches 8 on 5 Jan, Ava 8 on 23 Feb, Ava 13 and
Ben 8 on 9 Mar.
"""

from __future__ import annotations

import datetime as dt

import pytest

from app.domain.attendance.tables import AttendanceSchoolDay
from app.domain.incidents.tables import Category
from app.domain.pupils.tables import Pupil
from tests.conftest import add_pupil
from tests.data_review.kit import incident

UTC = dt.timezone.utc
TODAY = dt.date(2026, 3, 11)
TERMS = [(dt.date(2025, 9, 1), dt.date(2025, 10, 24)), (dt.date(2025, 11, 3), dt.date(2025, 12, 19)),
         (dt.date(2026, 1, 5), dt.date(2026, 2, 13)), (dt.date(2026, 2, 23), TODAY)]


@pytest.fixture
def on_11_march(frozen_clock):
    frozen_clock.current = dt.datetime(2026, 3, 11, 16, 0, tzinfo=UTC)
    return frozen_clock


async def school_days(school_id: int) -> None:
    for first, last in TERMS:
        day = first
        while day <= last:
            if day.weekday() < 5:
                await AttendanceSchoolDay.insert(AttendanceSchoolDay(school=school_id, day=day))
            day += dt.timedelta(days=1)


async def build(cast, *, days: bool = True) -> dict:
    s, o = cast.school_id, cast.other_school_id
    p = {"ava": await add_pupil(s, "Ava", "Adeyemi", form="9A"), "ben": await add_pupil(s, "Ben", "Brook", form="9A"),
         "cal": await add_pupil(s, "Cal", "Carter", form="9B"), "eve": await add_pupil(s, "Eve", "Evans", form="9B"),
         "dee": await add_pupil(s, "Dee", "Dunn", year="11", form="11A"),
         "oz": await add_pupil(o, "Oz", "Other", form="9Z")}
    await Pupil.update({Pupil.left_on: dt.date(2026, 1, 31)}).where(Pupil.id == p["eve"])
    if days:
        await school_days(s)

    async def cat(school: int, name: str, kind: str, points: int) -> int:
        c = Category(school=school, kind=kind, name=name, severity=2 if kind == "negative" else 0, points=points)
        await c.save()
        return c.id

    kind, effort, bad = await cat(s, "Kindness", "positive", 5), await cat(s, "Effort", "positive", 3), \
        await cat(s, "Disruption", "negative", -2)
    other_kind = await cat(o, "Kindness", "positive", 5)
    by, d = cast.teacher.id, dt.datetime
    for at, parts, deleted in [
        (d(2025, 8, 31, 22, 59), [(p["ava"], kind, 5)], False),
        (d(2025, 8, 31, 23, 30), [(p["ava"], kind, 5)], False),
        (d(2025, 10, 20, 10, 0), [(p["ben"], effort, 3)], False),
        (d(2026, 1, 4, 23, 59), [(p["cal"], effort, 3)], False),
        (d(2026, 1, 5, 0, 0), [(p["cal"], kind, 5)], False),
        (d(2026, 2, 10, 10, 0), [(p["eve"], kind, 5)], False),
        (d(2026, 2, 23, 8, 0), [(p["ava"], effort, 3)], False),
        (d(2026, 3, 9, 9, 0), [(p["ava"], kind, 5), (p["ben"], kind, 5)], False),
        (d(2026, 3, 10, 10, 0), [(p["ava"], bad, -2)], False),
        (d(2026, 3, 10, 11, 0), [(p["ben"], kind, 5)], True),
        (d(2026, 3, 11, 15, 0), [(p["dee"], kind, 5)], False),
    ]:
        await incident(s, by, at.replace(tzinfo=UTC), None, *parts, deleted=deleted)
    await incident(o, cast.outsider.id, d(2026, 3, 10, 9, 0, tzinfo=UTC), None, (p["oz"], other_kind, 5))
    p.update(kindness=kind, effort=effort)
    return p


def rows(html: str, table_id: str) -> list[list[str]]:
    """A table's body rows as lists of cell texts."""
    import re

    body = html.split(f'id="{table_id}"', 1)[1].split("</tbody>", 1)[0].split("<tbody>", 1)[1]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
            for r in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
