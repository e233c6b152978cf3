"""Early intervention: each threshold fires at its edge and not below; the reason in words; dismissal with a
reason (audited) and the pupil back only for a new crossing; the case form filled in; thresholds set by an admin or
pastoral lead (audited), anyone else 404."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from app.domain.data_review import service as review
from app.domain.data_review.tables import ReviewThresholds
from app.domain.schools.tables import Membership
from tests.attendance.kit import HEADER, import_csv, pupil
from tests.conftest import audit_actions, post_form, sign_in
from tests.data_review.kit import build, incident

UTC = dt.timezone.utc
D = dt.date


@pytest.fixture
def on_24_november(frozen_clock):
    frozen_clock.current = dt.datetime(2025, 11, 24, 16, 0, tzinfo=UTC)
    return frozen_clock


async def kinds(school_id: int, on: dt.date) -> dict[int, dict[str, str]]:
    return {p: {c.kind: c.key for c in found} for p, found in (await review._crossings(school_id, on)).items()}


async def set_thresholds(school_id: int, **values) -> None:
    await ReviewThresholds.delete().where(ReviewThresholds.school == school_id)
    await ReviewThresholds.insert(ReviewThresholds(school=school_id, **values))


async def test_the_defaults_on_the_fixture(cast, on_24_november):
    p = await build(cast)
    got = await kinds(cast.school_id, D(2025, 11, 24))
    # Ava: 3 negative incidents (18, 18, 19 Nov) within 7 days.
    assert got[p["ava"]] == {"negative": "negative:2025-11-18"}
    # Ben: 23 of 32 sessions in the last 4 school weeks (71.9%), down from 98.7%... and the penalty watcher.
    assert got[p["ben"]] == {"attendance": "attendance:2025-11-03", "drop": "drop:2025-11-03",
                             "penalty": "penalty:2025-09-08"}
    # Cal: the same, but 9 penalty sessions in any 10 school weeks: not the penalty threshold.
    assert got[p["cal"]] == {"attendance": "attendance:2025-11-03", "drop": "drop:2025-11-03"}
    # Dee: 0% in the last 4 weeks, the penalty watcher, and 20 school days of unexplained absence.
    assert got[p["dee"]] == {"attendance": "attendance:2025-11-03", "drop": "drop:2025-11-03",
                             "penalty": "penalty:2025-09-01", "missing": "missing:2025-10-20"}
    assert p["eve"] not in got and p["fin"] not in got


async def test_negative_incidents_fire_at_3_in_7_days_and_not_below(cast, on_24_november):
    p = await build(cast)
    assert "negative" in (await kinds(cast.school_id, D(2025, 11, 24)))[p["ava"]]  # 18, 18, 19 Nov: > 17 Nov
    assert "negative" not in (await kinds(cast.school_id, D(2025, 11, 25))).get(p["ava"], {})  # 18 Nov out
    await set_thresholds(cast.school_id, negative_incidents=4)
    assert "negative" not in (await kinds(cast.school_id, D(2025, 11, 24))).get(p["ava"], {})


async def test_attendance_under_the_threshold_fires_and_at_it_does_not(cast, on_24_november):
    p = await build(cast)
    await set_thresholds(cast.school_id, attendance_below=71.875, drop_points=0, penalty=0)  # Ben: 23/32 exactly
    assert "attendance" not in (await kinds(cast.school_id, D(2025, 11, 24))).get(p["ben"], {})
    await set_thresholds(cast.school_id, attendance_below=71.9, drop_points=0, penalty=0)
    assert (await kinds(cast.school_id, D(2025, 11, 24)))[p["ben"]] == {"attendance": "attendance:2025-11-03"}


async def test_a_drop_from_last_half_term_fires_at_its_edge(cast, on_24_november):
    p = await build(cast)
    # Cal: 77/78 (98.72%) last half term, 23/32 (71.875%) this one: down 26.84 points.
    await set_thresholds(cast.school_id, drop_points=26.84, attendance_below=0)
    assert "drop" in (await kinds(cast.school_id, D(2025, 11, 24)))[p["cal"]]
    await set_thresholds(cast.school_id, drop_points=26.85, attendance_below=0)
    assert "drop" not in (await kinds(cast.school_id, D(2025, 11, 24))).get(p["cal"], {})


async def test_lates_fire_at_5_in_a_half_term_and_not_at_4(cast, on_24_november):
    await build(cast)
    gus = await pupil(cast.school_id, "Gus", "Green", mis_id="MIS-GUS", upn="G801200005007")
    lines = "".join(f"G801200005007,,2025-11-{d:02d},AM,L,5\r\n" for d in (3, 4, 5, 6))
    await import_csv(cast.school_id, HEADER + lines)
    assert "lates" not in (await kinds(cast.school_id, D(2025, 11, 24))).get(gus, {})
    await import_csv(cast.school_id, HEADER + "G801200005007,,2025-11-07,PM,U,30\r\n")
    got = (await review._crossings(cast.school_id, D(2025, 11, 24)))[gus]
    assert [(c.key, c.words) for c in got if c.kind == "lates"] == [
        ("lates:2025-11-03", "5 lates this half term (the threshold is 5).")]


async def test_the_missing_education_clock_fires_at_the_schools_days(cast, on_24_november):
    p = await build(cast)
    await set_thresholds(cast.school_id, missing_clock_days=21)
    assert "missing" not in (await kinds(cast.school_id, D(2025, 11, 24)))[p["dee"]]
    await set_thresholds(cast.school_id, missing_clock_days=20)
    assert "missing" in (await kinds(cast.school_id, D(2025, 11, 24)))[p["dee"]]


async def test_the_list_gives_reasons_in_words_and_a_dismissal_holds_until_a_new_crossing(
        client, settings, cast, on_24_november, frozen_clock):
    p = await build(cast)
    await sign_in(client, settings, cast.pastoral)
    page = (await client.get("/data-review/early-intervention")).text
    assert "3 negative incidents in the last 7 days (the threshold is 3)." in page
    assert "20 school days in a row of unexplained absence since Mon 20 Oct (missing-education clock)." in page
    assert "Penalty threshold: 10 sessions of G, N, O or U within 10 school weeks (08 Sep to 21 Nov 2025)." in page
    assert f'id="flag-{p["eve"]}"' not in page
    refused = await post_form(client, f"/data-review/early-intervention/{p['ava']}/dismiss", {"reason": " "},
                              page="/data-review/early-intervention")
    assert refused.status_code == 400 and "Say why, in up to 1000 characters." in refused.text
    done = await post_form(client, f"/data-review/early-intervention/{p['ava']}/dismiss",
                           {"reason": "Spoken to; a one-off week"}, page="/data-review/early-intervention")
    assert done.history[0].status_code == 303 and done.status_code == 200
    assert "early_intervention.dismissed" in await audit_actions(subject_id=p["ava"])
    assert f'id="flag-{p["ava"]}"' not in (await client.get("/data-review/early-intervention")).text
    # A new crossing: three more negative incidents in December, after the first episode ended.
    frozen_clock.current = dt.datetime(2025, 12, 5, 16, 0, tzinfo=UTC)
    await sign_in(client, settings, cast.pastoral)  # the session of 24 November has expired
    assert f'id="flag-{p["ava"]}"' not in (await client.get("/data-review/early-intervention")).text
    for day in (2, 3, 4):
        await incident(cast.school_id, cast.teacher.id, dt.datetime(2025, 12, day, 11, 0, tzinfo=UTC), p["canteen"],
                       (p["ava"], p["disruption"], -2))
    page = (await client.get("/data-review/early-intervention")).text
    assert f'id="flag-{p["ava"]}"' in page


async def test_add_to_caseload_fills_in_the_case(client, settings, cast, on_24_november):
    p = await build(cast)
    await sign_in(client, settings, cast.pastoral)
    form = await client.get(f"/data-review/early-intervention/{p['ben']}/case")
    assert form.status_code == 200 and "Ben Brook" in form.text
    assert "Early intervention: Attendance 71.9% over the last 4 school weeks (under 92%)." in form.text
    assert re.search(r'<option value="\d+" selected>Attendance \(reviews every 4 weeks\)', form.text)
    ava = (await client.get(f"/data-review/early-intervention/{p['ava']}/case")).text
    assert "Early intervention: 3 negative incidents" in ava
    assert (await client.get(f"/data-review/early-intervention/{p['eve']}/case")).status_code == 404  # not listed


async def test_thresholds_are_set_by_an_admin_or_pastoral_lead_and_audited(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    page = await client.get("/data-review/thresholds")
    assert page.status_code == 200 and 'value="92"' in page.text
    values = {k: str(v) for k, v in review.DEFAULTS.items()} | {"attendance_below": "90", "lates_per_half_term": "x"}
    bad = await post_form(client, "/data-review/thresholds", values, page="/data-review/thresholds")
    assert bad.status_code == 400 and 'value="x"' in bad.text and 'value="90"' in bad.text
    assert (await review.thresholds_of(cast.school_id))["attendance_below"] == 92.0
    values["lates_per_half_term"] = "6"
    saved = await post_form(client, "/data-review/thresholds", values, page="/data-review/thresholds")
    assert saved.history[0].status_code == 303 and 'id="saved"' in saved.text
    assert (await review.thresholds_of(cast.school_id))["lates_per_half_term"] == 6
    assert "review_thresholds.changed" in await audit_actions(school_id=cast.school_id)
    await sign_in(client, settings, cast.pastoral)
    assert (await client.get("/data-review/thresholds")).status_code == 404


async def test_the_list_downloads_as_csv_with_the_reasons(client, settings, cast, on_24_november):
    p = await build(cast)
    await Membership.update({Membership.years: "11"}).where(Membership.person == cast.head_of_year.id)
    await sign_in(client, settings, cast.head_of_year)
    answer = await client.get("/data-review/early-intervention.csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == ["Pupil", "Year", "Form", "Reasons"]
    assert [r[:3] for r in rows[1:]] == [["Dee Dunn", "11", "11A"]]  # year 11 only: not Ava, Ben or Cal
    assert "20 school days in a row of unexplained absence since Mon 20 Oct" in rows[1][3]
    assert p["dee"]
