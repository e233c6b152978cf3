"""Every signed-in request reads its session, person, school and roles in one statement (issue 12, point 5), and
writes "last seen" at most once a minute, while the idle timeout still holds (runs on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from app import clock
from app.domain.accounts import service as accounts
from app.domain.accounts.tables import Session
from app.domain.audit.service import Origin
from app.domain.schools import service as schools
from app.domain.schools.tables import Membership, Person, School
from tests.conftest import sign_in


@pytest.fixture
def statements(monkeypatch) -> list[str]:
    """Every statement the app sends to the database from here on (Piccolo sends each through run_querystring)."""
    engine_class = type(Session._meta.db)  # PostgresEngine has __slots__: the method is patched on its class
    sent: list[str] = []
    original = engine_class.run_querystring

    async def counted(self, querystring, *args, **kwargs):
        sent.append(str(querystring))
        return await original(self, querystring, *args, **kwargs)

    monkeypatch.setattr(engine_class, "run_querystring", counted)
    return sent


async def _membership(person_id: int, trust_id: int, school_id: int | None, role: str) -> None:
    await Membership.insert(Membership(person=person_id, trust=trust_id, school=school_id, role=role,
                                       created_at=clock.now()))


async def test_it_loads_the_session_person_school_and_roles_in_one_statement(settings, cast, sister, statements):
    token = await accounts._create_session(settings, cast.head_of_year.id, "x", Origin(), "pytest")
    trust = (await School.select(School.trust).where(School.id == cast.school_id).first())["trust"]
    await _membership(cast.head_of_year.id, trust, None, "pastoral")  # trust-wide: every school of the trust
    statements.clear()

    actor = await accounts.load_actor(settings, token, Origin(ip="10.1.2.3"))

    assert len(statements) == 1, statements
    assert (actor.person_id, actor.school_id, actor.trust_id, actor.school_name, actor.email) == (
        cast.head_of_year.id, cast.school_id, trust, "Northbridge Academy", "hoy@northbridge.example")
    assert actor.roles == {"staff", "head_of_year", "pastoral"}
    assert actor.origin.ip == "10.1.2.3"

    statements.clear()
    again = await accounts.recheck_actor(settings, actor)
    assert len(statements) == 1, statements
    assert again.roles == actor.roles and again.session_id == actor.session_id


async def test_it_gives_the_roles_of_the_sessions_school_only(settings, cast, sister):
    trust = (await School.select(School.trust).where(School.id == cast.school_id).first())["trust"]
    teacher = cast.teacher.id
    await _membership(teacher, trust, sister["school_id"], "dsl")  # at the sister school only
    await _membership(teacher, trust, None, "responder")  # trust-wide
    other_trust = (await School.select(School.trust).where(School.id == cast.other_school_id).first())["trust"]
    await _membership(teacher, other_trust, None, "admin")  # trust-wide at another trust: never here
    await _membership(teacher, other_trust, cast.other_school_id, "pastoral")
    token = await accounts._create_session(settings, teacher, "x", Origin(), "pytest")
    await Session.update({Session.school: cast.school_id}).where(Session.token_hash == accounts._hash(token))

    at_home = await accounts.load_actor(settings, token, Origin())
    assert at_home.roles == {"staff", "responder"}

    await Session.update({Session.school: sister["school_id"]}).where(Session.id == at_home.session_id)
    at_sister = await accounts.load_actor(settings, token, Origin())
    assert (at_sister.school_id, at_sister.school_name) == (sister["school_id"], "Northbridge Juniors")
    assert at_sister.roles == {"dsl", "responder"}

    await Session.update({Session.school: cast.other_school_id}).where(Session.id == at_home.session_id)
    elsewhere = await accounts.load_actor(settings, token, Origin())
    assert (elsewhere.school_name, elsewhere.roles) == ("Elsewhere High", {"admin", "pastoral"})


async def test_a_person_with_no_role_at_the_school_or_no_school_has_no_roles(settings, cast):
    token = await accounts._create_session(settings, cast.teacher.id, "x", Origin(), "pytest")
    await Membership.delete().where(Membership.person == cast.teacher.id)
    actor = await accounts.load_actor(settings, token, Origin())
    assert actor is not None and actor.roles == frozenset()

    await Session.update({Session.school: None}).where(Session.id == actor.session_id)
    actor = await accounts.load_actor(settings, token, Origin())
    assert (actor.school_id, actor.trust_id, actor.school_name, actor.roles) == (None, None, "", frozenset())


async def test_it_refuses_unknown_ended_and_disabled_in_the_same_statement(settings, cast, statements):
    assert await accounts.load_actor(settings, "no-such-token", Origin()) is None
    assert await accounts.load_actor(settings, "", Origin()) is None

    token = await accounts._create_session(settings, cast.teacher.id, "x", Origin(), "pytest")
    await Person.update({Person.disabled_at: clock.now()}).where(Person.id == cast.teacher.id)
    statements.clear()
    assert await accounts.load_actor(settings, token, Origin()) is None
    assert len(statements) == 1, statements

    await Person.update({Person.disabled_at: None}).where(Person.id == cast.teacher.id)
    actor = await accounts.load_actor(settings, token, Origin())
    assert actor is not None
    await accounts.end_all_sessions(cast.teacher.id, reason="revoked")
    assert await accounts.load_actor(settings, token, Origin()) is None
    assert await accounts.recheck_actor(settings, actor) is None


async def test_step_up_freshness_comes_from_the_session_on_every_request(settings, cast, frozen_clock):
    token = await accounts._create_session(settings, cast.admin.id, "x", Origin(), "pytest")
    assert accounts.recently_verified(settings, await accounts.load_actor(settings, token, Origin()))
    frozen_clock.advance(minutes=settings.step_up_minutes + 1)
    assert not accounts.recently_verified(settings, await accounts.load_actor(settings, token, Origin()))
    await Session.update({Session.verified_at: clock.now()}).where(Session.token_hash == accounts._hash(token))
    assert accounts.recently_verified(settings, await accounts.load_actor(settings, token, Origin()))


def _touches(statements: list[str]) -> int:
    return sum(1 for s in statements if s.lstrip().upper().startswith("UPDATE") and "last_seen_at" in s)


async def test_last_seen_is_written_at_most_once_a_minute_and_the_idle_timeout_still_holds(
        client, settings, cast, frozen_clock, statements):
    await sign_in(client, settings, cast.teacher)
    statements.clear()
    # Ten minutes of use, a request every 30 seconds: 20 requests, "last seen" written once a minute.
    for _ in range(20):
        frozen_clock.advance(seconds=30)
        assert (await client.get("/", follow_redirects=False)).status_code == 200
    assert _touches(statements) == 10, statements
    last_seen = (await Session.select(Session.last_seen_at).first())["last_seen_at"]
    assert clock.now() - last_seen < accounts.TOUCH_EVERY

    # Used within the idle timeout (give or take the minute the write may lag): still signed in.
    frozen_clock.advance(minutes=settings.session_idle_minutes - 1)
    assert (await client.get("/", follow_redirects=False)).status_code == 200

    # Idle for the whole timeout since that request: signed out, for good.
    frozen_clock.advance(minutes=settings.session_idle_minutes)
    response = await client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/signin"
    assert (await Session.select(Session.ended_reason).first())["ended_reason"] == "idle timeout"
    frozen_clock.current -= dt.timedelta(minutes=settings.session_idle_minutes)
    assert (await client.get("/", follow_redirects=False)).status_code == 303  # ended stays ended
