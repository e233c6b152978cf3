"""Enrolment links: a single-use, expiring link creates a passkey and signs the person in."""

from app.domain.accounts import service as accounts
from app.domain.accounts.tables import EnrolmentToken, Passkey, Session
from app.domain.audit.service import Origin
from tests.conftest import audit_actions, enrol, post_json, token_of


async def test_it_enrols_and_signs_in_from_a_link(client, settings, cast, authenticator):
    link = await accounts.issue_enrolment(settings, cast.teacher.id, by=None, origin=Origin())
    page = await client.get("/enrol/" + token_of(link))
    assert page.status_code == 200 and "Welcome, Tara Teacher" in page.text

    response = await enrol(client, authenticator, link, name="My phone")

    assert response.status_code == 200, response.text
    assert response.json() == {"redirect": "/"}
    home = await client.get("/")
    assert home.status_code == 200 and "Hello, Tara Teacher" in home.text
    passkeys = await Passkey.select(Passkey.name, Passkey.person).where(Passkey.person == cast.teacher.id)
    assert passkeys == [{"name": "My phone", "person": cast.teacher.id}]
    assert {"enrolment.issued", "enrolment.completed", "session.created"} <= set(await audit_actions())


async def test_it_refuses_a_link_used_twice(client, settings, cast, authenticator):
    link = await accounts.issue_enrolment(settings, cast.teacher.id, by=None, origin=Origin())
    assert (await enrol(client, authenticator, link)).status_code == 200
    client.cookies.clear()

    again = await client.get("/enrol/" + token_of(link))
    assert again.status_code == 410 and "already been used" in again.text
    options = await post_json(client, f"/enrol/{token_of(link)}/options")
    assert options.status_code == 410
    assert await Passkey.count().where(Passkey.person == cast.teacher.id) == 1


async def test_it_refuses_an_expired_link(client, settings, cast, frozen_clock):
    link = await accounts.issue_enrolment(settings, cast.teacher.id, by=None, origin=Origin())
    frozen_clock.advance(hours=settings.enrolment_link_hours, seconds=1)
    response = await client.get("/enrol/" + token_of(link))
    assert response.status_code == 410 and "expired" in response.text


async def test_a_new_link_replaces_the_old_one(client, settings, cast):
    old = await accounts.issue_enrolment(settings, cast.teacher.id, by=None, origin=Origin())
    new = await accounts.issue_enrolment(settings, cast.teacher.id, by=None, origin=Origin())
    assert (await client.get("/enrol/" + token_of(old))).status_code == 410
    assert (await client.get("/enrol/" + token_of(new))).status_code == 200


async def test_it_refuses_an_unknown_link(client):
    response = await client.get("/enrol/not-a-real-token")
    assert response.status_code == 410 and "not valid" in response.text


async def test_a_credential_for_another_origin_changes_nothing(client, settings, cast, authenticator):
    link = await accounts.issue_enrolment(settings, cast.teacher.id, by=None, origin=Origin())
    path = "/enrol/" + token_of(link)
    options = (await post_json(client, path + "/options", page=path)).json()
    credential = authenticator.create(options["publicKey"], origin="https://evil.example")

    response = await post_json(client, path, {"key": options["key"], "credential": credential}, page=path)

    assert response.status_code == 400
    assert await Passkey.count() == 0 and await Session.count() == 0
    token = await EnrolmentToken.select(EnrolmentToken.used_at).first()
    assert token["used_at"] is None  # the link still works for a real attempt


async def test_it_requires_user_verification(client, settings, cast, authenticator):
    link = await accounts.issue_enrolment(settings, cast.teacher.id, by=None, origin=Origin())
    authenticator.user_verified = False
    response = await enrol(client, authenticator, link)
    assert response.status_code == 400
    assert await Passkey.count() == 0


async def test_it_refuses_enrolment_without_a_csrf_token(client, settings, cast, authenticator):
    link = await accounts.issue_enrolment(settings, cast.teacher.id, by=None, origin=Origin())
    response = await client.post(f"/enrol/{token_of(link)}/options", json={})
    assert response.status_code == 403
    assert "This form has expired" in response.text
    assert await Passkey.count() == 0


async def test_a_disabled_persons_link_stops_working(client, settings, cast):
    link = await accounts.issue_enrolment(settings, cast.teacher.id, by=None, origin=Origin())
    from app.domain.schools.tables import Person

    await Person.update({Person.disabled_at: Person.created_at}).where(Person.id == cast.teacher.id)
    assert (await client.get("/enrol/" + token_of(link))).status_code == 410
