"""Reward totals per pupil, form and year for a period, against the fixture's hand-computed answers (tests/rewards/
kit.py): the presets from the school's half terms, typed dates at the edges of a day (BST and GMT), deleted and
behaviour incidents left out, another school's rewards never counted."""

from __future__ import annotations

import pytest

from tests.conftest import sign_in
from tests.rewards.kit import build, on_11_march, rows  # noqa: F401 (a fixture)


@pytest.mark.parametrize("period,pupils,forms", [
    ("year", [["Ava Adeyemi", "9A", "13"], ["Ben Brook", "9A", "8"], ["Cal Carter", "9B", "8"],
              ["Eve Evans", "9B", "5"]], [["9A", "21"], ["9B", "13"]]),
    ("term", [["Ava Adeyemi", "9A", "8"], ["Ben Brook", "9A", "5"], ["Cal Carter", "9B", "5"],
              ["Eve Evans", "9B", "5"]], [["9A", "13"], ["9B", "10"]]),
    ("half_term", [["Ava Adeyemi", "9A", "8"], ["Ben Brook", "9A", "5"]], [["9A", "13"]]),
    ("week", [["Ava Adeyemi", "9A", "5"], ["Ben Brook", "9A", "5"]], [["9A", "10"]]),
])
async def test_it_totals_each_preset_period(client, settings, cast, on_11_march, period, pupils, forms):
    await build(cast)
    await sign_in(client, settings, cast.pastoral)
    page = await client.get(f"/rewards/?year=9&period={period}")
    assert page.status_code == 200
    assert rows(page.text, "pupil-totals") == pupils
    assert rows(page.text, "form-totals") == forms


async def test_the_presets_follow_the_schools_half_terms(client, settings, cast, on_11_march):
    await build(cast)
    await sign_in(client, settings, cast.pastoral)
    page = (await client.get("/rewards/?year=9&period=term")).text
    for words in ("This week (from 9 Mar)", "This half term (from 23 Feb)", "This term (from 5 Jan)",
                  "This year (from 1 Sep)"):
        assert words in page
    assert "This term (5 Jan 2026 to 11 Mar 2026)" in page


async def test_without_school_days_the_term_is_the_calendars(client, settings, cast, on_11_march):
    await build(cast, days=False)
    await sign_in(client, settings, cast.pastoral)
    page = (await client.get("/rewards/?year=9&period=term")).text
    assert "This half term" not in page and "This term (from 1 Jan)" in page
    # 1 Jan to 11 Mar: Cal's Effort on Sunday 4 January counts now.
    assert ["Cal Carter", "9B", "8"] in rows(page, "pupil-totals")


@pytest.mark.parametrize("start,end,expected", [
    ("2025-09-01", "2025-09-01", [["Ava Adeyemi", "9A", "5"]]),  # 00:30 BST on 1 Sep is 23:30 UTC on 31 Aug
    ("2025-08-31", "2025-08-31", [["Ava Adeyemi", "9A", "5"]]),  # 23:59 BST on 31 Aug, and not the 00:30 one
    ("2026-01-04", "2026-01-04", [["Cal Carter", "9B", "3"]]),  # 23:59 GMT on Sunday 4 Jan
    ("2026-01-05", "2026-01-05", [["Cal Carter", "9B", "5"]]),  # 00:00 GMT on Monday 5 Jan
    ("2026-03-10", "2026-03-10", []),  # a behaviour incident and a deleted reward only
    ("2025-08-31", "2026-03-11", [["Ava Adeyemi", "9A", "18"], ["Ben Brook", "9A", "8"], ["Cal Carter", "9B", "8"],
                                  ["Eve Evans", "9B", "5"]]),
])
async def test_typed_dates_include_both_whole_days(client, settings, cast, on_11_march, start, end, expected):
    await build(cast)
    await sign_in(client, settings, cast.pastoral)
    page = await client.get(f"/rewards/?year=9&period=custom&start={start}&end={end}")
    assert page.status_code == 200
    got = rows(page.text, "pupil-totals")
    assert got == (expected or [["No rewards in this period."]])


async def test_totals_by_year_group(client, settings, cast, on_11_march):
    await build(cast)
    await sign_in(client, settings, cast.dsl)
    page = (await client.get("/rewards/?year=11&period=year")).text
    assert rows(page, "year-totals") == [["Year 9", "34"], ["Year 11", "5"]]
    assert rows(page, "pupil-totals") == [["Dee Dunn", "11A", "5"]]


async def test_dates_that_are_not_dates_are_named_and_kept(client, settings, cast, on_11_march):
    await build(cast)
    await sign_in(client, settings, cast.pastoral)
    page = await client.get("/rewards/?year=9&period=custom&start=2026-02-31&end=2026-03-01")
    assert page.status_code == 400
    assert 'id="start-error"' in page.text and "Give the first day as a date" in page.text
    assert 'value="2026-02-31"' in page.text and 'value="2026-03-01"' in page.text
    assert rows(page.text, "pupil-totals")[0] == ["Ava Adeyemi", "9A", "13"]  # the year so far meanwhile
    backwards = await client.get("/rewards/?year=9&period=custom&start=2026-03-01&end=2026-02-01")
    assert backwards.status_code == 400 and "The last day is before the first day." in backwards.text


async def test_the_old_totals_page_leads_to_the_new_one(client, settings, cast, on_11_march):
    await build(cast)
    await sign_in(client, settings, cast.pastoral)
    page = await client.get("/incidents/rewards?year=9")
    assert str(page.url).endswith("/rewards?year=9") and ["9A", "21"] in rows(page.text, "form-totals")
