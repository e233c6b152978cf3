"""Shared helpers for the gate and first-day tests: a moved clock on a school day, and reading back lates."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from app.domain.incidents.tables import IncidentPupil

LONDON = ZoneInfo("Europe/London")
DAY = dt.date(2026, 12, 7)  # a Monday in term (GMT: UK time is UTC)


def at(hhmm: str, day: dt.date = DAY) -> dt.datetime:
    h, m = hhmm.split(":")
    return dt.datetime.combine(day, dt.time(int(h), int(m)), tzinfo=LONDON).astimezone(dt.timezone.utc)


def key() -> str:
    return str(uuid.uuid4())


async def lates(pupil_id: int) -> list[dict]:
    """The pupil's gate lates: category name, when, the note, deleted or not."""
    return await IncidentPupil.select(IncidentPupil.category.name, IncidentPupil.incident.occurred_at,
                                      IncidentPupil.incident.note, IncidentPupil.incident.location.name,
                                      IncidentPupil.incident.id).where(
        (IncidentPupil.pupil == pupil_id) & IncidentPupil.category.name.like("Late to school%")
    ).order_by(IncidentPupil.id)
