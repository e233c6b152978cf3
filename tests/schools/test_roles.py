"""Roles per school, enforced by controller guards and by record-level checks in services."""

import pytest

from app.domain.schools.service import roles_at
from app.domain.schools.tables import Membership
from tests.conftest import audit_actions, post_form, sign_in


@pytest.mark.parametrize("who", ["teacher", "responder", "pastoral", "head_of_year", "dsl", "guest"])
async def test_only_admins_reach_the_admin_pages(client, settings, cast, who):
    await sign_in(client, settings, getattr(cast, who))
    for path in ("/admin/people", f"/admin/people/{cast.teacher.id}", "/admin/audit"):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 404, (who, path)  # not 403: the page's existence does not leak


async def test_an_admin_sees_their_schools_people(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    page = await client.get("/admin/people")
    assert page.status_code == 200
    assert "Tara Teacher" in page.text and "Dee Lead" in page.text
    assert "Otto Outsider" not in page.text


async def test_an_outsider_admin_finds_nothing_of_another_school(client, settings, cast):
    await sign_in(client, settings, cast.outsider)
    assert (await client.get(f"/admin/people/{cast.teacher.id}")).status_code == 404
    roles = await post_form(client, f"/admin/people/{cast.teacher.id}/roles", {"roles": ["admin"]}, page="/admin/people")
    disable = await post_form(client, f"/admin/people/{cast.teacher.id}/disable", page="/admin/people")
    link = await post_form(client, f"/admin/people/{cast.teacher.id}/link", page="/admin/people")
    assert (roles.status_code, disable.status_code, link.status_code) == (404, 404, 404)
    assert await roles_at(cast.teacher.id, cast.school_id) == {"staff"}
    assert "Tara Teacher" not in (await client.get("/admin/people")).text


async def test_an_admin_sets_roles_and_it_is_audited(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    response = await post_form(client, f"/admin/people/{cast.teacher.id}/roles",
                               {"roles": ["staff", "responder"]}, page="/admin/people")
    assert response.status_code == 200
    assert await roles_at(cast.teacher.id, cast.school_id) == {"staff", "responder"}
    assert (await audit_actions()).count("roles.changed") >= 1


async def test_bad_roles_change_nothing(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    none = await post_form(client, f"/admin/people/{cast.teacher.id}/roles", {}, page="/admin/people")
    bogus = await post_form(client, f"/admin/people/{cast.teacher.id}/roles", {"roles": ["overlord"]}, page="/admin/people")
    assert none.status_code == 400 and "at least one role" in none.text
    assert bogus.status_code == 400 and "Unknown role" in bogus.text
    assert await roles_at(cast.teacher.id, cast.school_id) == {"staff"}


async def test_an_admin_cannot_remove_their_own_admin_role(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    response = await post_form(client, f"/admin/people/{cast.admin.id}/roles", {"roles": ["staff"]}, page="/admin/people")
    assert response.status_code == 400
    assert "admin" in await roles_at(cast.admin.id, cast.school_id)


async def test_a_trust_wide_role_applies_at_every_school_of_the_trust(cast):
    from app import clock
    from app.domain.schools.tables import School

    school = await School.select(School.trust).where(School.id == cast.school_id).first()
    sister = School(trust=school["trust"], name="Sister School", slug="sister", la_code="801",
                    establishment_number="4003", created_at=clock.now())
    await sister.save()
    await Membership.insert(Membership(person=cast.dsl.id, trust=school["trust"], school=None, role="dsl",
                                       created_at=clock.now()))
    assert "dsl" in await roles_at(cast.dsl.id, sister.id)
    assert await roles_at(cast.dsl.id, cast.other_school_id) == frozenset()  # another trust: nothing


async def test_an_admin_sets_the_years_a_head_of_year_leads(client, settings, cast):
    from app.domain.schools.service import years_led

    await sign_in(client, settings, cast.admin)
    page = f"/admin/people/{cast.head_of_year.id}"
    ok = await post_form(client, f"{page}/roles", {"roles": ["staff", "head_of_year"], "years": "9; 10"}, page=page)
    assert ok.status_code == 200 and 'value="9, 10"' in ok.text
    assert await years_led(cast.head_of_year.id, cast.school_id) == "9,10"
    bad = await post_form(client, f"{page}/roles", {"roles": ["staff", "head_of_year"], "years": "9, 42"}, page=page)
    assert bad.status_code == 400 and "Unknown year: 42" in bad.text
    assert await years_led(cast.head_of_year.id, cast.school_id) == "9,10"
