"""Importing a OneRoster 1.1 CSV zip: bulk and delta, as the manifest says."""

import datetime as dt

import pytest

from app.domain.imports import service as imports
from app.domain.pupils.tables import Contact, Pupil, TutorGroup
from app.domain.schools.service import roles_at
from app.domain.schools.tables import Person
from app.errors import NotFound
from tests.imports.files import actor_of, oneroster_users, oneroster_zip, upn, user


async def run(actor, data: bytes):
    key = await imports.store_upload(actor, imports.Upload(filename="oneroster.zip", data=data))
    return await imports.apply(actor, key)


async def pupil(mis_id: str) -> dict:
    return await Pupil.select(Pupil.all_columns(), Pupil.tutor_group.name, Pupil.tutor_group.tutor_name).where(
        Pupil.mis_id == mis_id).first()


async def test_a_bulk_zip_imports_students_homerooms_parents_and_staff(cast):
    admin = await actor_of(cast.admin)
    plan = await run(admin, oneroster_zip())
    assert plan.format == "oneroster" and plan.bulk
    counts = plan.counts()
    assert (counts["pupils_added"], counts["tutor_groups_added"], counts["contacts_added"], counts["staff_added"]) == (3, 2, 3, 2)
    assert plan.errors == []

    amara = await pupil("S1")
    assert (amara["upn"], amara["legal_first_name"], amara["year_code"]) == (upn(1), "Amara", "7")
    assert amara["date_of_birth"] == dt.date(2014, 10, 2)
    assert (amara["tutor_group.name"], amara["tutor_group.tutor_name"]) == ("7A", "Tess Tutor")
    assert (await pupil("S2"))["upn"] == upn(2)  # from userIds {UPN:...}
    tomasz = await pupil("S3")
    assert (tomasz["year_code"], tomasz["tutor_group.name"]) == ("9", "9B")  # no grades: the homeroom's year
    assert await Pupil.count().where(Pupil.mis_id == "S9") == 0  # another school's student
    assert await TutorGroup.count().where(TutorGroup.mis_id == "MATHS") == 0  # a scheduled class is not a tutor group
    assert any("not homerooms" in note for note in plan.notes)

    contacts = await Contact.select(Contact.name, Contact.relationship, Contact.priority, Contact.parental_responsibility,
                                    Contact.phone).where(Contact.pupil == amara["id"]).order_by(Contact.priority)
    assert contacts == [
        {"name": "Ngozi Okonkwo", "relationship": "Parent", "priority": 1, "parental_responsibility": True, "phone": "07700 900001"},
        {"name": "Chidi Okonkwo", "relationship": "Guardian", "priority": 2, "parental_responsibility": True, "phone": "07700 900002"}]
    maeve = await Contact.select().where(Contact.mis_id == "A3").first()
    assert (maeve["relationship"], maeve["parental_responsibility"]) == ("Relative", False)

    office = await Person.select().where(Person.email == "adam.office@northbridge.example").first()
    assert office and await roles_at(office["id"], cast.school_id) == {"staff"}

    again = (await run(admin, oneroster_zip())).counts()
    assert (again["pupils_added"], again["pupils_changed"], again["contacts_added"], again["contacts_changed"],
            again["tutor_groups_changed"], again["staff_added"]) == (0, 0, 0, 0, 0, 0)


async def test_a_delta_updates_only_what_it_names(cast):
    admin = await actor_of(cast.admin)
    await run(admin, oneroster_zip())
    users = [user("S2", "student", "Shiv", "O'Neill-Byrne", user_ids=f"{{UPN:{upn(2)}}}", agents="A3", grades="08",
                  status="active"),
             user("S4", "student", "New", "Starter", ident=upn(5), grades="07", status="active"),
             user("S1", "student", "Amara", "Okonkwo", ident=upn(1), grades="07", status="tobedeleted")]
    enrollments = [["E9", "active", "2026-09-01", "K9B", "ORG1", "S2", "student", "", "", ""],
                   ["E10", "active", "2026-09-01", "K7A", "ORG1", "S4", "student", "", "", ""],
                   ["E11", "active", "2026-09-01", "K7A", "ORG1", "S3", "student", "", "", ""]]
    demographics = [["S4", "active", "2026-09-01", "2014-12-25", "female"],
                    ["S3", "active", "2026-09-01", "2012-05-13", "male"]]
    plan = await run(admin, oneroster_zip(mode="delta", users=users, enrollments=enrollments,
                                          demographics=demographics, classes=False, orgs=False))
    assert not plan.bulk and plan.counts()["pupils_left"] == 0
    assert plan.pupils_added == ["New Starter (year 7)"]
    changed = dict(plan.pupils_changed)
    assert changed["Shiv O'Neill-Byrne (year 8)"] == ["legal last name", "year", "tutor group"]
    assert changed["Tomasz Kowalski (year 9)"] == ["date of birth", "tutor group"]  # not in users, but moved
    assert any("tobedeleted" in note for note in plan.notes)
    assert (await pupil("S1"))["left_on"] is None  # a delta never marks anyone as left
    assert (await pupil("S3"))["tutor_group.name"] == "7A"
    assert (await pupil("S4"))["date_of_birth"] == dt.date(2014, 12, 25)


