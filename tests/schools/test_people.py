"""Admins invite staff, disable them (ending every session at once) and issue new enrolment links."""

from app.domain.accounts.tables import EnrolmentToken, Session
from app.domain.schools.service import roles_at
from app.domain.schools.tables import Person
from tests.conftest import audit_actions, post_form, sign_in


async def test_an_admin_invites_someone_and_gets_a_single_use_link(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    response = await post_form(client, "/admin/people", {
        "display_name": "Nina New", "email": " Nina.New@Northbridge.example ", "roles": ["staff", "pastoral"]},
        page="/admin/people")
    assert response.status_code == 200
    assert "http://localhost:8000/enrol/" in response.text
    person = await Person.select().where(Person.email == "nina.new@northbridge.example").first()
    assert person["display_name"] == "Nina New"
    assert await roles_at(person["id"], cast.school_id) == {"staff", "pastoral"}
    assert await EnrolmentToken.count().where(EnrolmentToken.person == person["id"]) == 1
    assert {"person.created", "roles.changed", "enrolment.issued"} <= set(await audit_actions())


async def test_a_bad_invitation_keeps_what_was_typed_and_creates_nothing(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    before = await Person.count()
    response = await post_form(client, "/admin/people", {"display_name": "Nina New", "email": "not-an-email",
                                                         "roles": ["staff"]}, page="/admin/people")
    assert response.status_code == 400
    assert "Enter an email address" in response.text and 'value="Nina New"' in response.text
    assert await Person.count() == before


async def test_an_email_from_another_trust_cannot_be_taken_over(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    response = await post_form(client, "/admin/people", {"display_name": "Otto", "email": cast.outsider.email,
                                                         "roles": ["staff"]}, page="/admin/people")
    assert response.status_code == 400
    assert await roles_at(cast.outsider.id, cast.school_id) == frozenset()


async def test_disabling_someone_ends_all_their_sessions_at_once(client, settings, cast):
    from app.main import create_app
    from tests.conftest import http_client

    async with http_client(create_app(settings), "http://localhost:8000") as teacher:
        await sign_in(teacher, settings, cast.teacher)
        await sign_in(teacher, settings, cast.teacher)
        assert (await teacher.get("/", follow_redirects=False)).status_code == 200

        await sign_in(client, settings, cast.admin)
        response = await post_form(client, f"/admin/people/{cast.teacher.id}/disable", {"reason": "left the school"},
                                   page="/admin/people")
        assert response.status_code == 200 and "disabled" in response.text

        assert (await teacher.get("/", follow_redirects=False)).status_code == 303
    assert await Session.count().where((Session.person == cast.teacher.id) & Session.ended_at.is_null()) == 0
    assert "person.disabled" in await audit_actions()


async def test_an_admin_cannot_disable_themselves(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    response = await post_form(client, f"/admin/people/{cast.admin.id}/disable", page="/admin/people")
    assert response.status_code == 400
    assert (await Person.select(Person.disabled_at).where(Person.id == cast.admin.id).first())["disabled_at"] is None


async def test_a_new_link_for_a_lost_phone_replaces_the_old_one(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    first = await post_form(client, f"/admin/people/{cast.teacher.id}/link", page="/admin/people")
    second = await post_form(client, f"/admin/people/{cast.teacher.id}/link", page="/admin/people")
    assert first.status_code == second.status_code == 200
    live = await EnrolmentToken.count().where(
        (EnrolmentToken.person == cast.teacher.id) & EnrolmentToken.revoked_at.is_null())
    assert live == 1


async def test_a_disabled_person_can_be_enabled_again(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    await post_form(client, f"/admin/people/{cast.teacher.id}/disable", page="/admin/people")
    await post_form(client, f"/admin/people/{cast.teacher.id}/enable", page="/admin/people")
    assert (await Person.select(Person.disabled_at).where(Person.id == cast.teacher.id).first())["disabled_at"] is None
    assert "person.enabled" in await audit_actions()
