"""Who sees a case: the keyworker and colleagues named on the plan (pastoral), a head of year for their years,
the DSL and the pastoral lead every case; everyone else who sees care flags only the keyworker's name, on the
profile; other schools nothing. What may not be seen answers 404."""

from __future__ import annotations

import uuid

from app.domain.schools import service as schools
from app.domain.audit.service import Origin
from app.domain.schools.tables import Membership
from tests.casework.kit import open_case
from tests.conftest import Member, add_pupil, post_form, sign_in


async def _second_pastoral(cast) -> Member:
    pid = await schools.add_person(email="pastoral2@northbridge.example", display_name="Paz Second",
                                   school_id=cast.school_id, roles=["staff", "pastoral"], actor=None,
                                   origin=Origin(ip="test"))
    return Member(pid, "pastoral2@northbridge.example", "Paz Second", cast.school_id)


async def _lead(cast) -> Member:
    pid = await schools.add_person(email="lead@northbridge.example", display_name="Lee Lead",
                                   school_id=cast.school_id, roles=["staff", "pastoral", "pastoral_lead"], actor=None,
                                   origin=Origin(ip="test"))
    return Member(pid, "lead@northbridge.example", "Lee Lead", cast.school_id)


async def test_each_role_sees_the_cases_it_should_and_404_for_the_rest(client, settings, cast):
    await Membership.update({Membership.years: "9"}).where(Membership.person == cast.head_of_year.id)
    mia = await add_pupil(cast.school_id, "Mia", "Brook", year="9", form="9A")
    leo = await add_pupil(cast.school_id, "Leo", "Stone", year="11", form="11B")
    other, lead = await _second_pastoral(cast), await _lead(cast)
    mia_case = await open_case(client, settings, cast.pastoral, mia)
    leo_case = await open_case(client, settings, cast.dsl, leo, keyworker=other)

    async def sees(member: Member, case_id: int) -> bool:
        await sign_in(client, settings, member)
        status = (await client.get(f"/casework/{case_id}")).status_code
        assert status in (200, 404)
        return status == 200

    assert await sees(cast.pastoral, mia_case) and not await sees(cast.pastoral, leo_case)
    assert await sees(other, leo_case) and not await sees(other, mia_case)
    assert await sees(cast.head_of_year, mia_case) and not await sees(cast.head_of_year, leo_case)
    for member in (cast.dsl, lead):
        assert await sees(member, mia_case) and await sees(member, leo_case)
    for member in (cast.teacher, cast.responder, cast.admin, cast.guest, cast.outsider):
        assert not await sees(member, mia_case) and not await sees(member, leo_case)
        for path in (f"/casework/{mia_case}/review", "/casework/"):
            assert (await client.get(path)).status_code == 404
        response = await post_form(client, f"/casework/{mia_case}/status", {"status": "on_hold"})
        assert response.status_code == 404

    # The lists follow the same rule.
    await sign_in(client, settings, cast.head_of_year)
    page = (await client.get("/casework/")).text
    assert "Mia Brook" in page and "Leo Stone" not in page
    await sign_in(client, settings, lead)
    page = (await client.get("/casework/")).text
    assert "Mia Brook" in page and "Leo Stone" in page


async def test_a_colleague_named_on_the_plan_works_on_the_case(client, settings, cast):
    leo = await add_pupil(cast.school_id, "Leo", "Stone")
    case_id = await open_case(client, settings, cast.dsl, leo)
    await sign_in(client, settings, cast.pastoral)
    assert (await client.get(f"/casework/{case_id}")).status_code == 404
    await sign_in(client, settings, cast.dsl)
    await post_form(client, f"/casework/{case_id}/plan", {"strategies": "", "new_person": str(cast.pastoral.id),
                                                          "new_what": "Weekly check-in",
                                                          "idempotency_key": str(uuid.uuid4())})
    await sign_in(client, settings, cast.pastoral)
    assert (await client.get(f"/casework/{case_id}")).status_code == 200
    assert "Leo Stone" in (await client.get("/casework/mine")).text


async def test_plain_staff_see_only_who_the_keyworker_is(client, settings, cast):
    mia = await add_pupil(cast.school_id, "Mia", "Brook")
    case_id = await open_case(client, settings, cast.pastoral, mia, reason="Bereavement in the family")
    for member in (cast.teacher, cast.admin):
        await sign_in(client, settings, member)
        line = (await client.get(f"/casework/pupil/{mia}", headers={"HX-Request": "true"})).text
        assert "Pat Pastoral" in line and f"/casework/{case_id}" not in line and "Bereavement" not in line
        assert 'hx-get="/casework/pupil/' in (await client.get(f"/pupils/{mia}")).text
    await sign_in(client, settings, cast.pastoral)
    line = (await client.get(f"/casework/pupil/{mia}")).text
    assert "Pat Pastoral" in line and f"/casework/{case_id}" in line
    assert "Open a case" in line
    await Membership.update({Membership.years: "11"}).where(Membership.person == cast.head_of_year.id)
    await sign_in(client, settings, cast.head_of_year)  # Mia is in year 9: not theirs
    line = (await client.get(f"/casework/pupil/{mia}")).text
    assert "Pat Pastoral" in line and f"/casework/{case_id}" not in line and "Open a case" not in line
    await sign_in(client, settings, cast.guest)  # a guest sees a name and form, not care flags
    assert (await client.get(f"/casework/pupil/{mia}")).status_code == 404


async def test_another_school_gets_404_for_every_case_route(client, settings, cast):
    mia = await add_pupil(cast.school_id, "Mia", "Brook")
    case_id = await open_case(client, settings, cast.pastoral, mia)
    pid = await schools.add_person(email="dsl@elsewhere.example", display_name="Eve Elsewhere",
                                   school_id=cast.other_school_id, roles=["staff", "dsl", "pastoral_lead"],
                                   actor=None, origin=Origin(ip="test"))
    elsewhere = Member(pid, "dsl@elsewhere.example", "Eve Elsewhere", cast.other_school_id)
    await sign_in(client, settings, elsewhere)
    for path in (f"/casework/{case_id}", f"/casework/{case_id}/review", f"/casework/pupil/{mia}"):
        assert (await client.get(path)).status_code == 404, path
    for path, data in ((f"/casework/{case_id}/status", {"status": "on_hold"}),
                       (f"/casework/{case_id}/targets", {"target_text": "x"}),
                       (f"/casework/{case_id}/plan", {"strategies": "x"}),
                       (f"/casework/{case_id}/review", {"held_on": "2020-01-01"})):
        assert (await post_form(client, path, data)).status_code == 404, path
    assert "Mia Brook" not in (await client.get("/casework/")).text
