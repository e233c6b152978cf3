"""A full (bulk) export marks pupils missing from it as left, never deleting them; a delta marks nobody."""

import datetime as dt
import os
import re
import subprocess
import sys

import pytest

from app.domain.audit.tables import AuditEvent
from app.domain.imports import service as imports
from app.domain.imports.tables import ImportBatch
from app.domain.pupils.tables import Contact, Pupil
from app.domain.schools.tables import School
from app.errors import NotFound
from app.main import create_app
from tests.conftest import add_pupil, csrf, http_client, sign_in
from tests.imports.files import actor_of, corridor_set, oneroster_users, oneroster_zip, pupil_rows, upn, user


async def run(actor, data: bytes, *, delta: bool = False):
    key = await imports.store_upload(actor, imports.Upload(filename="export.zip", data=data, delta=delta))
    return await imports.apply(actor, key)


async def left_on(mis_id: str):
    return (await Pupil.select(Pupil.left_on).where(Pupil.mis_id == mis_id).first())["left_on"]


async def test_a_bulk_import_marks_missing_pupils_as_left_and_keeps_them(cast, frozen_clock):
    admin = await actor_of(cast.admin)
    await run(admin, corridor_set())
    frozen_clock.current = dt.datetime(2026, 7, 22, 10, 0, tzinfo=dt.timezone.utc)
    stamp = await School.select(School.pupils_changed_at).where(School.id == cast.school_id).first()
    plan = await run(admin, corridor_set(pupils=pupil_rows()[:2]))  # P3 and P4 have left
    assert plan.counts()["pupils_left"] == 2 and sorted(plan.pupils_left) == ["Priya Shah (year 9)", "Tomasz Kowalski (year 9)"]
    assert await left_on("P3") == dt.date(2026, 7, 22) and await left_on("P4") == dt.date(2026, 7, 22)
    assert await left_on("P1") is None
    # Never deleted: the pupils, and their families, are all still there.
    assert await Pupil.count() == 4 and await Contact.count() == 5
    assert await School.select(School.pupils_changed_at).where(School.id == cast.school_id).first() != stamp

    # Importing the same export again marks nobody twice; a pupil back on roll is no longer "left".
    assert (await run(admin, corridor_set(pupils=pupil_rows()[:2]))).counts()["pupils_left"] == 0
    back = await run(admin, corridor_set())
    assert back.counts()["pupils_changed"] == 2 and await left_on("P3") is None
    assert {labels[0] for _, labels in back.pupils_changed} == {"back on roll"}


async def test_left_is_the_date_in_england(cast, frozen_clock):
    admin = await actor_of(cast.admin)
    await run(admin, corridor_set())
    frozen_clock.current = dt.datetime(2026, 6, 30, 23, 30, tzinfo=dt.timezone.utc)  # 00:30 on 1 July, BST
    await run(admin, corridor_set(pupils=pupil_rows()[:3]))
    assert await left_on("P4") == dt.date(2026, 7, 1)


async def test_a_delta_import_never_marks_anyone_as_left(cast):
    admin = await actor_of(cast.admin)
    await run(admin, corridor_set())
    rows = pupil_rows()[:1]
    rows[0][4] = "Mara"
    plan = await run(admin, corridor_set(pupils=rows, groups=False, contacts=False, staff=False), delta=True)
    assert plan.counts()["pupils_left"] == 0 and plan.counts()["pupils_changed"] == 1
    assert [await left_on(m) for m in ("P1", "P2", "P3", "P4")] == [None] * 4


async def test_a_set_without_pupils_csv_marks_nobody_as_left(cast):
    admin = await actor_of(cast.admin)
    await run(admin, corridor_set())
    plan = await run(admin, corridor_set(pupils=False, contacts=False))
    assert plan.counts()["pupils_left"] == 0 and await Pupil.count().where(Pupil.left_on.is_not_null()) == 0


async def test_a_pupil_whose_row_is_bad_is_not_marked_as_left(cast):
    admin = await actor_of(cast.admin)
    await run(admin, corridor_set())
    rows = pupil_rows()
    rows[2][1] = "A801200005001"  # P3's row cannot be used this time, but P3 is in the export
    plan = await run(admin, corridor_set(pupils=rows))
    assert plan.counts()["pupils_left"] == 0 and len(plan.errors) == 1
    assert await left_on("P3") is None


