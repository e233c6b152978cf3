"""Helpers for the on-report tests: a clock at a set UK time on a school day, a pupil put on report over HTTP."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from app.domain.on_report import service as on_report
from app.domain.on_report.tables import OnReport, OnReportTarget
from tests.conftest import post_form, sign_in

LONDON = ZoneInfo("Europe/London")
MONDAY = dt.date(2026, 12, 7)  # a Monday in GMT


def at(clock, day: dt.date = MONDAY, hhmm: str = "09:30") -> None:
    """Move the frozen clock to this UK time."""
    local = dt.datetime.combine(day, dt.time(int(hhmm[:2]), int(hhmm[3:])), tzinfo=LONDON)
    clock.current = local.astimezone(dt.timezone.utc)


async def period_ids(school_id: int) -> dict[str, int]:
    return {p["name"]: p["id"] for p in await on_report.periods(school_id)}


async def put_on_report(client, settings, member, pupil_id: int, school_id: int, *, key: str | None = None,
                        **changes):
    await sign_in(client, settings, member)
    ids = await period_ids(school_id)
    form = {"idempotency_key": key or str(uuid.uuid4()), "pupil_id": str(pupil_id), "level": "1",
            "starts_on": MONDAY.isoformat(), "ends_on": (MONDAY + dt.timedelta(days=11)).isoformat(),
            "target_1": "Arrive on time with equipment", "words_1": "I will be ready when the bell goes",
            "target_2": "Stay in my seat", "words_2": "",
            "period_ids": [str(ids["Period 1"]), str(ids["Period 2"]), str(ids["Period 4"])],
            "visible_to": ["tutor", "head_of_year", "pastoral"]}
    form.update(changes)
    return await post_form(client, "/on-report/", {k: v for k, v in form.items() if v is not None})


def report_id_of(response) -> int:
    return int(str(response.url).rstrip("/").rsplit("/", 1)[1])


async def targets(report_id: int) -> list[dict]:
    return await OnReportTarget.select().where(OnReportTarget.report == report_id).order_by(OnReportTarget.position)


async def report(report_id: int) -> dict:
    return await OnReport.select().where(OnReport.id == report_id).first()


async def rate(client, report_id: int, target_id: int, period_id: int, score: int, comment: str = ""):
    return await post_form(client, f"/on-report/{report_id}/rate", {
        "target_id": str(target_id), "period_id": str(period_id), "score": str(score), "comment": comment})