async def test_bad_rows_in_a_oneroster_zip_are_reported(cast):
    admin = await actor_of(cast.admin)
    users = oneroster_users() + [
        user("S5", "student", "Bad", "Check", ident="A801200005001", grades="07"),
        user("S6", "student", "No", "Year", ident=upn(6), grades="KG"),
        user("S1", "student", "Twice", "Listed", ident=upn(7), grades="07"),
        user("S7", "student", "No", "Birthday", ident=upn(8), grades="07"),
        user("T3", "teacher", "No", "Email"),
    ]
    plan = await run(admin, oneroster_zip(users=users))
    found = {(p.file, p.line): p.reason for p in plan.errors}
    assert found[("users.csv", 11)] == "UPN A801200005001: the check letter is wrong"
    assert found[("users.csv", 12)].startswith("unknown year code 'KG'")
    assert found[("users.csv", 2)] == found[("users.csv", 13)] == "duplicate id S1 (lines 2, 13)"
    assert found[("users.csv", 14)] == "a new pupil needs date of birth"
    assert found[("users.csv", 15)] == "no email address: staff are matched by email"
    assert await Pupil.count() == 2  # S2 and S3


@pytest.mark.parametrize("kwargs, reason", [
    ({"version": "1.2"}, "This manifest is for OneRoster 1.2; Corridor reads OneRoster 1.1 CSV."),
    ({"manifest": {"file.users": "sometimes"}}, "file.users is 'sometimes': it should be absent, bulk or delta."),
    ({"enrollments": False, "manifest": {"file.enrollments": "bulk"}},
     "The manifest says file.enrollments is bulk, but the zip has no enrollments.csv."),
    ({"users": False}, "The manifest marks users as absent: there is nothing to import."),
    ({"orgs": [["ORG1", "", "", "Somewhere", "school", "999", ""], ["ORG2", "", "", "Elsewhere", "school", "998", ""]]},
     "orgs.csv lists 2 schools and none of them is clearly Northbridge Academy"),
])
async def test_a_malformed_oneroster_zip_applies_nothing(cast, kwargs, reason):
    admin = await actor_of(cast.admin)
    key = await imports.store_upload(admin, imports.Upload(filename="oneroster.zip", data=oneroster_zip(**kwargs)))
    plan = await imports.preview(admin, key)
    assert len(plan.fatal) == 1 and plan.fatal[0].reason.startswith(reason)
    assert await Pupil.count() == 0 and await TutorGroup.count() == 0


async def test_another_schools_export_is_refused(cast):
    admin = await actor_of(cast.admin)
    orgs = [["ORG1", "", "", "Elsewhere High", "school", "802/4002", ""]]
    key = await imports.store_upload(admin, imports.Upload(filename="oneroster.zip", data=oneroster_zip(orgs=orgs)))
    plan = await imports.preview(admin, key)
    assert [p.reason for p in plan.fatal] == [
        "This export is for another school: its identifier 8024002 is not Northbridge Academy's URN or DfE number (8014001)."]


async def test_the_school_is_found_among_a_trusts_orgs(cast):
    outsider = await actor_of(cast.outsider)  # Elsewhere High, DfE number 8024002
    plan = await run(outsider, oneroster_zip())
    assert plan.pupils_added == ["Other School (year 8)"]
    assert {r["school"] for r in await Pupil.select(Pupil.school)} == {cast.other_school_id}


async def test_a_non_admin_cannot_preview_an_admins_upload(cast):
    admin, teacher = await actor_of(cast.admin), await actor_of(cast.teacher)
    key = await imports.store_upload(admin, imports.Upload(filename="oneroster.zip", data=oneroster_zip()))
    with pytest.raises(NotFound):
        await imports.preview(teacher, key)
    with pytest.raises(NotFound):
        await imports.apply(teacher, key)
    assert await Pupil.count() == 0
