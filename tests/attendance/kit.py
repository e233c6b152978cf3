"""The fixture's pupils and helpers shared by the attendance tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from app.domain.attendance import service as attendance
from app.domain.pupils.tables import Pupil
from tests.conftest import add_pupil

FIXTURE = Path(__file__).with_name("fixture") / "marks.csv"
HEADER = "upn,mis_id,date,session,code,minutes_late\r\n"


async def fixture_pupils(school_id: int) -> dict[str, int]:
    """The five pupils of fixture/marks.csv (Ava and Eve by UPN, Ben and Cal by MIS id, Dee by both)."""
    return {
        "ava": await pupil(school_id, "Ava", "Adeyemi", upn="A801200005001", mis_id="MIS-AVA"),
        "ben": await pupil(school_id, "Ben", "Brook", upn="B801200005002", mis_id="MIS-BEN"),
        "cal": await pupil(school_id, "Cal", "Carter", upn="C801200005003", mis_id="MIS-CAL"),
        "dee": await pupil(school_id, "Dee", "Dunn", upn="D801200005004", mis_id="MIS-DEE", year="11", form="11A"),
        "eve": await pupil(school_id, "Eve", "Evans", upn="E801200005005", mis_id="MIS-EVE"),
    }


async def pupil(school_id: int, first: str, last: str, *, mis_id: str, **fields) -> int:
    """add_pupil, with the MIS id the import matches on."""
    pid = await add_pupil(school_id, first, last, **fields)
    await Pupil.update({Pupil.mis_id: mis_id}).where(Pupil.id == pid)
    return pid


async def import_csv(school_id: int, text: str, filename: str = "marks.csv") -> attendance.Plan:
    """As `corridor import-attendance --apply` does."""
    return await attendance.import_file(filename, text.encode("utf-8"), school_id=school_id)


async def import_fixture(school_id: int) -> attendance.Plan:
    return await attendance.import_file("marks.csv", FIXTURE.read_bytes(), school_id=school_id)


END_OF_TERM = dt.date(2025, 12, 19)
