"""The home screen has the pupil search itself: three letters, then one tap opens the profile."""

import re

from app.domain.schools.tables import Membership
from tests.conftest import add_pupil, sign_in


async def home_search(client, typed: str) -> tuple[str, list[str]]:
    """Type into the home screen's box as htmx does, with the form the home page rendered."""
    home = (await client.get("/")).text
    form = re.search(r'<form[^>]*id="home-search".*?</form>', home, re.S)
    assert form, "no search box on the home screen"
    assert 'hx-post="/pupils/search"' in form.group(0) and 'hx-target="#results"' in form.group(0)
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.group(0)).group(1)
    response = await client.post("/pupils/search", data={"q": typed, "_csrf_token": token},
                                 headers={"hx-request": "true"})
    assert response.status_code == 200 and "<html" not in response.text
    return response.text, re.findall(r'href="(/pupils/\d+)"', response.text)


async def test_three_letters_on_the_home_screen_and_one_tap_open_the_profile(client, settings, cast):
    ava = await add_pupil(cast.school_id, "Ava", "Okafor", form="9A")
    await add_pupil(cast.school_id, "Ben", "Tran", form="9A")
    await sign_in(client, settings, cast.teacher)
    fragment, links = await home_search(client, "oka")
    assert links == [f"/pupils/{ava}"] and "Ava Okafor" in fragment
    profile = await client.get(links[0])
    assert profile.status_code == 200 and "Ava Okafor" in profile.text


async def test_a_guest_finds_by_name_from_home(client, settings, cast):
    ava = await add_pupil(cast.school_id, "Ava", "Okafor", form="9A")
    await sign_in(client, settings, cast.guest)
    _, links = await home_search(client, "ava")
    assert links == [f"/pupils/{ava}"]


async def test_another_schools_pupil_is_not_found_from_home(client, settings, cast):
    await add_pupil(cast.school_id, "Ava", "Okafor", form="9A")
    await sign_in(client, settings, cast.outsider)
    fragment, links = await home_search(client, "oka")
    assert links == [] and "Okafor" not in fragment


async def test_someone_with_no_role_has_no_search_box(client, settings, cast):
    await Membership.delete().where(Membership.person == cast.teacher.id)
    await sign_in(client, settings, cast.teacher)
    home = await client.get("/")
    assert home.status_code == 200 and 'id="home-search"' not in home.text
