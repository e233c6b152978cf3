"""Pupil lookup: forgiving matching, best first, this school only, and never a name in a URL or a log."""

import html
import logging

import pytest

from app.domain.pupils.tables import Pupil
from tests.conftest import add_pupil, csrf, sign_in


async def lookup(client, query: str, **extra) -> list[str]:
    """Type into the search box as htmx does; return the names shown, in order."""
    import re

    token = await csrf(client, "/pupils/")
    response = await client.post("/pupils/search", data={"q": query, "_csrf_token": token, **extra},
                                  headers={"hx-request": "true"})
    assert response.status_code == 200, response.text
    assert "<html" not in response.text  # a fragment
    return [html.unescape(n) for n in re.findall(r"<span class=\"pupil-name\">([^<]+)</span>", response.text)]


@pytest.fixture
async def school(cast):
    await add_pupil(cast.school_id, "Siobhán", "Ní Bhriain", form="9A")
    await add_pupil(cast.school_id, "Liam", "O'Connor", form="9A")
    await add_pupil(cast.school_id, "Jordan", "Smith", year="7", form="7B")
    await add_pupil(cast.school_id, "Jessica", "Smithson", year="7", form="7B")
    await add_pupil(cast.school_id, "Amir", "Smith", year="10", form="10C")
    await add_pupil(cast.school_id, "Zofia", "Wiśniewska", year="8", form="8D", preferred_first_name="Zosia")
    await add_pupil(cast.school_id, "Kwame", "Mensah", year="11", form="11A", upn="B801200005001")
    await add_pupil(cast.other_school_id, "Siobhan", "Elsewhere", form="9A")
    return cast


@pytest.mark.parametrize("typed, expected", [
    ("siobhan", "Siobhán Ní Bhriain"),          # accents
    ("SIOB", "Siobhán Ní Bhriain"),             # case, and before the name is finished
    ("oconnor", "Liam O'Connor"),               # apostrophes
    ("o'con", "Liam O'Connor"),
    ("wisniewska", "Zosia Wiśniewska"),         # a letter NFKD keeps, and the preferred name shown
    ("zofia", "Zosia Wiśniewska"),              # legal name still finds them
    ("menash", "Kwame Mensah"),                 # a small typo
    ("kwamr mensah", "Kwame Mensah"),
    ("B801200005001", "Kwame Mensah"),          # UPN
])
async def test_it_forgives_how_names_are_typed(client, settings, school, typed, expected):
    await sign_in(client, settings, school.teacher)
    assert (await lookup(client, typed))[:1] == [expected]


async def test_initial_and_surname_finds_the_right_smith_first(client, settings, school):
    await sign_in(client, settings, school.teacher)
    names = await lookup(client, "j smith")
    assert names[0] == "Jordan Smith"
    assert "Amir Smith" not in names  # the initial must match the first name


async def test_exact_surnames_come_before_longer_ones(client, settings, school):
    await sign_in(client, settings, school.teacher)
    names = await lookup(client, "smith")
    assert set(names[:2]) == {"Jordan Smith", "Amir Smith"} and names[2] == "Jessica Smithson"


async def test_it_finds_by_form_and_by_year(client, settings, school):
    await sign_in(client, settings, school.teacher)
    assert await lookup(client, "7b") == ["Jordan Smith", "Jessica Smithson"]
    assert await lookup(client, "year 10") == ["Amir Smith"]
    assert await lookup(client, "y7 jess") == ["Jessica Smithson"]


async def test_a_pupil_who_has_left_is_found_only_when_asked_for(client, settings, school, frozen_clock):
    from app.domain.pupils.service import mark_changed

    await Pupil.update({Pupil.left_on: frozen_clock.current.date()}).where(Pupil.legal_last_name == "Mensah")
    await mark_changed(school.school_id)
    await sign_in(client, settings, school.teacher)
    assert await lookup(client, "mensah") == []
    assert await lookup(client, "mensah", include_left="on") == ["Kwame Mensah"]


