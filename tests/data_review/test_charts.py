"""The data review's charts against the fixture with known answers (tests/data_review/kit.py): incidents by
category, by place, by hour against weekday, week by week; attendance and lates week by week; rewards by form;
each chart's table and its CSV the same figures; computed once per data version."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from app.domain.data_review import service as review
from app.domain.incidents.tables import Incident
from tests.conftest import sign_in
from tests.data_review.kit import build, incident

UTC = dt.timezone.utc


@pytest.fixture
def on_24_november(frozen_clock):
    frozen_clock.current = dt.datetime(2025, 11, 24, 16, 0, tzinfo=UTC)
    return frozen_clock


def table(page: str, key: str) -> list[list[str]]:
    body = re.search(rf'<table class="audit" id="{key}-table">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)]
            for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


async def test_every_chart_has_the_known_figures(client, settings, cast, on_24_november):
    await build(cast)
    await sign_in(client, settings, cast.pastoral)
    page = await client.get("/data-review/?year=9")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    text = page.text
    assert table(text, "categories") == [["Disruption", "Behaviour", "3"], ["Kindness", "Reward", "2"],
                                         ["Fighting", "Behaviour", "1"], ["Witness", "Other", "1"]]
    assert table(text, "places") == [["Canteen", "2"], ["Corridor", "1"]]  # the deleted one and year 11's left out
    heat = {r[0]: r[1:] for r in table(text, "heatmap")}
    assert heat["10:00"] == ["0", "0", "1", "0", "0"] and heat["12:00"] == ["0", "2", "0", "0", "0"]
    assert sum(int(v) for r in heat.values() for v in r) == 3
    weekly = {r[0]: r[1:] for r in table(text, "weekly")}
    assert len(weekly) == 13 and weekly["2025-11-17"] == ["3", "1"] and weekly["2025-11-10"] == ["0", "1"]
    assert weekly["2025-09-01"] == ["0", "0"]
    att = {r[0]: r[1:] for r in table(text, "attendance")}
    # Week of 17 Nov: Ava 10/10, Ben and Cal 2/10 (G Mon to Thu), Eve 9/9 (D on Monday PM): 23/39.
    assert att["2025-11-17"] == ["59.0", "0", "0"]
    assert att["2025-11-10"] == ["95.0", "0", "2"]  # Ben's and Cal's U on Monday AM: 38/40
    assert "2025-10-27" not in att  # half term: no point on the line
    assert table(text, "rewards") == [["9A", "3"], ["9B", "5"]]
    # Drawn on the server: SVG images with a title and description, no chart script.
    assert text.count('<svg class="chart"') == 7 and text.count('role="img"') == 7
    assert '<title id="heatmap-t">' in text and "<desc id=" in text and "chart.js" not in text.lower()


async def test_one_form_and_a_date_range(client, settings, cast, on_24_november):
    await build(cast)
    await sign_in(client, settings, cast.dsl)
    text = (await client.get("/data-review/?year=9&form=9B")).text
    assert table(text, "categories") == [["Kindness", "Reward", "1"]] and table(text, "rewards") == [["9B", "5"]]
    text = (await client.get("/data-review/?year=9&start=2025-11-18&end=2025-11-18")).text
    assert table(text, "places") == [["Canteen", "1"], ["Corridor", "1"]]
    text = (await client.get("/data-review/?year=11")).text
    heat = {r[0]: r[1:] for r in table(text, "heatmap")}
    assert heat["08:00"][3] == "1"  # 07:30 on Thursday counts in the first row


async def test_each_csv_is_its_table(client, settings, cast, on_24_november):
    await build(cast)
    await sign_in(client, settings, cast.pastoral)
    text = (await client.get("/data-review/?year=9")).text
    for key in ("categories", "places", "heatmap", "weekly", "attendance", "rewards"):
        answer = await client.get(f"/data-review/csv/{key}?year=9&form=&start=2025-09-01&end=2025-11-24")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
        assert "attachment" in answer.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(answer.text)))
        assert rows[1:] == table(text, key), key
    assert (await client.get("/data-review/csv/nothing?year=9")).status_code == 404


async def test_figures_are_computed_once_per_data_version(client, settings, cast, on_24_november):
    p = await build(cast)
    await sign_in(client, settings, cast.pastoral)
    review.CACHE.items.clear()
    before = review.CACHE.computed
    first = (await client.get("/data-review/?year=9")).text
    assert (await client.get("/data-review/?year=9")).text == first
    assert review.CACHE.computed == before + 1
    # A change written by another process is seen: the version is read from the database.
    await incident(cast.school_id, cast.teacher.id, dt.datetime(2025, 11, 20, 9, 5, tzinfo=UTC), p["canteen"],
                   (p["ben"], p["disruption"], -2))
    again = (await client.get("/data-review/?year=9")).text
    assert review.CACHE.computed == before + 2 and table(again, "places") == [["Canteen", "3"], ["Corridor", "1"]]
    await Incident.update({Incident.deleted_at: dt.datetime(2025, 11, 24, 15, 0, tzinfo=UTC)}).where(
        Incident.occurred_at == dt.datetime(2025, 11, 20, 9, 5, tzinfo=UTC))
    assert table((await client.get("/data-review/?year=9")).text, "places") == [["Canteen", "2"], ["Corridor", "1"]]
