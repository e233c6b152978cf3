"""Who sees the rewards pages: pastoral staff, the pastoral lead and the DSL team any year; a head of year their own
years; staff, responders, cover staff and admins 404 (as the old totals page); another school's people see only their
own school."""

from __future__ import annotations

import pytest

from app.domain.schools.tables import Membership
from tests.conftest import _member, post_form, sign_in
from tests.rewards.kit import build, on_11_march, rows  # noqa: F401 (a fixture)

PAGES = ["/rewards/?year=9", "/rewards/csv/pupils?year=9", "/rewards/leaderboard?year=9",
         "/rewards/leaderboard/present?year=9", "/rewards/leaderboard.csv?year=9", "/rewards/certificates?year=9",
         "/incidents/rewards?year=9"]


@pytest.mark.parametrize("who", ["pastoral", "dsl"])
async def test_pastoral_staff_and_the_dsl_see_any_year(client, settings, cast, on_11_march, who):
    await build(cast)
    await sign_in(client, settings, getattr(cast, who))
    assert 'id="rewards-tile"' in (await client.get("/")).text
    for path in PAGES:
        for year in ("9", "11"):
            answer = await client.get(path.replace("year=9", f"year={year}"))
            assert answer.status_code == 200, (path, year)


async def test_a_pastoral_lead_sees_any_year_and_sets_milestones(client, settings, cast, on_11_march):
    await build(cast)
    await Membership.update({Membership.role: "pastoral_lead"}).where(
        (Membership.person == cast.pastoral.id) & (Membership.role == "pastoral"))
    await sign_in(client, settings, cast.pastoral)
    assert (await client.get("/rewards/?year=11")).status_code == 200
    assert (await client.get("/rewards/milestones")).status_code == 200


async def test_a_head_of_year_sees_their_years_only(client, settings, cast, on_11_march):
    p = await build(cast)
    await Membership.update({Membership.years: "11"}).where(Membership.person == cast.head_of_year.id)
    await sign_in(client, settings, cast.head_of_year)
    page = await client.get("/rewards/")
    assert page.status_code == 200 and rows(page.text, "pupil-totals") == [["Dee Dunn", "11A", "5"]]
    assert rows(page.text, "year-totals") == [["Year 11", "5"]]  # not year 9's total either
    for path in PAGES:
        answer = await client.get(path)
        assert answer.status_code == 404, path
        assert "Adeyemi" not in answer.text and "Ava A." not in answer.text
    refused = await post_form(client, "/rewards/certificates", {"year": "9", "period": "year", "key": "k1",
                                                                "pick": f"{p['ava']}:8"}, page="/rewards/")
    assert refused.status_code == 404
    assert (await client.get("/rewards/milestones")).status_code == 404


@pytest.mark.parametrize("who", ["teacher", "responder", "admin", "guest", "outsider"])
async def test_everyone_else_gets_404(client, settings, cast, on_11_march, who):
    p = await build(cast)
    await sign_in(client, settings, getattr(cast, who))
    assert 'id="rewards-tile"' not in (await client.get("/")).text
    for path in PAGES:
        answer = await client.get(path)
        assert answer.status_code == 404, (who, path)
        assert "Adeyemi" not in answer.text
    refused = await post_form(client, "/rewards/certificates", {"year": "9", "period": "year", "key": "k2",
                                                                "pick": f"{p['ava']}:50"})
    assert refused.status_code == 404


async def test_another_schools_pastoral_officer_sees_only_their_own_school(client, settings, cast, on_11_march):
    p = await build(cast)
    theirs = await _member("pastoral@elsewhere.example", "Eli Elsewhere", cast.other_school_id, ["staff", "pastoral"])
    await sign_in(client, settings, theirs)
    assert (await client.get("/rewards/?year=11")).status_code == 404  # no year 11 there
    page = await client.get("/rewards/?year=9&period=week")
    assert page.status_code == 200
    assert rows(page.text, "pupil-totals") == [["Oz Other", "9Z", "5"]] and "Adeyemi" not in page.text
    board = (await client.get("/rewards/leaderboard/present?year=9&period=week")).text
    assert "Oz O." in board and "Ava A." not in board
    for path in ("/rewards/csv/pupils?year=11", "/rewards/leaderboard.csv?year=11",
                 "/rewards/certificates?year=11"):
        assert (await client.get(path)).status_code == 404, path
    own = (await client.get("/rewards/csv/pupils?year=9&period=week")).text
    assert "Oz Other" in own and "Adeyemi" not in own
    assert "Ava A." not in (await client.get("/rewards/leaderboard.csv?year=9&period=week")).text
    # A's pupil named in a print form: refused as a pick they cannot have, nothing printed.
    refused = await post_form(client, "/rewards/certificates", {"year": "9", "period": "year", "key": "k3",
                                                                "pick": f"{p['ava']}:50"}, page="/rewards/")
    assert refused.status_code == 400 and "Adeyemi" not in refused.text
