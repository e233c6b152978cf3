"""Importing a Corridor CSV set: pupils, tutor groups and family contacts, upserted by MIS id."""

import datetime as dt

import pytest

from app.domain.imports import service as imports
from app.domain.pupils.tables import Contact, Pupil, TutorGroup
from app.domain.schools.tables import School
from app.errors import NotFound
from tests.imports.files import actor_of, contact_rows, corridor_set, pupil_rows, upn


async def run(actor, data: bytes, *, delta: bool = False, name: str = "export.zip", photos: bytes | None = None):
    key = await imports.store_upload(actor, imports.Upload(filename=name, data=data, delta=delta,
                                                           photos_filename="photos.zip" if photos else "",
                                                           photos=photos))
    return await imports.apply(actor, key)


async def test_it_imports_pupils_groups_and_contacts(cast):
    admin = await actor_of(cast.admin)
    plan = await run(admin, corridor_set(staff=False))
    counts = plan.counts()
    assert (counts["pupils_added"], counts["tutor_groups_added"], counts["contacts_added"]) == (4, 2, 5)
    assert counts["rows_skipped"] == 0

    shiv = await Pupil.select(Pupil.all_columns(), Pupil.tutor_group.name).where(Pupil.mis_id == "P2").first()
    assert shiv["school"] == cast.school_id and shiv["upn"] == upn(2)
    assert (shiv["legal_first_name"], shiv["preferred_first_name"], shiv["legal_last_name"]) == ("Siobhán", "Shiv", "O'Neill")
    assert shiv["tutor_group.name"] == "7A" and shiv["year_code"] == "7"
    assert (shiv["sen_provision"], shiv["sen_need"]) == ("K", "SPLD")
    tomasz = await Pupil.select().where(Pupil.mis_id == "P3").first()
    assert tomasz["date_of_birth"] == dt.date(2012, 5, 12)  # DD/MM/YYYY is read the British way
    assert tomasz["medical_alert"] == "Asthma: inhaler in bag"
    assert (await Pupil.select(Pupil.attendance_percent).where(Pupil.mis_id == "P1").first())["attendance_percent"] == 96.5
    group = await TutorGroup.select().where(TutorGroup.mis_id == "G9B").first()
    assert (group["name"], group["year_code"], group["tutor_name"], group["school"]) == ("9B", "9", "Ms Form", cast.school_id)
    assert await School.select(School.pupils_changed_at).where(School.id == cast.school_id).first() != {"pupils_changed_at": None}


async def test_contacts_keep_priority_and_parental_responsibility(cast):
    admin = await actor_of(cast.admin)
    await run(admin, corridor_set(staff=False))
    amara = (await Pupil.select(Pupil.id).where(Pupil.mis_id == "P1").first())["id"]
    rows = await Contact.select().where(Contact.pupil == amara).order_by(Contact.priority)
    assert [(r["name"], r["priority"], r["parental_responsibility"], r["no_contact"]) for r in rows] == [
        ("Ngozi Okonkwo", 1, True, False), ("Chidi Okonkwo", 2, True, True)]
    grandmother = await Contact.select().where(Contact.mis_id == "C3").first()
    assert grandmother["parental_responsibility"] is False and grandmother["relationship"] == "Grandmother"
    # No priority column value: the order in the file is the order to call.
    tomasz = (await Pupil.select(Pupil.id).where(Pupil.mis_id == "P3").first())["id"]
    rows = await Contact.select(Contact.mis_id, Contact.priority).where(Contact.pupil == tomasz).order_by(Contact.priority)
    assert [(r["mis_id"], r["priority"]) for r in rows] == [("C4", 1), ("C5", 2)]


async def test_a_blank_parental_responsibility_is_never_assumed(cast):
    admin = await actor_of(cast.admin)
    rows = contact_rows()
    rows[0][5] = ""
    await run(admin, corridor_set(contacts=rows, staff=False))
    assert (await Contact.select().where(Contact.mis_id == "C1").first())["parental_responsibility"] is False


