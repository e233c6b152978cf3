"""On report on the pupil's chronology (the 'on_report' source): put on report, changes of level and the end with
the ratings given of those due, never single ratings; seen by whoever sees the report, filtered by source, and
nobody else, nor another school."""

from __future__ import annotations

from app.domain.chronology import service as chronology
from app.domain.chronology.entries import SOURCES
from tests.chronology.kit import actor_for
from tests.conftest import add_pupil, post_form, sign_in
from tests.on_report.kit import MONDAY, at, period_ids, put_on_report, rate, report_id_of, targets


async def _report_with_history(client, settings, cast, frozen_clock, **changes) -> tuple[int, int]:
    at(frozen_clock, MONDAY, "08:00")
    amy = await add_pupil(cast.school_id, "Amy", "Archer")
    rid = report_id_of(await put_on_report(client, settings, cast.pastoral, amy, cast.school_id, **changes))
    ids = await period_ids(cast.school_id)
    t1, t2 = [t["id"] for t in await targets(rid)]
    at(frozen_clock, MONDAY, "09:50")
    await sign_in(client, settings, cast.teacher)
    assert (await rate(client, rid, t1, ids["Period 1"], 3)).status_code == 200
    assert (await rate(client, rid, t2, ids["Period 1"], 4)).status_code == 200
    at(frozen_clock, MONDAY, "11:30")
    await sign_in(client, settings, cast.pastoral)
    await post_form(client, f"/on-report/{rid}/level", {"level": "2", "reason": "Walked out of P2"})
    at(frozen_clock, MONDAY, "12:00")
    await post_form(client, f"/on-report/{rid}/end", {"reason": "Moved to a support plan"})
    return amy, rid


async def test_it_puts_the_report_on_the_chronology_not_each_rating(client, settings, cast, frozen_clock):
    amy, rid = await _report_with_history(client, settings, cast, frozen_clock)
    assert SOURCES["on_report"] == "On report"
    rows = await chronology.entries(await actor_for(settings, cast.pastoral), amy, audit=False)
    mine = [e for e in rows if e.source == "on_report"]
    assert [e.event for e in mine] == ["Put on report: Tutor report, 07 Dec to 18 Dec 2026",
                                      "Report escalated to Head of year report", "Report ended"]
    assert [e.ref for e in mine][0] == f"on_report:{rid}:started"
    assert mine[1].detail == "Walked out of P2" and mine[2].detail == "Moved to a support plan"
    # Periods 1 and 2 were over when it ended, two targets each: 4 due, 2 given (3 and 4); a missed one is no zero.
    assert mine[2].outcome == "2 of 4 ratings given · average 3.5"
    assert mine[0].recorded_by == "Pat Pastoral"


async def test_it_filters_the_page_by_the_on_report_source(client, settings, cast, frozen_clock):
    amy, _ = await _report_with_history(client, settings, cast, frozen_clock)
    await sign_in(client, settings, cast.pastoral)
    html = (await client.get(f"/chronology/pupil/{amy}?source=on_report")).text
    assert "3 entries (filtered)" in html and 'value="on_report" checked' in html
    assert "Report escalated to Head of year report" in html
    csv = (await client.get(f"/chronology/pupil/{amy}/csv?source=on_report")).text
    assert csv.count("On report") == 3 and "2 of 4 ratings given" in csv


async def test_only_those_who_see_the_report_see_its_lines(client, settings, cast, frozen_clock):
    # Not ticked for heads of year: the head of year opens the chronology but finds none of the report in it.
    amy, _ = await _report_with_history(client, settings, cast, frozen_clock, visible_to=["pastoral"])
    hoy = await chronology.entries(await actor_for(settings, cast.head_of_year), amy, audit=False)
    assert not [e for e in hoy if e.source == "on_report"]
    dsl = await chronology.entries(await actor_for(settings, cast.dsl), amy, audit=False)
    assert len([e for e in dsl if e.source == "on_report"]) == 3
    for member in (cast.teacher, cast.outsider, cast.guest):
        await sign_in(client, settings, member)
        assert (await client.get(f"/chronology/pupil/{amy}?source=on_report")).status_code == 404
