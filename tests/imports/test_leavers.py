"""A full (bulk) export marks pupils missing from it as left, never deleting them; a delta marks nobody."""

import datetime as dt

import pytest

from app.domain.imports import service as imports
from app.domain.pupils.tables import Contact, Pupil
from app.domain.schools.tables import School
from app.errors import NotFound
from tests.conftest import add_pupil
from tests.imports.files import actor_of, corridor_set, oneroster_users, oneroster_zip, pupil_rows


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
