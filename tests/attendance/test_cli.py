"""`corridor import-attendance`, run as a real process: a dry run by default, --apply to apply, non-zero on a
malformed file."""

import os
import subprocess
import sys

from app.domain.attendance.tables import AttendanceMark
from app.domain.audit.tables import AuditEvent
from tests.attendance.kit import FIXTURE, fixture_pupils


def corridor(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=120)


def test_help_explains_the_command():
    assert "import-attendance" in corridor("--help").stdout
    text = " ".join(corridor("import-attendance", "--help").stdout.split())
    for part in ("--school", "--apply", "dry run", "UPN or MIS id", "docs/attendance.md"):
        assert part in text


async def test_a_dry_run_then_apply_then_again(cast, tmp_path):
    await fixture_pupils(cast.school_id)
    dry = corridor("import-attendance", str(FIXTURE), "--school", "northbridge")
    assert dry.returncode == 0, dry.stderr
    assert "marks.csv: marks for 5 pupils, 2025-09-01 to 2025-12-19" in dry.stdout
    assert "Dry run: nothing has changed" in dry.stdout and "750 added, 0 changed" in dry.stdout
    assert await AttendanceMark.count() == 0
    applied = corridor("import-attendance", str(FIXTURE), "--school", "northbridge", "--apply")
    assert applied.returncode == 0, applied.stderr
    assert "Applied:" in applied.stdout and await AttendanceMark.count() == 750
    event = await AuditEvent.select().where(AuditEvent.action == "attendance.imported").first()
    assert event["actor_label"] == "corridor command" and event["ip"] == "cli"
    again = corridor("import-attendance", str(FIXTURE), "--school", "northbridge", "--apply")
    assert "0 added, 0 changed (the old mark kept in its history), 750 unchanged" in again.stdout


async def test_bad_rows_are_listed_and_a_malformed_file_exits_non_zero(cast, tmp_path):
    await fixture_pupils(cast.school_id)
    marks = tmp_path / "today.csv"
    marks.write_text("upn,date,session,code\r\nA801200005001,2025-12-18,AM,/\r\nA801200005001,2025-12-18,PM,QQ\r\n")
    result = corridor("import-attendance", str(marks), "--school", "northbridge")
    assert "1 row will be skipped:" in result.stdout
    assert "today.csv line 3: 'QQ' is not a DfE attendance code (2024 set)." in result.stdout
    marks.write_text("upn,date,code\r\nA801200005001,2025-12-18,/\r\n")
    broken = corridor("import-attendance", str(marks), "--school", "northbridge", "--apply")
    assert broken.returncode == 1 and "nothing was changed" in broken.stderr
    assert "today.csv line 1: Missing required column: session." in broken.stderr
    assert await AttendanceMark.count() == 0


async def test_it_needs_a_school_it_can_name(cast, tmp_path):
    result = corridor("import-attendance", str(FIXTURE))
    assert result.returncode == 1 and "Say which school with --school SLUG (there are 2" in result.stderr
    assert corridor("import-attendance", str(tmp_path / "nope.csv")).returncode == 1