async def test_importing_the_same_set_again_changes_nothing(cast):
    admin = await actor_of(cast.admin)
    await run(admin, corridor_set())
    stamp = await School.select(School.pupils_changed_at).where(School.id == cast.school_id).first()
    again = (await run(admin, corridor_set())).counts()
    assert [again[k] for k in again if k.endswith(("added", "changed", "left", "replaced"))
            and not k.endswith("unchanged")] == [0] * 10
    assert (again["pupils_unchanged"], again["tutor_groups_unchanged"], again["contacts_unchanged"]) == (4, 2, 5)
    assert await Pupil.count() == 4 and await Contact.count() == 5 and await TutorGroup.count() == 2
    # Nothing changed, so the lookup index is not told to rebuild.
    assert await School.select(School.pupils_changed_at).where(School.id == cast.school_id).first() == stamp


async def test_a_changed_row_updates_the_pupil_in_place(cast):
    admin = await actor_of(cast.admin)
    await run(admin, corridor_set())
    first_id = (await Pupil.select(Pupil.id).where(Pupil.mis_id == "P4").first())["id"]
    pupils = pupil_rows()
    pupils[3][6], pupils[3][7], pupils[3][4] = "10", "", "Pri"  # moved up a year, no form yet, a preferred name
    contacts = contact_rows()
    contacts[0][7] = "07700 900099"
    plan = await run(admin, corridor_set(pupils=pupils, contacts=contacts))
    assert plan.counts()["pupils_changed"] == 1 and plan.counts()["contacts_changed"] == 1
    assert plan.pupils_changed[0][1] == ["preferred first name", "year", "tutor group"]
    priya = await Pupil.select().where(Pupil.mis_id == "P4").first()
    assert (priya["id"], priya["year_code"], priya["tutor_group"], priya["preferred_first_name"]) == (first_id, "10", None, "Pri")
    assert (await Contact.select(Contact.phone).where(Contact.mis_id == "C1").first())["phone"] == "07700 900099"


async def test_a_column_left_out_keeps_what_corridor_has(cast):
    admin = await actor_of(cast.admin)
    await run(admin, corridor_set())
    header = ["mis_id", "upn", "legal_first_name", "legal_last_name", "date_of_birth", "year"]
    rows = [[r[0], r[1], r[2], r[3], r[5], r[6]] for r in pupil_rows()]
    plan = await run(admin, corridor_set(groups=False, contacts=False, staff=False, pupils=rows, pupils_header=header))
    assert plan.counts()["pupils_changed"] == 0
    tomasz = await Pupil.select().where(Pupil.mis_id == "P3").first()
    assert tomasz["medical_alert"] == "Asthma: inhaler in bag" and tomasz["sen_provision"] == "E"


async def test_a_contact_for_an_unknown_pupil_is_reported_and_the_rest_applies(cast):
    admin = await actor_of(cast.admin)
    rows = contact_rows() + [["C9", "P99", "Nobody Known", "Aunt", "1", "no", "", "", ""]]
    plan = await run(admin, corridor_set(contacts=rows))
    assert [(p.file, p.line) for p in plan.errors] == [("contacts.csv", 7)]
    assert "unknown pupil id P99" in plan.errors[0].reason
    assert await Contact.count() == 5


async def test_a_pupil_in_an_unknown_tutor_group_is_reported(cast):
    admin = await actor_of(cast.admin)
    pupils = pupil_rows()
    pupils[0][7] = "NOPE"
    plan = await run(admin, corridor_set(pupils=pupils, staff=False))
    assert [(p.file, p.line, p.reason) for p in plan.errors] == [
        ("contacts.csv", 2, "pupil P1 was skipped, so this contact is too"),
        ("contacts.csv", 3, "pupil P1 was skipped, so this contact is too"),
        ("pupils.csv", 2, "unknown tutor group id NOPE")]
    assert await Pupil.count() == 3 and await Contact.count() == 3


async def test_a_non_admin_cannot_import(cast):
    for member in (cast.teacher, cast.dsl, cast.pastoral):
        actor = await actor_of(member)
        with pytest.raises(NotFound):
            await imports.store_upload(actor, imports.Upload(filename="x.zip", data=corridor_set()))
    assert await Pupil.count() == 0


async def test_it_imports_into_the_admins_own_school_only(cast):
    outsider = await actor_of(cast.outsider)
    await run(outsider, corridor_set(staff=False))
    assert {r["school"] for r in await Pupil.select(Pupil.school)} == {cast.other_school_id}
    assert await TutorGroup.count().where(TutorGroup.school == cast.school_id) == 0
