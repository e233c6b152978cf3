"""Who logs and sees contacts: pastoral, the pastoral lead and the DSL every pupil's, a head of year their years';
plain staff, responders, guests, admins and other schools find nothing (404, never 403)."""

from __future__ import annotations

import pytest

from tests.conftest import sign_in
from tests.contact_log.kit import family, form, lead, lead_year_9, logs, post, text_of

pytestmark = pytest.mark.asyncio


async def test_each_role_sees_what_it_may(client, settings, cast):
    await lead_year_9(cast)
    nine = await family(cast, year="9", first="Nina", last="Ninth")
    eleven = await family(cast, year="11", first="Eli", last="Eleventh")
    assert (await post(client, settings, cast.pastoral, form(nine))).status_code == 303
    assert (await post(client, settings, cast.pastoral, form(eleven))).status_code == 303
    log9, log11 = (await logs(nine["pupil"]))[0]["id"], (await logs(eleven["pupil"]))[0]["id"]
    paths = lambda f, log_id: [f"/contact-log/{log_id}", f"/contact-log/pupil/{f['pupil']}",
                               f"/contact-log/new?pupil={f['pupil']}"]
    the_lead = await lead(cast)

    for member in (cast.pastoral, cast.dsl, the_lead):
        await sign_in(client, settings, member)
        for path in paths(nine, log9) + paths(eleven, log11):
            assert (await client.get(path)).status_code == 200, (member.name, path)
    assert (await post(client, settings, the_lead, form(eleven))).status_code == 303

    await sign_in(client, settings, cast.head_of_year)
    for path in paths(nine, log9):
        assert (await client.get(path)).status_code == 200, path
    for path in paths(eleven, log11):
        assert (await client.get(path)).status_code == 404, path
    assert (await post(client, settings, cast.head_of_year, form(nine))).status_code == 303
    refused = await post(client, settings, cast.head_of_year, form(eleven))
    assert refused.status_code == 400 and "Eli" not in refused.text

    for member in (cast.teacher, cast.guest, cast.admin, cast.responder, cast.outsider):
        await sign_in(client, settings, member)
        for path in paths(nine, log9):
            response = await client.get(path)
            assert response.status_code == 404, (member.name, path)
            assert "Nina" not in response.text and "Mary" not in response.text
        assert (await post(client, settings, member, form(nine))).status_code == 404, member.name
    assert len(await logs(nine["pupil"])) == 2 and len(await logs(eleven["pupil"])) == 2


async def test_another_schools_pastoral_team_finds_nothing(client, settings, cast):
    from app.domain.audit.service import Origin
    from app.domain.schools import service as schools
    from tests.conftest import Member

    f = await family(cast)
    assert (await post(client, settings, cast.pastoral, form(f))).status_code == 303
    log_id = (await logs(f["pupil"]))[0]["id"]
    pid = await schools.add_person(email="dsl@elsewhere.example", display_name="Di Elsewhere",
                                   school_id=cast.other_school_id, roles=["staff", "pastoral", "dsl"], actor=None,
                                   origin=Origin(ip="test"))
    other = Member(pid, "dsl@elsewhere.example", "Di Elsewhere", cast.other_school_id)
    await sign_in(client, settings, other)
    for path in (f"/contact-log/{log_id}", f"/contact-log/pupil/{f['pupil']}", f"/contact-log/new?pupil={f['pupil']}"):
        response = await client.get(path)
        assert response.status_code == 404 and "Ada" not in response.text, path
    response = await post(client, settings, other, form(f))
    assert response.status_code == 400  # the same answer as for any pupil id: nothing of school A is shown
    assert "Ada Able" not in response.text and "Mary Able" not in response.text
    assert len(await logs(f["pupil"])) == 1


async def test_the_profile_shows_recent_contacts_only_to_those_who_see_them(client, settings, cast):
    await lead_year_9(cast)
    f = await family(cast, year="11")
    assert (await post(client, settings, cast.pastoral, form(f))).status_code == 303
    for member, shown in ((cast.pastoral, True), (cast.dsl, True), (cast.head_of_year, False),
                          (cast.teacher, False), (cast.responder, False), (cast.admin, False)):
        await sign_in(client, settings, member)
        page = await client.get(f"/pupils/{f['pupil']}")
        assert page.status_code == 200
        assert ('hx-get="/contact-log/pupil/' in page.text) is shown, member.name
        assert ("data-call-contact" in page.text) is shown, member.name
        recent = await client.get(f"/contact-log/pupil/{f['pupil']}")
        assert recent.status_code == (200 if shown else 404), member.name
        assert ("Phone call to Mary Able (Mother)" in text_of(recent.text)) is shown, member.name
