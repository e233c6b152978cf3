"""The assembly leaderboard: the top pupils (first name, initial of the surname, form: nothing more) and the forms,
ranked with ties sharing a place, pupils who have left not shown; a present mode without the app's chrome."""

from __future__ import annotations

from app.domain.rewards import service as rewards
from tests.conftest import add_pupil, sign_in
from tests.data_review.kit import incident
from tests.rewards.kit import build, on_11_march, rows  # noqa: F401 (a fixture)


async def test_the_board_ranks_pupils_and_forms_for_the_period(client, settings, cast, on_11_march):
    await build(cast)
    await sign_in(client, settings, cast.head_of_year)  # every year: no years set on the membership
    page = await client.get("/rewards/leaderboard?year=9&period=year")
    assert page.status_code == 200
    # Eve (5 points) has left: not on the board. Ben and Cal share second place.
    assert rows(page.text, "board-pupils") == [["1", "Ava A.", "9A", "13"], ["2", "Ben B.", "9A", "8"],
                                               ["2", "Cal C.", "9B", "8"]]
    assert rows(page.text, "board-forms") == [["1", "9A", "21"], ["2", "9B", "13"]]
    week = await client.get("/rewards/leaderboard?year=9&period=week")
    assert rows(week.text, "board-pupils") == [["1", "Ava A.", "9A", "5"], ["1", "Ben B.", "9A", "5"]]


async def test_present_mode_is_the_board_alone_with_first_names_and_initials(client, settings, cast, on_11_march):
    await build(cast)
    await sign_in(client, settings, cast.pastoral)
    page = await client.get("/rewards/leaderboard/present?year=9&period=half_term")
    assert page.status_code == 200
    html = page.text
    assert 'class="bar"' not in html and "alerts-link" not in html  # no app chrome
    assert "Year 9 reward points" in html and "This half term (23 Feb 2026 to 11 Mar 2026)" in html
    assert "Ava A." in html and "<span class=\"form\">9A</span>" in html
    for private in ("Adeyemi", "Brook", "Evans"):
        assert private not in html
    assert 'id="exit-present"' in html and "/static/js/leaderboard.js" in html and "<script>" not in html
    assert page.headers["cache-control"] == "no-store"


async def test_everyone_tied_with_the_tenth_is_shown(client, settings, cast, on_11_march):
    p = await build(cast)
    import datetime as dt
    for i in range(11):  # eleven pupils with 20 points each this week: all share first place
        pid = await add_pupil(cast.school_id, f"Tia{i}", f"Tie{i}", form="9C")
        await incident(cast.school_id, cast.teacher.id, dt.datetime(2026, 3, 10, 9, i, tzinfo=dt.timezone.utc),
                       None, (pid, p["kindness"], 20))
    await sign_in(client, settings, cast.pastoral)
    got = rows((await client.get("/rewards/leaderboard?year=9&period=week")).text, "board-pupils")
    assert len(got) == 11 and all(r[0] == "1" for r in got)
    assert rewards.LEADERBOARD_PUPILS == 10


def test_a_short_name_is_first_name_and_initial():
    assert rewards.short_name("Zoë", " łukasiewicz") == "Zoë Ł."
    assert rewards.short_name("Ava", "") == "Ava"
