"""Who sees a pupil's chronology, and what is in it: pastoral staff, the pastoral lead and the DSL the whole
school, a head of year their years; concerns and DSL actions for the DSL team only; cases as casework shows
them; plain staff, guests, responders, admins and other schools 404, on the page, the CSV and the toggle."""

from __future__ import annotations

import pytest

from app.domain.audit.service import Origin
from app.domain.chronology import service as chronology
from app.domain.schools import service as schools
from app.domain.schools.tables import Membership
from app.errors import NotFound
from tests.chronology.kit import actor_for, everything
from tests.conftest import Member, add_pupil, post_form, sign_in


async def _member(cast, email: str, name: str, roles: list[str]) -> Member:
    pid = await schools.add_person(email=email, display_name=name, school_id=cast.school_id, roles=roles, actor=None,
                                   origin=Origin(ip="test"))
    return Member(pid, email, name, cast.school_id)


async def test_the_dsl_sees_concerns_and_dsl_actions_and_pastoral_does_not(client, settings, cast):
    ids = await everything(cast)
    dsl = {e.source for e in await chronology.entries(await actor_for(settings, cast.dsl), ids["pupil"])}
    pastoral = {e.source for e in await chronology.entries(await actor_for(settings, cast.pastoral), ids["pupil"])}
    assert {"concern", "dsl_action"} <= dsl
    assert not pastoral & {"concern", "dsl_action"} and "incident" in pastoral
    # Asking for them by name changes nothing for pastoral staff.
    asked = await chronology.entries(await actor_for(settings, cast.pastoral), ids["pupil"], sources={"concern"})
    assert asked == []
    await sign_in(client, settings, cast.pastoral)
    html = (await client.get(f"/chronology/pupil/{ids['pupil']}")).text
    assert "Bruise on arm" not in html and "Safeguarding concern" not in html and "Called social care" not in html
    await sign_in(client, settings, cast.dsl)
    html = (await client.get(f"/chronology/pupil/{ids['pupil']}")).text
    assert "Bruise on arm" in html and "Called social care" in html


async def test_a_pastoral_officer_sees_only_the_cases_they_work_on(settings, cast):
    ids = await everything(cast)  # the case's keyworker is cast.pastoral
    other = await _member(cast, "pastoral2@northbridge.example", "Paz Second", ["staff", "pastoral"])
    lead = await _member(cast, "lead@northbridge.example", "Lee Lead", ["staff", "pastoral_lead"])
    sources = [e.source for e in await chronology.entries(await actor_for(settings, other), ids["pupil"])]
    assert "case" not in sources and "incident" in sources
    assert "case" in {e.source for e in await chronology.entries(await actor_for(settings, lead), ids["pupil"])}


async def test_a_head_of_year_sees_their_years_only(client, settings, cast):
    await Membership.update({Membership.years: "9"}).where(Membership.person == cast.head_of_year.id)
    nine = await everything(cast, year="9")
    eleven = await add_pupil(cast.school_id, "Leo", "Stone", year="11", form="11B")
    hoy = await actor_for(settings, cast.head_of_year)
    assert {e.source for e in await chronology.entries(hoy, nine["pupil"])} >= {"incident", "contact", "case"}
    with pytest.raises(NotFound):
        await chronology.entries(hoy, eleven)
    await sign_in(client, settings, cast.head_of_year)
    assert (await client.get(f"/chronology/pupil/{nine['pupil']}")).status_code == 200
    assert (await client.get(f"/chronology/pupil/{eleven}")).status_code == 404
    assert (await client.get(f"/chronology/pupil/{eleven}/csv")).status_code == 404


@pytest.mark.parametrize("who", ["teacher", "guest", "responder", "admin", "outsider"])
async def test_other_roles_and_other_schools_get_404_everywhere(client, settings, cast, who):
    ids = await everything(cast)
    member = getattr(cast, who)
    with pytest.raises(NotFound):
        await chronology.entries(await actor_for(settings, member), ids["pupil"])
    await sign_in(client, settings, member)
    pupil = ids["pupil"]
    for path in (f"/chronology/pupil/{pupil}", f"/chronology/pupil/{pupil}/csv"):
        response = await client.get(path)
        assert response.status_code == 404 and "Mia Brook" not in response.text
    response = await post_form(client, f"/chronology/pupil/{pupil}/significant",
                               {"ref": f"incident:{ids['incident']}", "significant": "yes"})
    assert response.status_code == 404
    # Nor does the profile offer the link.
    assert 'id="open-chronology"' not in (await client.get(f"/pupils/{pupil}")).text


async def test_another_schools_pupil_is_not_found_for_a_dsl(client, settings, cast):
    there = await add_pupil(cast.other_school_id, "Zed", "Far", year="9", form="9Z")
    with pytest.raises(NotFound):
        await chronology.entries(await actor_for(settings, cast.dsl), there)
    await sign_in(client, settings, cast.dsl)
    assert (await client.get(f"/chronology/pupil/{there}")).status_code == 404
    assert (await client.get("/chronology/pupil/999999")).status_code == 404


async def test_the_profile_links_to_the_chronology_for_those_who_may_see_it(client, settings, cast):
    ids = await everything(cast)
    for member in (cast.pastoral, cast.dsl):
        await sign_in(client, settings, member)
        html = (await client.get(f"/pupils/{ids['pupil']}")).text
        assert f'href="/chronology/pupil/{ids["pupil"]}" id="open-chronology"' in html


async def test_the_dsl_needs_a_fresh_passkey_check(client, settings, cast, frozen_clock):
    ids = await everything(cast)
    await sign_in(client, settings, cast.dsl)
    frozen_clock.advance(minutes=settings.step_up_minutes + 1)
    response = await client.get(f"/chronology/pupil/{ids['pupil']}")
    assert response.status_code == 403 and "Bruise on arm" not in response.text
    await sign_in(client, settings, cast.pastoral)  # pastoral staff see no safeguarding records: no check
    assert (await client.get(f"/chronology/pupil/{ids['pupil']}")).status_code == 200
