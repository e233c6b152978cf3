"""The impact figures on fixtures with known answers (worked out by hand, below), the 80% attendance flag, the
follow-up window (6 to 12 weeks after exit, with a moved clock) and the CSV's content."""

from __future__ import annotations

import csv
import re
import datetime as dt
import io

import pytest

from app.domain.interventions.service import ValidationFailed
from tests.conftest import add_pupil, sign_in
from tests.interventions.kit import actor_for, enrol, instrument, measure, programme, register

D = dt.date
SESSIONS = [D(2026, 9, 8), D(2026, 9, 15), D(2026, 9, 22), D(2026, 9, 29), D(2026, 10, 6)]


async def _higher_is_better(settings, cast) -> int:
    """Confidence scale 0-10, higher is better, threshold 6; five pupils, £1,000.

    Pupil  baseline exit  change  attended
    Amy    3        7     +4      5 of 5
    Ben    4        5     +1      4 of 5 (80%: not flagged)
    Cal    5        5      0      3 of 5 (absent once, excused once: flagged)
    Dan    6        9     +3      5 of 5
    Eve    4        -      -      2 of 5 (flagged; no exit measure)

    Mean change (4+1+0+3)/4 = 2.00; deviations 2, -1, -2, 1; sample variance 10/3; SD 1.83.
    Improved 3 of 4 (Cal's 0 is not an improvement). Below 6 at baseline: Amy, Ben, Cal; at or above 6 at exit:
    Amy only, so 1 of 3 crossed. With an exit measure 4 of 5; attended at least 80%: Amy, Ben, Dan, 3 of 5.
    Cost per pupil £1,000 / 5 = £200.00."""
    pastoral = await actor_for(settings, cast.pastoral)
    scale = await instrument(pastoral, "Confidence scale", low="0", high="10", direction="higher", threshold="6")
    programme_id = await programme(pastoral, scale, name="Calm Minds", cost="1000", planned_sessions="6",
                                   starts_on="2026-09-07")
    names = ["Amy", "Ben", "Cal", "Dan", "Eve"]
    ids = {n: await enrol(pastoral, programme_id, await add_pupil(cast.school_id, n, "Pupil")) for n in names}
    for n, score in zip(names, [3, 4, 5, 6, 4]):
        await measure(pastoral, programme_id, ids[n], "baseline", D(2026, 9, 7), score)
    marks = {"Amy": "AAAAA", "Ben": "AAAAX", "Cal": "AXEAA", "Dan": "AAAAA", "Eve": "AAXXX"}
    code = {"A": "attended", "X": "absent", "E": "excused"}
    for i, day in enumerate(SESSIONS):
        await register(pastoral, programme_id, day, {ids[n]: code[marks[n][i]] for n in names})
    for n, score in zip(names[:4], [7, 5, 5, 9]):
        await measure(pastoral, programme_id, ids[n], "exit", D(2026, 10, 6), score)
    return programme_id


async def _lower_is_better(settings, cast) -> int:
    """A licensed questionnaire's total, 0-40, lower is better, threshold 15; three pupils, £450.

    baseline 20, 18, 14; exit 12, 19, 10; signed change (baseline - exit) +8, -1, +4.
    Mean 11/3 = 3.67; deviations 4.33, -4.67, 0.33; sample variance 40.67/2 = 20.33; SD 4.51.
    Improved 2 of 3. Above 15 at baseline: the first two; at or below 15 at exit: the first, so 1 of 2.
    Cost per pupil £450 / 3 = £150.00."""
    pastoral = await actor_for(settings, cast.pastoral)
    sdq = await instrument(pastoral, "SDQ total (teacher)", low="0", high="40", direction="lower", threshold="15",
                           kind="licensed", holder="Northbridge Academy")
    programme_id = await programme(pastoral, sdq, name="Lunch club", cost="450", starts_on="2026-09-07")
    ids = [await enrol(pastoral, programme_id, await add_pupil(cast.school_id, n, "Lowe")) for n in ("Fay", "Gus", "Hal")]
    for pid, score in zip(ids, [20, 18, 14]):
        await measure(pastoral, programme_id, pid, "baseline", D(2026, 9, 7), score, rater="Form tutor")
    await register(pastoral, programme_id, D(2026, 9, 8), {pid: "attended" for pid in ids})
    for pid, score in zip(ids, [12, 19, 10]):
        await measure(pastoral, programme_id, pid, "exit", D(2026, 10, 6), score, rater="Form tutor")
    return programme_id


