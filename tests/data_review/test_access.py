"""Who sees the data review and the early-intervention list: pastoral staff, pastoral leads and the DSL team any
year; a head of year their years only; everyone else, and another school, 404. Pages are not stored (no-store)."""

from __future__ import annotations

import datetime as dt

import pytest

from app.domain.schools.tables import Membership
from tests.conftest import post_form, sign_in
from tests.data_review.kit import build

PAGES = ["/data-review/?year=9", "/data-review/csv/places?year=9", "/data-review/early-intervention"]


@pytest.fixture
def on_24_november(frozen_clock):
    frozen_clock.current = dt.datetime(2025, 11, 24, 16, 0, tzinfo=dt.timezone.utc)
    return frozen_clock


@pytest.mark.parametrize("who", ["pastoral", "dsl"])
async def test_pastoral_staff_and_the_dsl_review_any_year(client, settings, cast, on_24_november, who):
    await build(cast)
    await sign_in(client, settings, getattr(cast, who))
    assert 'id="data-review-tile"' in (await client.get("/")).text
    for year in ("9", "11"):
        page = await client.get(f"/data-review/?year={year}")
        assert page.status_code == 200 and f'<option value="{year}" selected>' in page.text


async def test_a_pastoral_lead_reviews_any_year(client, settings, cast, on_24_november):
    await build(cast)
    await Membership.update({Membership.role: "pastoral_lead"}).where(
        (Membership.person == cast.pastoral.id) & (Membership.role == "pastoral"))
    await sign_in(client, settings, cast.pastoral)
    assert (await client.get("/data-review/?year=11")).status_code == 200
    assert (await client.get("/data-review/thresholds")).status_code == 200


async def test_a_head_of_year_reviews_their_years_only(client, settings, cast, on_24_november):
    p = await build(cast)
    await Membership.update({Membership.years: "11"}).where(Membership.person == cast.head_of_year.id)
    await sign_in(client, settings, cast.head_of_year)
    page = await client.get("/data-review/")
    assert page.status_code == 200 and "Year 11," in page.text and 'value="9"' not in page.text
    assert (await client.get("/data-review/?year=9")).status_code == 404
    assert (await client.get("/data-review/csv/places?year=9")).status_code == 404
    assert (await client.get("/data-review/?year=11&form=9A")).status_code == 404
    early = (await client.get("/data-review/early-intervention")).text
    assert f'id="flag-{p["dee"]}"' in early and f'id="flag-{p["ben"]}"' not in early
    assert (await client.get("/data-review/early-intervention?year=9")).status_code == 404
    assert (await client.get(f"/data-review/early-intervention/{p['ben']}/case")).status_code == 404
    refused = await post_form(client, f"/data-review/early-intervention/{p['ben']}/dismiss", {"reason": "x"},
                              page="/data-review/early-intervention")
    assert refused.status_code == 404


@pytest.mark.parametrize("who", ["teacher", "responder", "admin", "guest", "outsider"])
async def test_everyone_else_gets_404(client, settings, cast, on_24_november, who):
    p = await build(cast)
    await sign_in(client, settings, getattr(cast, who))
    assert 'id="data-review-tile"' not in (await client.get("/")).text
    for path in PAGES + [f"/data-review/early-intervention/{p['dee']}/case"]:
        answer = await client.get(path)
        assert answer.status_code == 404, (who, path)
        assert "Dee" not in answer.text
    refused = await post_form(client, f"/data-review/early-intervention/{p['dee']}/dismiss", {"reason": "x"})
    assert refused.status_code == 404