async def test_results_show_year_form_and_care_flags(client, settings, school):
    await Pupil.update({Pupil.medical_alert: "Asthma", Pupil.sen_provision: "E"}).where(Pupil.legal_last_name == "Mensah")
    await sign_in(client, settings, school.teacher)
    token = await csrf(client, "/pupils/")
    html = (await client.post("/pupils/search", data={"q": "mensah", "_csrf_token": token},
                              headers={"hx-request": "true"})).text
    assert "Year 11 · 11A" in html and ">Medical<" in html and ">EHCP<" in html


async def test_a_guest_sees_name_photo_and_form_only(client, settings, school):
    await Pupil.update({Pupil.medical_alert: "Asthma"}).where(Pupil.legal_last_name == "Mensah")
    await sign_in(client, settings, school.guest)
    token = await csrf(client, "/pupils/")
    html = (await client.post("/pupils/search", data={"q": "mensah", "_csrf_token": token},
                              headers={"hx-request": "true"})).text
    assert "Kwame Mensah" in html and "11A" in html
    assert "Year 11" not in html and "Medical" not in html


async def test_an_outsider_finds_nothing_of_another_school(client, settings, school):
    await sign_in(client, settings, school.outsider)
    assert await lookup(client, "siobhan") == ["Siobhan Elsewhere"]
    assert await lookup(client, "mensah") == []


async def test_someone_with_no_role_here_cannot_search(client, settings, school):
    from app.domain.schools.tables import Membership

    await Membership.delete().where(Membership.person == school.teacher.id)
    await sign_in(client, settings, school.teacher)
    token = await csrf(client, "/account")
    response = await client.post("/pupils/search", data={"q": "smith", "_csrf_token": token})
    assert response.status_code == 404


async def test_the_search_term_is_in_no_url_and_no_log(client, settings, school, caplog):
    await sign_in(client, settings, school.teacher)
    page = await client.get("/pupils/")
    assert 'method="post"' in page.text and 'hx-post="/pupils/search"' in page.text
    caplog.set_level(logging.DEBUG)
    for name in ("Wiśniewska", "O'Connor"):
        await lookup(client, name)
    app_logs = [r for r in caplog.records if not r.name.startswith("httpx")]  # the test client's own log
    assert not any("Wi" in r.getMessage() and "niewska" in r.getMessage() for r in app_logs)
    assert not any("Connor" in r.getMessage() for r in app_logs)
    profile_links = await lookup(client, "mensah")
    assert profile_links  # and the result links carry an id, not a name:
    token = await csrf(client, "/pupils/")
    html = (await client.post("/pupils/search", data={"q": "mensah", "_csrf_token": token},
                              headers={"hx-request": "true"})).text
    import re

    assert all(re.fullmatch(r"/pupils/\d+(/photo\?size=thumb)?", href) for href in re.findall(r'(?:href|src)="([^"]+)"', html))


async def test_a_search_without_a_csrf_token_is_refused(client, settings, school):
    await sign_in(client, settings, school.teacher)
    assert (await client.post("/pupils/search", data={"q": "smith"})).status_code == 403


async def test_recently_viewed_pupils_are_offered_before_typing(client, settings, school):
    await sign_in(client, settings, school.teacher)
    ids = {p["legal_last_name"]: p["id"] for p in await Pupil.select(Pupil.id, Pupil.legal_last_name)}
    await client.get(f"/pupils/{ids['Mensah']}")
    await client.get(f"/pupils/{ids['Smithson']}")
    page = await client.get("/pupils/")
    assert "Recently viewed" in page.text
    assert page.text.index("Jessica Smithson") < page.text.index("Kwame Mensah")


async def test_the_index_follows_changes_to_pupils(client, settings, school):
    await sign_in(client, settings, school.teacher)
    assert await lookup(client, "ngozi") == []
    await add_pupil(school.school_id, "Ngozi", "Adeyemi")
    assert await lookup(client, "ngozi") == ["Ngozi Adeyemi"]