@pytest.fixture
def october(frozen_clock):
    frozen_clock.current = dt.datetime(2026, 10, 20, 12, tzinfo=dt.timezone.utc)
    return frozen_clock


async def test_the_figures_for_a_higher_is_better_scale_match_the_hand_worked_answers(settings, cast, october):
    from app.domain.interventions import service as interventions

    programme_id = await _higher_is_better(settings, cast)
    f = (await interventions.programme_impact(await actor_for(settings, cast.pastoral), programme_id))["figures"]
    assert (f["pupils"], f["with_exit"], f["attended_80"], f["paired"]) == (5, 4, 3, 4)
    assert f["completion_exit"] == pytest.approx(0.8) and f["completion_attended"] == pytest.approx(0.6)
    assert f["mean_change"] == pytest.approx(2.0)
    assert f["sd_change"] == pytest.approx((10 / 3) ** 0.5) and round(f["sd_change"], 2) == 1.83
    assert (f["improved"], f["share_improved"]) == (3, pytest.approx(0.75))
    assert (f["crossed"], f["below_threshold"]) == (1, 3) and f["share_crossed"] == pytest.approx(1 / 3)
    assert f["cost_per_pupil"] == pytest.approx(200.0)


async def test_the_figures_for_a_lower_is_better_questionnaire_are_signed_so_positive_is_better(settings, cast, october):
    from app.domain.interventions import service as interventions

    programme_id = await _lower_is_better(settings, cast)
    f = (await interventions.programme_impact(await actor_for(settings, cast.pastoral), programme_id))["figures"]
    assert f["mean_change"] == pytest.approx(11 / 3) and round(f["sd_change"], 2) == 4.51
    assert (f["improved"], f["paired"]) == (2, 3) and f["share_improved"] == pytest.approx(2 / 3)
    assert (f["crossed"], f["below_threshold"]) == (1, 2) and f["share_crossed"] == pytest.approx(0.5)
    assert f["cost_per_pupil"] == pytest.approx(150.0) and f["completion_attended"] == pytest.approx(1.0)


async def test_the_impact_page_shows_the_figures(client, settings, cast, october):
    programme_id = await _higher_is_better(settings, cast)
    await sign_in(client, settings, cast.pastoral)
    page = await client.get(f"/interventions/{programme_id}/impact")
    assert page.status_code == 200
    for text in ("+2.00 (SD 1.83) over 4 pupils", "3 of 4 (75%)", "1 of 3 (33%)", "£200.00", "4 of 5 (80%)",
                 "3 of 5 (60%)"):
        assert text in page.text


async def test_a_pupil_below_80_percent_of_the_sessions_held_so_far_is_flagged(client, settings, cast, october):
    programme_id = await _higher_is_better(settings, cast)
    await sign_in(client, settings, cast.pastoral)
    page = (await client.get(f"/interventions/{programme_id}")).text
    rows = {row.split("<strong>")[1].split(" ")[0]: row for row in page.split('<li class="row participant')[1:]}
    assert "Below 80% attendance" in rows["Cal"] and "Attended 3 of 5 sessions held (60%)" in rows["Cal"]
    assert "Below 80% attendance" in rows["Eve"] and "5 of 6 planned sessions held" in page
    for name in ("Amy", "Ben", "Dan"):  # Ben at exactly 80% is not flagged
        assert "Below 80% attendance" not in rows[name]


