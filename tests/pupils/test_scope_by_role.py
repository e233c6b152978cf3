"""A head of year sees the pastoral record of their own years only; a guest finds pupils by name only."""

import datetime as dt

import pytest

from app.domain.pupils.tables import Contact
from app.domain.schools.tables import Membership
from tests.conftest import add_pupil, sign_in
from tests.pupils.test_lookup import lookup


@pytest.fixture
async def pupils(cast):
    await Membership.update({Membership.years: "9"}).where(
        (Membership.person == cast.head_of_year.id) & (Membership.role == "head_of_year"))
    nine = await add_pupil(cast.school_id, "Niamh", "Quinlan", year="9", form="9A", upn="B801200005001",
                           dob=dt.date(2011, 5, 6), medical_alert="Asthma")
    eleven = await add_pupil(cast.school_id, "Olu", "Adeyemi", year="11", form="11C", upn="A801200005002",
                             medical_alert="Epilepsy")
    for pid, parent in ((nine, "Ciara Quinlan"), (eleven, "Bisi Adeyemi")):
        await Contact.insert(Contact(pupil=pid, name=parent, relationship="Mother", phone="07700 900123", priority=1))
    return {"nine": nine, "eleven": eleven}


async def test_it_shows_a_head_of_year_the_whole_record_of_their_own_year(client, settings, cast, pupils):
    await sign_in(client, settings, cast.head_of_year)
    html = (await client.get(f"/pupils/{pupils['nine']}")).text
    assert "Date of birth" in html and "06 May 2011" in html
    assert "Ciara Quinlan" in html and 'id="timeline"' in html


async def test_it_shows_a_head_of_year_another_years_pupil_as_staff_see_them(client, settings, cast, pupils):
    await sign_in(client, settings, cast.head_of_year)
    html = (await client.get(f"/pupils/{pupils['eleven']}")).text
    assert "Olu Adeyemi" in html and "Epilepsy" in html  # the care flags every member of staff must know
    assert "Date of birth" not in html and "A801200005002" not in html
    assert "Bisi Adeyemi" not in html and "tel:" not in html and 'id="timeline"' not in html


async def test_a_head_of_year_of_every_year_still_sees_every_record(client, settings, cast, pupils):
    await Membership.update({Membership.years: ""}).where(Membership.person == cast.head_of_year.id)
    await sign_in(client, settings, cast.head_of_year)
    html = (await client.get(f"/pupils/{pupils['eleven']}")).text
    assert "Date of birth" in html and "Bisi Adeyemi" in html


@pytest.mark.parametrize("typed", ["year 9", "y9", "9", "9A", "B801200005001", "b801200005001"])
async def test_a_guest_cannot_list_pupils_by_year_form_or_upn(client, settings, cast, pupils, typed):
    await sign_in(client, settings, cast.guest)
    assert await lookup(client, typed) == []


async def test_a_guest_still_finds_a_pupil_by_name(client, settings, cast, pupils):
    await sign_in(client, settings, cast.guest)
    assert await lookup(client, "niamh") == ["Niamh Quinlan"]
    assert await lookup(client, "quinlan 9a") == ["Niamh Quinlan"]  # the form typed after a name narrows nothing


async def test_staff_still_list_pupils_by_year_form_and_upn(client, settings, cast, pupils):
    await sign_in(client, settings, cast.teacher)
    assert await lookup(client, "year 9") == ["Niamh Quinlan"]
    assert await lookup(client, "11c") == ["Olu Adeyemi"]
    assert await lookup(client, "A801200005002") == ["Olu Adeyemi"]
