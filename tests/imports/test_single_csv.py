"""One CSV file on its own is recognised by its header row, whatever it is called."""

import os
import subprocess
import sys

import pytest

from app.domain.imports import service as imports
from app.domain.pupils.tables import Pupil, TutorGroup
from app.domain.schools.tables import Person
from app.errors import NotFound
from tests.conftest import csrf, sign_in
from tests.imports.files import (CONTACTS_HEADER, GROUPS, GROUPS_HEADER, STAFF, STAFF_HEADER, actor_of, contact_rows,
                                 pupil_rows, table)

PLAIN_HEADER = ["mis_id", "upn", "legal_first_name", "legal_last_name", "date_of_birth", "year"]


def plain_pupils() -> bytes:
    return table(PLAIN_HEADER, [[r[0], r[1], r[2], r[3], r[5], r[6]] for r in pupil_rows()]).encode("utf-8")


async def run(actor, data: bytes, name: str):
    key = await imports.store_upload(actor, imports.Upload(filename=name, data=data))
    plan = await imports.preview(actor, key)
    return key, plan


@pytest.mark.parametrize("name", ["export (3).csv", "data.txt", "Pupils - Summer 2026.CSV", "contacts.csv"])
async def test_a_pupils_file_is_recognised_by_its_header_whatever_its_name(cast, name):
    admin = await actor_of(cast.admin)
    key, plan = await run(admin, plain_pupils(), name)
    assert plan.fatal == [] and plan.files == [name]
    assert f"{name} was read as pupils.csv (Corridor recognised it by its header row)." in plan.notes
    assert plan.pupils_added == ["Amara Okonkwo (year 7)", "Siobhán O'Neill (year 7)", "Tomasz Kowalski (year 9)",
                                 "Priya Shah (year 9)"]
    await imports.apply(admin, key)
    assert await Pupil.count().where(Pupil.school == cast.school_id) == 4


async def test_each_file_of_the_set_is_recognised_and_problems_name_the_file_as_uploaded(cast):
    admin = await actor_of(cast.admin)
    _, groups = await run(admin, table(GROUPS_HEADER, GROUPS).encode(), "forms.txt")
    assert groups.groups_added == ["7A", "9B"]
    _, staff = await run(admin, table(STAFF_HEADER, STAFF).encode(), "people (1).csv")
    assert (staff.staff_added, staff.staff_unchanged) == (["new.teacher@northbridge.example"], 1)
    _, contacts = await run(admin, table(CONTACTS_HEADER, contact_rows()).encode(), "families.csv")
    assert contacts.files == ["families.csv"] and contacts.errors[0].file == "families.csv"
    # A pupils file missing a column is still told apart, and the missing column is named.
    short = table(PLAIN_HEADER[:-1], [r[:5] for r in [[p[0], p[1], p[2], p[3], p[5]] for p in pupil_rows()]])
    _, missing = await run(admin, short.encode(), "export (3).csv")
    assert [str(p) for p in missing.fatal] == ["export (3).csv line 1: Missing required column: year."]
    assert await Pupil.count() == 0 and await TutorGroup.count() == 0 and await Person.count() == 8


async def test_a_header_corridor_does_not_know_is_refused(cast):
    admin = await actor_of(cast.admin)
    _, plan = await run(admin, b"name,colour\r\nAmara,blue\r\n", "export (3).csv")
    assert len(plan.fatal) == 1 and plan.fatal[0].reason.startswith(
        "Corridor cannot tell from its header row which file this is.")
    _, text = await run(admin, b"just some words\r\n", "notes.txt")
    assert [p.reason for p in text.fatal] == ["Upload a zip of CSV files, or one CSV file."]
    _, binary = await run(admin, b"\x89PNG\r\n\x1a\n\x00\x00", "photo.png")
    assert [p.reason for p in binary.fatal] == ["Upload a zip of CSV files, or one CSV file."]
    assert await Pupil.count() == 0


async def test_the_admin_page_and_the_command_take_a_file_by_its_header(client, settings, cast, tmp_path):
    await sign_in(client, settings, cast.admin)
    token = await csrf(client, "/admin/import")
    page = await client.post("/admin/import", data={"_csrf_token": token, "mode": "bulk"},
                             files={"file": ("export (3).csv", plain_pupils(), "text/csv")})
    assert page.status_code == 200 and "export (3).csv was read as pupils.csv" in page.text
    assert 'id="apply-form"' in page.text
    data = tmp_path / "data.txt"
    data.write_bytes(plain_pupils())
    result = subprocess.run([sys.executable, "-m", "app.cli", "import", str(data), "--school", "elsewhere", "--apply"],
                            capture_output=True, text=True, env=os.environ.copy(), timeout=120)
    assert result.returncode == 0, result.stderr
    assert "pupils        4 added" in result.stdout
    assert await Pupil.count().where(Pupil.school == cast.other_school_id) == 4


async def test_a_single_file_upload_is_still_only_for_an_admin_of_the_school(cast):
    with pytest.raises(NotFound):
        await imports.store_upload(await actor_of(cast.teacher), imports.Upload(filename="data.txt", data=plain_pupils()))
    key = await imports.store_upload(await actor_of(cast.admin), imports.Upload(filename="data.txt", data=plain_pupils()))
    with pytest.raises(NotFound):
        await imports.apply(await actor_of(cast.outsider), key)
    assert await Pupil.count() == 0
