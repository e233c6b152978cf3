"""An admin acts on memberships at their own school only: never a link, a disable or an enable for a colleague
who also works at another school of the trust. Only a trust admin manages a person across schools."""

import re

from app.domain.accounts.tables import EnrolmentToken, Session
from app.domain.audit.service import Origin
from app.domain.schools import service as schools
from app.domain.schools.service import roles_at
from app.domain.schools.tables import Person
from tests.conftest import enrol, http_client, post_form, sign_in


async def live_links(person_id: int) -> int:
    return await EnrolmentToken.count().where(
        (EnrolmentToken.person == person_id) & EnrolmentToken.revoked_at.is_null() & EnrolmentToken.used_at.is_null())


async def test_it_adds_another_schools_dsl_as_a_membership_without_a_link(client, settings, cast, sister):
    await sign_in(client, settings, sister["admin"])
    response = await post_form(client, "/admin/people", {"display_name": "Whoever", "email": cast.dsl.email,
                                                         "roles": ["staff"]}, page="/admin/people")
    assert response.status_code == 200
    assert "/enrol/" not in response.text
    assert "already has a Corridor account at another school" in response.text
    assert await live_links(cast.dsl.id) == 0
    # A new membership at B; the DSL's roles at A are untouched.
    assert await roles_at(cast.dsl.id, sister["school_id"]) == {"staff"}
    assert await roles_at(cast.dsl.id, cast.school_id) == {"staff", "dsl"}
    assert (await Person.select(Person.display_name).where(Person.id == cast.dsl.id).first())["display_name"] == "Dee Lead"


async def test_it_refuses_a_new_link_for_a_colleague_who_works_at_another_school(client, settings, cast, sister):
    await schools.add_person(email=cast.dsl.email, display_name="Dee Lead", school_id=sister["school_id"],
                             roles=["staff"], actor=None, origin=Origin(ip="test"))
    await sign_in(client, settings, sister["admin"])
    response = await post_form(client, f"/admin/people/{cast.dsl.id}/link", page="/admin/people")
    assert response.status_code == 400
    assert "/enrol/" not in response.text and "trust admin" in response.text
    assert await live_links(cast.dsl.id) == 0
    page = await client.get(f"/admin/people/{cast.dsl.id}")
    assert "Issue a new enrolment link" not in page.text and "Disable" not in page.text


async def test_it_refuses_to_disable_or_enable_a_colleague_who_works_at_another_school(client, settings, cast, sister):
    await schools.add_person(email=cast.dsl.email, display_name="Dee Lead", school_id=sister["school_id"],
                             roles=["staff"], actor=None, origin=Origin(ip="test"))
    async with http_client(client._transport.app) as dsl:
        await sign_in(dsl, settings, cast.dsl)
        await sign_in(client, settings, sister["admin"])
        response = await post_form(client, f"/admin/people/{cast.dsl.id}/disable", {"reason": "x"}, page="/admin/people")
        assert response.status_code == 400
        assert (await Person.select(Person.disabled_at).where(Person.id == cast.dsl.id).first())["disabled_at"] is None
        assert (await dsl.get("/", follow_redirects=False)).status_code == 200
    assert await Session.count().where((Session.person == cast.dsl.id) & Session.ended_at.is_null()) == 1


async def test_it_answers_not_found_for_a_person_only_at_another_school(client, settings, cast, sister):
    await sign_in(client, settings, sister["admin"])
    for path in (f"/admin/people/{cast.dsl.id}/link", f"/admin/people/{cast.dsl.id}/disable",
                 f"/admin/people/{cast.dsl.id}/enable", f"/admin/people/{cast.dsl.id}/remove"):
        response = await post_form(client, path, page="/admin/people")
        assert response.status_code == 404, path
        assert cast.dsl.email not in response.text
    assert (await client.get(f"/admin/people/{cast.dsl.id}")).status_code == 404
    assert await live_links(cast.dsl.id) == 0


async def test_it_lets_a_school_admin_remove_a_colleague_from_their_school_only(client, settings, cast, sister):
    await schools.add_person(email=cast.dsl.email, display_name="Dee Lead", school_id=sister["school_id"],
                             roles=["staff"], actor=None, origin=Origin(ip="test"))
    await sign_in(client, settings, sister["admin"])
    response = await post_form(client, f"/admin/people/{cast.dsl.id}/remove", page="/admin/people")
    assert response.status_code == 200
    assert await roles_at(cast.dsl.id, sister["school_id"]) == frozenset()
    assert await roles_at(cast.dsl.id, cast.school_id) == {"staff", "dsl"}


async def test_it_lets_a_trust_admin_manage_a_person_across_schools(client, settings, cast, sister, authenticator):
    await schools.add_person(email=cast.dsl.email, display_name="Dee Lead", school_id=sister["school_id"],
                             roles=["staff"], actor=None, origin=Origin(ip="test"))
    await sign_in(client, settings, sister["trust_admin"])
    response = await post_form(client, f"/admin/people/{cast.dsl.id}/link", page="/admin/people")
    assert response.status_code == 200 and "/enrol/" in response.text
    response = await post_form(client, f"/admin/people/{cast.dsl.id}/disable", {"reason": "left"}, page="/admin/people")
    assert response.status_code == 200
    assert (await Person.select(Person.disabled_at).where(Person.id == cast.dsl.id).first())["disabled_at"] is not None


async def test_it_still_lets_a_school_admin_manage_their_own_staff_wholly(client, settings, cast, sister, authenticator):
    """A person whose every role is at the admin's school: link, enrol and disable work as before."""
    await sign_in(client, settings, cast.admin)
    response = await post_form(client, f"/admin/people/{cast.teacher.id}/link", page="/admin/people")
    assert response.status_code == 200
    link = re.search(r"http://localhost:8000/enrol/[\w-]+", response.text).group(0)
    async with http_client(client._transport.app) as phone:
        done = await enrol(phone, authenticator, link)
        assert done.status_code == 200, done.text


async def test_the_takeover_path_is_closed_end_to_end(client, settings, cast, sister, authenticator):
    """The review's attack: B's admin invites A's DSL by email and enrols with the link to read A's concerns."""
    await sign_in(client, settings, sister["admin"])
    response = await post_form(client, "/admin/people", {"display_name": "Dee", "email": cast.dsl.email,
                                                         "roles": ["admin"]}, page="/admin/people")
    assert "/enrol/" not in response.text
    again = await post_form(client, f"/admin/people/{cast.dsl.id}/link", page="/admin/people")
    assert "/enrol/" not in again.text
    assert await live_links(cast.dsl.id) == 0
