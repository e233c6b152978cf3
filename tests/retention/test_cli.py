"""`corridor retention`, run as a real process: a dry run by default that prints per school and kind what is due and
held, --apply to delete it."""

import datetime as dt
import os
import subprocess
import sys

from app.domain.concerns.tables import Concern
from app.domain.retention import service as retention
from app.domain.retention.tables import LegalHold
from tests.conftest import add_pupil
from tests.retention import kit


def corridor(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=120)


def test_help_explains_the_command():
    assert "retention" in corridor("--help").stdout
    text = " ".join(corridor("retention", "--help").stdout.split())
    for part in ("--apply", "--dry-run", "legal hold", "docs/retention.md"):
        assert part in text


async def test_it_prints_per_school_and_kind_then_applies(cast):
    # Real time (the command runs in its own process): Ada turned 25 a week ago, Eve too but is under a hold.
    dob = retention.years_before(retention.today() - dt.timedelta(days=7), 25)
    ada = await add_pupil(cast.school_id, "Ada", "Older", year="13", dob=dob)
    eve = await add_pupil(cast.school_id, "Eve", "Held", year="13", dob=dob)
    await kit.concern(cast.school_id, ada, cast.dsl.id)
    held = await kit.concern(cast.school_id, eve, cast.dsl.id)
    await kit.incident(cast.school_id, [ada], cast.teacher.id)
    await LegalHold.insert(LegalHold(school=cast.school_id, pupil=eve, reason="Claim", set_by=cast.dsl.id,
                                     set_at=dt.datetime.now(dt.timezone.utc)))
    dry = corridor("retention")
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert "(nothing changed)" in lines[0]
    assert "Northbridge Academy" in lines and "Elsewhere High" in lines and "Install-wide" in lines
    assert ("  Safeguarding (until the pupil's 25th birthday): 1 due [1 concerns]; 1 held (legal hold)"
            in lines)
    assert "  Behaviour (until the pupil's 25th birthday): 2 due [1 pupil entries, 1 incidents]" in lines
    assert "Run again with --apply to delete what is due." in lines
    assert await Concern.count() == 2
    applied = corridor("retention", "--apply")
    assert applied.returncode == 0, applied.stderr
    assert ("  Safeguarding (until the pupil's 25th birthday): 1 deleted [1 concerns]; 1 held (legal hold)"
            in applied.stdout.splitlines())
    assert [r["id"] for r in await Concern.select(Concern.id)] == [held]
    assert corridor("retention", "--apply", "--dry-run").returncode != 0