async def test_a_onerosters_bulk_and_delta_users_decide_who_has_left(cast):
    admin = await actor_of(cast.admin)
    await run(admin, oneroster_zip())
    users = [u for u in oneroster_users() if u[0] != "S3"]
    # A delta may leave orgs.csv out when every user belongs to the one school.
    delta = await run(admin, oneroster_zip(users=[u for u in users if u[0] != "S9"], mode="delta", orgs=False,
                                           classes=False, enrollments=False, demographics=False))
    assert delta.counts()["pupils_left"] == 0 and await left_on("S3") is None
    bulk = await run(admin, oneroster_zip(users=users))
    assert bulk.counts()["pupils_left"] == 1 and await left_on("S3") is not None


async def test_pupils_of_another_school_are_never_marked_as_left(cast):
    theirs = await add_pupil(cast.other_school_id, "Elsie", "Where")
    admin = await actor_of(cast.admin)
    await run(admin, corridor_set())
    await run(admin, corridor_set(pupils=pupil_rows()[:1]))
    assert (await Pupil.select(Pupil.left_on).where(Pupil.id == theirs).first())["left_on"] is None


async def test_only_an_admin_can_mark_pupils_as_left(cast):
    await run(await actor_of(cast.admin), corridor_set())
    head = await actor_of(cast.head_of_year)
    with pytest.raises(NotFound):
        await imports.store_upload(head, imports.Upload(filename="x.zip", data=corridor_set(pupils=pupil_rows()[:1])))
    assert await Pupil.count().where(Pupil.left_on.is_not_null()) == 0


# More than a fifth of the school marked as left: applied only with a confirmation stating the number. -------

def many(n: int = 20) -> list[list]:
    return [[f"P{i}", upn(i), "Pupil", f"Number{i}", "", "2013-03-03", "8", "", "", "", "", ""] for i in range(1, n + 1)]


def roll(rows: list[list]) -> bytes:
    return corridor_set(pupils=rows, groups=False, contacts=False, staff=False)


async def state() -> list:
    return [await Pupil.select().order_by(Pupil.id), await AuditEvent.count(),
            await ImportBatch.count().where(ImportBatch.applied_at.is_not_null())]


async def test_marking_more_than_a_fifth_as_left_needs_the_number_confirmed(cast):
    admin = await actor_of(cast.admin)
    await run(admin, roll(many()))
    before = await state()
    key = await imports.store_upload(admin, imports.Upload(filename="export.zip", data=roll(many()[:8])))
    plan = await imports.preview(admin, key)
    assert plan.needs_confirmation and plan.left_statement == "This import would mark 12 of 20 pupils as left."
    for confirm in (None, {}, {cast.school_id: 11}, {cast.school_id: 13}, {cast.other_school_id: 12}):
        with pytest.raises(imports.LeaversUnconfirmed) as refused:
            await imports.apply(admin, key, confirm_left=confirm)
        assert refused.value.message.startswith("This import would mark 12 of 20 pupils as left. Nothing was changed")
        assert await state() == before  # nothing changed, and the upload can still be applied
    done = await imports.apply(admin, key, confirm_left={cast.school_id: 12})
    assert done.counts()["pupils_left"] == 12 and await Pupil.count().where(Pupil.left_on.is_not_null()) == 12


async def test_a_fifth_or_fewer_or_a_handful_needs_no_confirmation(cast):
    admin = await actor_of(cast.admin)
    await run(admin, roll(many(50)))
    plan = await run(admin, roll(many(50)[:40]))  # 10 of 50: exactly a fifth
    assert plan.counts()["pupils_left"] == 10 and not plan.needs_confirmation
    small = await run(admin, roll(many(50)[:31]))  # 9 more of the 40 on roll: fewer than ten
    assert small.counts()["pupils_left"] == 9


