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


async def test_the_demo_school_has_a_term_of_behaviour_and_rewards(database):
    """The data review's charts have something to show: incidents and reward points on the school days of about a
    term before today, in lesson time, for the demo school's own pupils, with a few pupils logged far more often."""
    import datetime as dt
    from collections import Counter
    from zoneinfo import ZoneInfo

    from app import clock
    from app.domain.incidents.tables import Incident, IncidentPupil

    await seed_demo(pupil_count=120)
    london = ZoneInfo("Europe/London")
    rows = await IncidentPupil.select(IncidentPupil.pupil, IncidentPupil.points, IncidentPupil.category.kind,
                                      IncidentPupil.incident.occurred_at, IncidentPupil.pupil.school,
                                      IncidentPupil.incident.school)
    kinds = Counter(r["category.kind"] for r in rows)
    assert kinds["negative"] > 100 and kinds["positive"] > 2 * kinds["negative"], kinds
    assert sum(r["points"] for r in rows if r["category.kind"] == "positive") > 0
    assert all(r["points"] < 0 for r in rows if r["category.kind"] == "negative")
    assert all(r["pupil.school"] == r["incident.school"] for r in rows)
    today = clock.now().astimezone(london).date()
    moments = [r["incident.occurred_at"] for r in rows]
    local = [(m if m.tzinfo else m.replace(tzinfo=dt.timezone.utc)).astimezone(london) for m in moments]
    assert all(m.date() < today and m.weekday() < 5 and dt.time(8, 50) <= m.time() <= dt.time(15, 20) for m in local)
    assert (today - min(m.date() for m in local)).days > 70  # about a term: twelve school weeks
    per_pupil = Counter(r["pupil"] for r in rows if r["category.kind"] == "negative")
    assert max(per_pupil.values()) >= 4 * (sum(per_pupil.values()) / 120)  # a few pupils stand out
    assert await Incident.count() == len(rows)  # one pupil an incident

    await seed_demo(pupil_count=120)  # once only
    assert await IncidentPupil.count() == len(rows)
