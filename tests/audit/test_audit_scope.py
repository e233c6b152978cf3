"""Who reads which audit entries: a school's admin reads their school and the sign-ins of the people who work
there; a trust-level admin reads every school of the trust; nobody reads another trust's."""

import pytest

from app import clock
from app.domain.accounts import service as accounts
from app.domain.audit import service as audit
from app.domain.audit.service import Origin
from app.domain.schools import service as schools
from app.domain.schools.service import Actor
from app.domain.schools.tables import School
from app.errors import NotFound
from tests.conftest import Member, sign_in

DSL_ADDRESS = "203.0.113.7"


@pytest.fixture
async def trust(cast, settings, sister):
    """School A is the cast's; school B is a second school of the same trust, with its own admin, and the
    trust has a trust-level admin (the `sister` fixture). A's DSL has just signed in from DSL_ADDRESS."""
    await accounts._create_session(settings, cast.dsl.id, f"{cast.dsl.name} <{cast.dsl.email}>",
                                   Origin(ip=DSL_ADDRESS), "pytest")
    return {"school_b": sister["school_id"], "admin_b": sister["admin"], "trust_admin": sister["trust_admin"]}


async def actor_of(member: Member, school_id: int | None = None) -> Actor:
    school_id = school_id or member.school_id
    school = await School.select(School.name, School.trust).where(School.id == school_id).first()
    return Actor(person_id=member.id, display_name=member.name, email=member.email, session_id=0,
                 school_id=school_id, trust_id=school["trust"], school_name=school["name"],
                 roles=await schools.roles_at(member.id, school_id), verified_at=clock.now())


def shows(events: list[dict], text: str) -> bool:
    return any(text in f"{e['actor_label']} {e['subject_label']} {e['ip']}" for e in events)


async def test_a_school_admin_does_not_see_another_schools_dsl_sign_in(cast, trust):
    events = await audit.list_events(await actor_of(trust["admin_b"]))
    assert not shows(events, cast.dsl.email) and not shows(events, DSL_ADDRESS)
    assert not shows(events, cast.teacher.email)  # nor school A's own entries (people added there)
    assert shows(events, "admin@juniors.example")  # their own school's entries are there


async def test_a_school_admin_sees_their_own_schools_people_signing_in(cast, trust):
    events = await audit.list_events(await actor_of(cast.admin))
    signin = [e for e in events if e["action"] == "session.created" and e["ip"] == DSL_ADDRESS]
    assert signin and cast.dsl.email in signin[0]["actor_label"]
    assert not shows(events, "admin@juniors.example")  # B's admin works at B only
    assert shows(events, "ceo@northbridge.example")  # a trust-wide person works here too


async def test_a_trust_admin_sees_every_school_of_the_trust(cast, trust):
    events = await audit.list_events(await actor_of(trust["trust_admin"], trust["school_b"]))
    assert shows(events, DSL_ADDRESS) and shows(events, cast.dsl.email)
    assert shows(events, cast.teacher.email) and shows(events, "admin@juniors.example")
    assert not shows(events, cast.outsider.email)


async def test_another_trusts_admin_sees_neither_school(cast, trust):
    events = await audit.list_events(await actor_of(cast.outsider))
    assert not shows(events, DSL_ADDRESS) and not shows(events, cast.dsl.email)
    assert not shows(events, "admin@juniors.example") and not shows(events, "ceo@northbridge.example")
    assert shows(events, cast.outsider.email)


async def test_someone_who_is_not_an_admin_reads_nothing(cast, trust):
    with pytest.raises(NotFound):
        await audit.list_events(await actor_of(cast.dsl))


async def test_the_audit_page_follows_the_same_rules(client, settings, cast, trust):
    await sign_in(client, settings, trust["admin_b"])
    page = await client.get("/admin/audit")
    assert page.status_code == 200 and "admin@juniors.example" in page.text
    assert cast.dsl.email not in page.text and DSL_ADDRESS not in page.text

    client.cookies.clear()
    await sign_in(client, settings, trust["trust_admin"])
    page = await client.get("/admin/audit")
    assert page.status_code == 200 and cast.dsl.email in page.text and DSL_ADDRESS in page.text

    client.cookies.clear()
    await sign_in(client, settings, cast.outsider)
    page = await client.get("/admin/audit")
    assert page.status_code == 200 and cast.dsl.email not in page.text and DSL_ADDRESS not in page.text

    client.cookies.clear()
    await sign_in(client, settings, cast.dsl)
    assert (await client.get("/admin/audit")).status_code == 404
