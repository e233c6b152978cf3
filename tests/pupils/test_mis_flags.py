"""The MIS's child-protection, child-in-need and looked-after statuses on the profile: the DSL team and pastoral
leads see them; every other role sees nothing of them (not even that there is something); another school's DSL
finds no pupil at all."""

import pytest

from tests.conftest import _member, add_pupil, sign_in

SEEN = 'id="mis-flags"'
WORDS = ("Child protection plan", "Child in need", "Looked after")


@pytest.fixture
async def ava(cast) -> int:
    return await add_pupil(cast.school_id, "Ava", "Okafor", year="9", form="9A", child_protection=True,
                           looked_after=True)


async def test_the_dsl_team_and_a_pastoral_lead_see_the_statuses(client, settings, cast, ava):
    lead = await _member("lead@northbridge.example", "Lee Lead", cast.school_id, ["staff", "pastoral_lead"])
    for who in (cast.dsl, lead):
        client.cookies.clear()
        await sign_in(client, settings, who)
        page = (await client.get(f"/pupils/{ava}")).text
        assert SEEN in page and "From the MIS: Child protection plan · Looked after." in page
        assert "Child in need" not in page


async def test_a_pupil_without_a_status_shows_none(client, settings, cast):
    bo = await add_pupil(cast.school_id, "Bo", "Ng", year="9", form="9A")
    await sign_in(client, settings, cast.dsl)
    page = (await client.get(f"/pupils/{bo}")).text
    assert SEEN not in page and not any(w in page for w in WORDS)


@pytest.mark.parametrize("role", ["teacher", "responder", "pastoral", "head_of_year", "admin", "guest"])
async def test_no_other_role_sees_them(client, settings, cast, ava, role):
    await sign_in(client, settings, getattr(cast, role))
    response = await client.get(f"/pupils/{ava}")
    assert response.status_code in (200, 404)
    assert SEEN not in response.text and not any(w in response.text for w in WORDS)


async def test_another_schools_dsl_finds_no_pupil(client, settings, cast, ava):
    theirs = await _member("dsl@elsewhere.example", "Eli Else", cast.other_school_id, ["staff", "dsl"])
    await sign_in(client, settings, theirs)
    response = await client.get(f"/pupils/{ava}")
    assert response.status_code == 404 and "Ava" not in response.text and SEEN not in response.text
