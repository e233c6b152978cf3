"""`corridor import`, run as a real process: a dry run by default, --apply to apply, non-zero on a malformed file."""

import os
import subprocess
import sys

from app.domain.audit.tables import AuditEvent
from app.domain.imports.tables import ImportBatch
from app.domain.pupils.tables import Pupil
from tests.imports.files import (CONTACTS_HEADER, GROUPS, GROUPS_HEADER, PUPILS_HEADER, contact_rows, corridor_set,
                                 oneroster_zip, photo, pupil_rows, table, zip_of)


def corridor(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=120)


def test_help_explains_the_import_command():
    assert "import" in corridor("--help").stdout
    text = " ".join(corridor("import", "--help").stdout.split())
    for part in ("--school", "--photos", "--apply", "--delta", "dry run", "OneRoster 1.1"):
        assert part in text


async def test_a_dry_run_prints_the_preview_and_changes_nothing(cast, tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    rows = pupil_rows()
    rows[1][1] = "A801200005001"
    (folder / "tutor_groups.csv").write_text(table(GROUPS_HEADER, GROUPS), encoding="utf-8")
    (folder / "pupils.csv").write_text(table(PUPILS_HEADER, rows), encoding="utf-8")
    (folder / "contacts.csv").write_text(table(CONTACTS_HEADER, contact_rows()), encoding="utf-8")
    result = corridor("import", str(folder), "--school", "northbridge")
    assert result.returncode == 0, result.stderr
    assert "Dry run: nothing has changed" in result.stdout
    assert "pupils        3 added, 0 changed, 0 marked as left" in result.stdout
    assert "pupils.csv line 3: UPN A801200005001: the check letter is wrong" in result.stdout
    assert "--apply" in result.stdout
    assert await Pupil.count() == 0 and await ImportBatch.count() == 0


async def test_apply_imports_a_zip_with_photos_and_audits_it(cast, tmp_path):
    export, photos = tmp_path / "oneroster.zip", tmp_path / "photos.zip"
    export.write_bytes(oneroster_zip())
    photos.write_bytes(zip_of({"S1.jpg": photo(fmt="JPEG")}))
    result = corridor("import", str(export), "--school", "northbridge", "--photos", str(photos), "--apply")
    assert result.returncode == 0, result.stderr
    assert "OneRoster 1.1 CSV, full export" in result.stdout and "Applied:" in result.stdout
    assert "photos        1 added" in result.stdout
    assert await Pupil.count().where(Pupil.school == cast.school_id) == 3
    event = await AuditEvent.select().where(AuditEvent.action == "import.applied").first()
    assert event["actor_label"] == "corridor command" and event["ip"] == "cli"
    again = corridor("import", str(export), "--school", "northbridge", "--photos", str(photos), "--apply")
    assert "pupils        0 added, 0 changed, 0 marked as left, 3 unchanged" in again.stdout
    assert "photos        0 added, 0 replaced, 1 unchanged" in again.stdout


async def test_a_delta_set_marks_nobody_as_left(cast, tmp_path):
    export = tmp_path / "export.zip"
    export.write_bytes(corridor_set())
    assert corridor("import", str(export), "--school", "northbridge", "--apply").returncode == 0
    export.write_bytes(corridor_set(pupils=pupil_rows()[:1], contacts=False))
    result = corridor("import", str(export), "--school", "northbridge", "--delta", "--apply")
    assert "0 marked as left" in result.stdout and "changes only" in result.stdout
    assert await Pupil.count().where(Pupil.left_on.is_not_null()) == 0


async def test_a_malformed_file_exits_non_zero_and_changes_nothing(cast, tmp_path):
    export = tmp_path / "export.zip"
    export.write_bytes(zip_of({"tutor_groups.csv": table(GROUPS_HEADER, GROUPS),
                               "pupils.csv": table(["mis_id", "upn"], [["P1", "B801200005001"]])}))
    result = corridor("import", str(export), "--school", "northbridge", "--apply")
    assert result.returncode == 1
    assert "nothing was changed" in result.stderr and "pupils.csv line 1: Missing required columns" in result.stderr
    assert await Pupil.count() == 0 and await AuditEvent.count().where(AuditEvent.action == "import.applied") == 0


async def test_it_needs_a_school_it_can_name(cast, tmp_path):
    export = tmp_path / "export.zip"
    export.write_bytes(corridor_set())
    no_school = corridor("import", str(export), "--apply")  # two schools: say which
    assert no_school.returncode != 0 and "--school" in no_school.stderr
    unknown = corridor("import", str(export), "--school", "atlantis", "--apply")
    assert unknown.returncode != 0 and "atlantis" in unknown.stderr
    missing = corridor("import", str(tmp_path / "nowhere.zip"), "--school", "northbridge")
    assert missing.returncode != 0 and "does not exist" in missing.stderr
    assert await Pupil.count() == 0


async def test_it_imports_into_the_named_school_only(cast, tmp_path):
    export = tmp_path / "export.zip"
    export.write_bytes(corridor_set(staff=False))
    assert corridor("import", str(export), "--school", "elsewhere", "--apply").returncode == 0
    assert {r["school"] for r in await Pupil.select(Pupil.school)} == {cast.other_school_id}
    # Northbridge's full export does not mark Elsewhere's pupils as left.
    assert corridor("import", str(export), "--school", "northbridge", "--apply").returncode == 0
    assert await Pupil.count().where(Pupil.left_on.is_not_null()) == 0 and await Pupil.count() == 8