async def test_changes_only_marks_nobody_as_left_for_oneroster_too(cast):
    admin = await actor_of(cast.admin)
    await run(admin, oneroster_zip())
    users = [u for u in oneroster_users() if u[0] not in ("S1", "S2", "S3")] + [
        user("S5", "student", "New", "Pupil", ident=upn(5), grades="07")]
    # The manifest says bulk, but the admin chose changes only: the three missing pupils stay on roll.
    plan = await run(admin, oneroster_zip(users=users, demographics=[["S5", "", "", "2014-01-01", ""]]), delta=True)
    assert not plan.bulk and plan.counts()["pupils_left"] == 0 and plan.pupils_added == ["New Pupil (year 7)"]
    assert any("Imported as changes only" in note for note in plan.notes)
    assert await Pupil.count().where(Pupil.left_on.is_not_null()) == 0


async def test_the_admin_page_asks_for_the_number_and_refuses_without_it(client, settings, cast):
    await run(await actor_of(cast.admin), roll(many()))
    await sign_in(client, settings, cast.admin)
    token = await csrf(client, "/admin/import")
    page = await client.post("/admin/import", data={"_csrf_token": token, "mode": "bulk"},
                             files={"file": ("export.zip", roll(many()[:8]), "application/zip")})
    key = str(page.url).rsplit("/", 1)[1]
    before = await state()
    assert "This import would mark 12 of 20 pupils as left." in page.text
    assert "choose “Changes only” and upload it again" in page.text and "for a OneRoster zip too" in page.text
    box = re.search(r'<input type="checkbox" id="confirm-left-1" name="confirm_left"\s+value="([^"]+)" required>', page.text)
    assert box and box.group(1) == f"{cast.school_id}:12"
    assert "Yes, mark 12 of 20 pupils as left" in page.text

    for extra in ({}, {"confirm_left": f"{cast.school_id}:11"}, {"confirm_left": "12"},
                  {"confirm_left": f"{cast.other_school_id}:12"}):
        refused = await client.post(f"/admin/import/{key}/apply", data={"_csrf_token": token, **extra})
        assert refused.status_code == 400 and 'id="apply-error"' in refused.text
        assert "This import would mark 12 of 20 pupils as left. Nothing was changed" in refused.text
        assert 'id="apply-form"' in refused.text and await state() == before

    # Another role, or another school's admin, cannot apply it even with the number.
    for member in (cast.teacher, cast.outsider):
        async with http_client(create_app(settings)) as other:
            await sign_in(other, settings, member)
            other_token = await csrf(other, "/")
            attempt = await other.post(f"/admin/import/{key}/apply",
                                       data={"_csrf_token": other_token, "confirm_left": f"{cast.school_id}:12"})
            assert attempt.status_code == 404
    assert (await state())[0::2] == before[0::2]  # (signing them in is audited)

    done = await client.post(f"/admin/import/{key}/apply",
                             data={"_csrf_token": token, "confirm_left": f"{cast.school_id}:12"})
    assert done.status_code == 200 and str(done.url).endswith("/result")
    assert await Pupil.count().where(Pupil.left_on.is_not_null()) == 12


def corridor(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=120)


async def test_the_command_refuses_without_confirm_leavers_stating_the_number(cast, tmp_path):
    export = tmp_path / "export.zip"
    export.write_bytes(roll(many()))
    assert corridor("import", str(export), "--school", "northbridge", "--apply").returncode == 0
    export.write_bytes(roll(many()[:8]))
    before = await state()
    dry = corridor("import", str(export), "--school", "northbridge")
    assert dry.returncode == 0 and "Needs confirming: This import would mark 12 of 20 pupils as left." in dry.stdout
    assert "--confirm-leavers 12" in dry.stdout
    for extra in ([], ["--confirm-leavers", "11"], ["--confirm-leavers", "elsewhere=12"]):
        refused = corridor("import", str(export), "--school", "northbridge", "--apply", *extra)
        assert refused.returncode == 1
        assert "nothing was changed" in refused.stderr and "would mark 12 of 20 pupils as left" in refused.stderr
        assert "--confirm-leavers 12" in refused.stderr
        assert await state() == before
    bad = corridor("import", str(export), "--school", "northbridge", "--apply", "--confirm-leavers", "twelve")
    assert bad.returncode != 0 and "--confirm-leavers twelve" in bad.stderr and await state() == before
    done = corridor("import", str(export), "--school", "northbridge", "--apply", "--confirm-leavers", "12")
    assert done.returncode == 0, done.stderr
    assert "12 marked as left" in done.stdout and await Pupil.count().where(Pupil.left_on.is_not_null()) == 12
