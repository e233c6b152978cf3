"""The synthetic demo school: valid UPNs, families, staff in every role, seeded only once."""

from stdnum.gb import upn

from app.domain.demo.service import generate_pupils, seed_demo
from app.domain.pupils.tables import Contact, Pupil, TutorGroup
from app.domain.schools.service import ROLES
from app.domain.schools.tables import Membership, Person


async def test_it_seeds_a_realistic_school_once(database):
    created, admin_id = await seed_demo(pupil_count=120)
    assert created
    pupils = await Pupil.select()
    assert len(pupils) == 120
    assert all(upn.is_valid(p["upn"]) for p in pupils)
    assert len({p["upn"] for p in pupils}) == 120
    assert {p["year_code"] for p in pupils} <= {"7", "8", "9", "10", "11"}
    assert await TutorGroup.count() > 0
    # Families: every pupil has a contact; some families have more than one child.
    assert await Contact.count().where(Contact.priority == 1) == 120
    families = [p["family_key"] for p in pupils]
    assert len(set(families)) < len(families)
    # Staff in every role.
    assert {m["role"] for m in await Membership.select(Membership.role)} == set(ROLES)
    assert (await Person.select(Person.email).where(Person.id == admin_id).first())["email"] == "admin@oakfield.example"

    again, same_admin = await seed_demo(pupil_count=120)
    assert not again and same_admin == admin_id
    assert await Pupil.count() == 120


async def test_names_come_from_many_origins(database):
    created, _ = await seed_demo(pupil_count=10)
    school = (await Pupil.select(Pupil.school).first())["school"]
    await generate_pupils(school, 400, seed=7)
    surnames = {p["legal_last_name"] for p in await Pupil.select(Pupil.legal_last_name)}
    assert any(any(ord(ch) > 127 for ch in name) for name in surnames)  # accents and other scripts' letters
    assert len(surnames) > 150


async def test_a_trust_of_any_size_has_valid_upns_in_every_school(database):
    from app.domain.demo.service import generate_trust
    from app.domain.schools.tables import School

    school_ids = await generate_trust(slug="synthetic", schools_count=3, pupils=100, seed=3)
    assert len(school_ids) == 3
    counts = [await Pupil.count().where(Pupil.school == s) for s in school_ids]
    assert sorted(counts) == [33, 33, 34]
    assert all(upn.is_valid(p["upn"]) for p in await Pupil.select(Pupil.upn))
    assert len({s["trust"] for s in await School.select(School.trust).where(School.id.is_in(school_ids))}) == 1


async def test_the_demo_school_has_placeholder_photos(database):
    await seed_demo(pupil_count=30)
    with_photo = await Pupil.count().where(Pupil.photo_thumb.is_not_null())
    assert 0 < with_photo <= 30
