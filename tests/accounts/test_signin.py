"""Usernameless passkey sign-in, and everything an attacker might send instead."""

from cryptography.hazmat.primitives.asymmetric import ec

from app.domain.accounts import service as accounts
from app.domain.accounts.tables import Session
from app.domain.audit.service import Origin
from app.domain.schools.tables import Person
from tests.conftest import audit_actions, enrol, passkey_sign_in, post_json


async def enrolled(client, settings, member, authenticator):
    link = await accounts.issue_enrolment(settings, member.id, by=None, origin=Origin())
    assert (await enrol(client, authenticator, link)).status_code == 200
    client.cookies.clear()


async def test_it_signs_in_with_a_passkey_and_no_username(client, settings, cast, authenticator):
    await enrolled(client, settings, cast.teacher, authenticator)
    assert (await client.get("/", follow_redirects=False)).status_code == 303  # signed out: sent to sign in

    response = await passkey_sign_in(client, authenticator)

    assert response.status_code == 200, response.text
    assert settings.session_cookie in response.cookies
    assert "Hello, Tara Teacher" in (await client.get("/")).text
    assert "signin.succeeded" in await audit_actions()


async def test_it_rejects_a_forged_assertion(client, settings, cast, authenticator):
    await enrolled(client, settings, cast.teacher, authenticator)
    sessions_before = await Session.count()

    response = await passkey_sign_in(client, authenticator, sign_with=ec.generate_private_key(ec.SECP256R1()))

    assert response.status_code == 400
    assert "could not be verified" in response.json()["error"]
    assert await Session.count() == sessions_before
    assert (await client.get("/", follow_redirects=False)).status_code == 303
    assert "signin.failed" in await audit_actions()


async def test_a_challenge_cannot_be_used_twice(client, settings, cast, authenticator):
    await enrolled(client, settings, cast.teacher, authenticator)
    options = (await post_json(client, "/auth/signin/options")).json()
    first = authenticator.get(options["publicKey"])
    assert (await post_json(client, "/auth/signin", {"key": options["key"], "credential": first})).status_code == 200
    client.cookies.clear()

    replay = authenticator.get(options["publicKey"])
    response = await post_json(client, "/auth/signin", {"key": options["key"], "credential": replay})
    assert response.status_code == 400 and "expired or was already used" in response.json()["error"]


async def test_a_challenge_expires_within_minutes(client, settings, cast, authenticator, frozen_clock):
    await enrolled(client, settings, cast.teacher, authenticator)
    options = (await post_json(client, "/auth/signin/options")).json()
    frozen_clock.advance(minutes=5, seconds=1)
    credential = authenticator.get(options["publicKey"])
    response = await post_json(client, "/auth/signin", {"key": options["key"], "credential": credential})
    assert response.status_code == 400


async def test_it_rejects_an_unknown_passkey(client, settings, cast, authenticator):
    stranger = type(authenticator)(origin=authenticator.origin)
    stranger.create({"rp": {"id": "localhost"}, "user": {"id": "eA"}, "challenge": "eA"})
    response = await passkey_sign_in(client, stranger)
    assert response.status_code == 400 and "not registered" in response.json()["error"]


async def test_it_requires_user_verification_at_sign_in(client, settings, cast, authenticator):
    await enrolled(client, settings, cast.teacher, authenticator)
    authenticator.user_verified = False
    assert (await passkey_sign_in(client, authenticator)).status_code == 400


async def test_a_disabled_person_cannot_sign_in(client, settings, cast, authenticator):
    await enrolled(client, settings, cast.teacher, authenticator)
    await Person.update({Person.disabled_at: Person.created_at}).where(Person.id == cast.teacher.id)
    response = await passkey_sign_in(client, authenticator)
    assert response.status_code == 400 and "not active" in response.json()["error"]


async def test_sign_in_without_csrf_token_is_refused(client, settings, cast, authenticator):
    response = await client.post("/auth/signin/options", json={})
    assert response.status_code == 403


async def test_sign_in_attempts_are_rate_limited(settings, cast, authenticator):
    from dataclasses import replace

    from app.main import create_app
    from tests.conftest import http_client

    limited = replace(settings, auth_rate_limit_per_minute=3)
    async with http_client(create_app(limited), "http://localhost:8000") as client:
        statuses = [(await post_json(client, "/auth/signin/options")).status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