async def test_the_follow_up_is_taken_6_to_12_weeks_after_the_exit(client, settings, cast, frozen_clock):
    frozen_clock.current = dt.datetime(2026, 10, 20, 12, tzinfo=dt.timezone.utc)
    programme_id = await _lower_is_better(settings, cast)
    pastoral = await actor_for(settings, cast.pastoral)
    from app.domain.interventions.tables import Participant

    fay, gus, _ = [r["id"] for r in await Participant.select(Participant.id).order_by(Participant.id)]
    await sign_in(client, settings, cast.pastoral)
    assert "Follow-up from 17 Nov 2026" in (await client.get(f"/interventions/{programme_id}")).text
    frozen_clock.current = dt.datetime(2026, 11, 16, 12, tzinfo=dt.timezone.utc)  # exit + 6 weeks - 1 day
    with pytest.raises(ValidationFailed) as early:
        await measure(pastoral, programme_id, fay, "follow_up", D(2026, 11, 16), 11, rater="Form tutor")
    assert "6 to 12 weeks after the exit: 17 Nov to 29 Dec 2026" in early.value.errors["taken_on"]
    frozen_clock.current = dt.datetime(2026, 11, 17, 12, tzinfo=dt.timezone.utc)
    await sign_in(client, settings, cast.pastoral)  # a session does not last the weeks the clock moves
    pastoral = await actor_for(settings, cast.pastoral)
    assert "Follow-up due by 29 Dec 2026" in (await client.get(f"/interventions/{programme_id}")).text
    await measure(pastoral, programme_id, fay, "follow_up", D(2026, 11, 17), 11, rater="Form tutor")
    frozen_clock.current = dt.datetime(2026, 12, 30, 12, tzinfo=dt.timezone.utc)  # exit + 12 weeks + 1 day
    await sign_in(client, settings, cast.pastoral)
    pastoral = await actor_for(settings, cast.pastoral)
    assert "Follow-up window passed" in (await client.get(f"/interventions/{programme_id}")).text
    with pytest.raises(ValidationFailed):
        await measure(pastoral, programme_id, gus, "follow_up", D(2026, 12, 30), 18, rater="Form tutor")
    await measure(pastoral, programme_id, gus, "follow_up", D(2026, 12, 29), 18, rater="Form tutor")  # the last day


async def test_the_csv_holds_the_figures_and_no_pupil_name(client, settings, cast, october):
    calm = await _higher_is_better(settings, cast)
    await _lower_is_better(settings, cast)
    await sign_in(client, settings, cast.pastoral)
    response = await client.get(f"/interventions/{calm}/impact.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == f'attachment; filename="intervention-impact-{calm}.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 1
    row = rows[0]
    assert (row["programme"], row["pupils"], row["mean_change"], row["sd_change"]) == ("Calm Minds", "5", "2.00", "1.83")
    assert (row["share_improved"], row["share_crossed_threshold"], row["cost_per_pupil"]) == ("0.750", "0.333", "200.00")
    assert (row["share_with_exit_measure"], row["share_attended_80pc"], row["better"]) == ("0.800", "0.600", "higher")
    term = await client.get("/interventions/terms/2026-autumn/impact.csv")
    by_name = {r["programme"]: r for r in csv.DictReader(io.StringIO(term.text))}
    assert set(by_name) == {"Calm Minds", "Lunch club"}
    assert (by_name["Lunch club"]["mean_change"], by_name["Lunch club"]["sd_change"]) == ("3.67", "4.51")
    assert by_name["Lunch club"]["better"] == "lower" and by_name["Lunch club"]["cost_per_pupil"] == "150.00"
    assert "2026-autumn" in term.headers["content-disposition"]
    for name in ("Amy", "Ben", "Cal", "Dan", "Eve", "Fay", "Gus", "Hal", "Pupil", "Lowe"):
        assert not re.search(rf"\b{name}\b", response.text + term.text)
    from app.domain.interventions.tables import Programme
    await Programme.update({Programme.name: "=HYPERLINK(1)"}).where(Programme.id == calm)
    rows = list(csv.DictReader(io.StringIO((await client.get(f"/interventions/{calm}/impact.csv")).text)))
    assert rows[0]["programme"] == "'=HYPERLINK(1)"  # a typed name is never run as a spreadsheet formula
    await Programme.update({Programme.name: "Calm Minds"}).where(Programme.id == calm)
    page = await client.get("/interventions/terms/2026-autumn")
    assert "Calm Minds" in page.text and "Lunch club" in page.text and "+3.67 (SD 4.51)" in page.text
