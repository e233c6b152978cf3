"""Rating from the classroom: the 'on report now' list in UK time, one rating per target and lesson, and a missed
rating shown as missing, never as a zero."""

from __future__ import annotations

from app.domain.audit.tables import AuditEvent
from app.domain.on_report.tables import OnReportRating
from tests.conftest import add_pupil, sign_in
from tests.on_report.kit import MONDAY, at, period_ids, put_on_report, rate, report_id_of, targets


async def _on_report(client, settings, cast, frozen_clock, first="Amy", last="Archer"):
    at(frozen_clock, MONDAY, "08:00")
    pupil = await add_pupil(cast.school_id, first, last)
    response = await put_on_report(client, settings, cast.pastoral, pupil, cast.school_id)
    return pupil, report_id_of(response)


async def test_the_now_list_follows_the_clock_in_uk_time(client, settings, cast, frozen_clock):
    _, rid = await _on_report(client, settings, cast, frozen_clock)
    await sign_in(client, settings, cast.teacher)
    at(frozen_clock, MONDAY, "09:30")  # Period 1: covered
    page = await client.get("/on-report/")
    assert "On report now: Period 1" in page.text and "Amy Archer" in page.text and "0 of 2 targets rated" in page.text
    at(frozen_clock, MONDAY, "11:05")  # break
    page = await client.get("/on-report/")
    assert "No lesson is under way now" in page.text and "Amy Archer" not in page.text
    at(frozen_clock, MONDAY, "11:30")  # Period 3: not covered by this report
    page = await client.get("/on-report/")
    assert "No pupil is on report for this lesson." in page.text
    at(frozen_clock, MONDAY.replace(day=19), "09:30")  # after the report's last day
    assert "Amy Archer" not in (await client.get("/on-report/")).text


async def test_a_teacher_rates_in_two_taps_from_the_now_list(client, settings, cast, frozen_clock):
    _, rid = await _on_report(client, settings, cast, frozen_clock)
    ids = await period_ids(cast.school_id)
    first, second = await targets(rid)
    await sign_in(client, settings, cast.teacher)
    at(frozen_clock, MONDAY, "09:30")
    page = await client.get("/on-report/")
    link = f"/on-report/{rid}/rate?period={ids['Period 1']}"
    assert link in page.text  # tap 1: the pupil
    page = await client.get(link)
    assert "Arrive on time with equipment" in page.text and "3 · Met" in page.text and "Not rated yet" in page.text
    response = await rate(client, rid, first["id"], ids["Period 1"], 3, "Good start")  # tap 2: the rating
    assert response.status_code == 200 and "Saved." in response.text and "Rated 3 · Met by Tara Teacher" in response.text
    rows = await OnReportRating.select().where(OnReportRating.report == rid)
    assert [(r["target"], r["period"], r["day"], r["score"], r["comment"], r["rated_by"]) for r in rows] == [
        (first["id"], ids["Period 1"], MONDAY, 3, "Good start", cast.teacher.id)]
    assert "1 of 2 targets rated" in (await client.get("/on-report/")).text
    event = await AuditEvent.select().where(AuditEvent.action == "on_report.rated").first()
    assert event["actor"] == cast.teacher.id and "Good start" not in str(event)


async def test_a_second_tap_changes_the_rating_and_a_double_submit_keeps_one(client, settings, cast, frozen_clock):
    _, rid = await _on_report(client, settings, cast, frozen_clock)
    ids = await period_ids(cast.school_id)
    first, _ = await targets(rid)
    await sign_in(client, settings, cast.teacher)
    at(frozen_clock, MONDAY, "09:30")
    await rate(client, rid, first["id"], ids["Period 1"], 2)
    again = await rate(client, rid, first["id"], ids["Period 1"], 2)
    assert "Already saved." in again.text
    changed = await rate(client, rid, first["id"], ids["Period 1"], 4)
    assert "Rating changed." in changed.text
    rows = await OnReportRating.select().where(OnReportRating.report == rid)
    assert len(rows) == 1 and rows[0]["score"] == 4
    actions = [r["action"] for r in await AuditEvent.select(AuditEvent.action).where(
        AuditEvent.action.like("on_report.rat%"))]
    assert actions == ["on_report.rated", "on_report.rating_changed"]


async def test_it_refuses_lessons_not_covered_not_begun_and_bad_scores(client, settings, cast, frozen_clock):
    _, rid = await _on_report(client, settings, cast, frozen_clock)
    ids = await period_ids(cast.school_id)
    first, _ = await targets(rid)
    await sign_in(client, settings, cast.teacher)
    at(frozen_clock, MONDAY, "09:30")
    for period, score in ((ids["Period 3"], 3), (ids["Period 2"], 3), (ids["Period 1"], 5), (ids["Period 1"], 0)):
        response = await rate(client, rid, first["id"], period, score)
        assert response.status_code == 400
    assert "This lesson cannot be rated now" in (await rate(client, rid, first["id"], ids["Period 2"], 3)).text
    assert "Choose a rating from 1 to 4." in (await rate(client, rid, first["id"], ids["Period 1"], 9)).text
    assert not await OnReportRating.exists()
    at(frozen_clock, MONDAY, "10:30")  # a rating of the lesson just gone is still taken
    assert (await rate(client, rid, first["id"], ids["Period 1"], 3)).status_code == 200


async def test_a_missed_rating_is_missing_never_zero(client, settings, cast, frozen_clock):
    _, rid = await _on_report(client, settings, cast, frozen_clock)
    ids = await period_ids(cast.school_id)
    first, second = await targets(rid)
    await sign_in(client, settings, cast.teacher)
    at(frozen_clock, MONDAY, "09:30")
    await rate(client, rid, first["id"], ids["Period 1"], 4)
    at(frozen_clock, MONDAY, "10:30")
    await sign_in(client, settings, cast.pastoral)
    page = await client.get(f"/on-report/{rid}")
    assert page.status_code == 200
    grid = page.text.split('id="grid"')[1].split("</table>")[0]
    assert "4 · Exceeded" in grid and grid.count("Missing") == 1 and "Due now" in grid and "Later" in grid
    assert ">0<" not in grid
    # Period 1 is over and Period 2 has begun: four ratings due, one given; its average is 4, not (4+0)/4.
    assert "1 of 4 rated · average <strong>4.0</strong>" in page.text
    csv = await client.get(f"/on-report/{rid}/report.csv")
    lines = csv.text.splitlines()
    assert any(line.endswith("Stay in my seat,,missing,,") for line in lines)
    assert any(",4,Exceeded," in line for line in lines)


async def test_who_may_rate(client, settings, cast, frozen_clock):
    pupil, rid = await _on_report(client, settings, cast, frozen_clock)
    ids = await period_ids(cast.school_id)
    first, _ = await targets(rid)
    at(frozen_clock, MONDAY, "09:30")
    for member in (cast.guest, cast.outsider):
        await sign_in(client, settings, member)
        assert (await client.get(f"/on-report/{rid}/rate")).status_code == 404
        assert (await rate(client, rid, first["id"], ids["Period 1"], 3)).status_code == 404
        assert (await client.get(f"/on-report/pupil/{pupil}")).status_code == 404
        for path in ("", "/report.csv", "/report.pdf"):
            assert (await client.get(f"/on-report/{rid}{path}")).status_code == 404
    assert (await client.get("/on-report/")).status_code == 200  # the outsider's own (empty) list
    await sign_in(client, settings, cast.guest)
    assert (await client.get("/on-report/")).status_code == 404
    assert not await OnReportRating.exists()
    for member in (cast.responder, cast.admin, cast.head_of_year):
        await sign_in(client, settings, member)
        assert (await rate(client, rid, first["id"], ids["Period 1"], 3)).status_code == 200


async def test_the_profile_offers_rating_and_the_report(client, settings, cast, frozen_clock):
    pupil, rid = await _on_report(client, settings, cast, frozen_clock)
    at(frozen_clock, MONDAY, "09:30")
    await sign_in(client, settings, cast.teacher)
    profile = await client.get(f"/pupils/{pupil}")
    assert f"/on-report/pupil/{pupil}" in profile.text
    panel = await client.get(f"/on-report/pupil/{pupil}")
    assert f"/on-report/{rid}/rate" in panel.text and "Open the report" not in panel.text
    await sign_in(client, settings, cast.pastoral)
    panel = await client.get(f"/on-report/pupil/{pupil}")
    assert "Open the report" in panel.text
    other = await add_pupil(cast.school_id, "Ben", "Baker")
    panel = await client.get(f"/on-report/pupil/{other}")
    assert "Put on report" in panel.text


async def test_the_home_screen_leads_staff_to_the_now_list(client, settings, cast):
    await sign_in(client, settings, cast.teacher)
    assert 'id="on-report-tile"' in (await client.get("/")).text
    await sign_in(client, settings, cast.guest)
    assert 'id="on-report-tile"' not in (await client.get("/")).text
    await sign_in(client, settings, cast.admin)
    assert 'href="/on-report/day"' in (await client.get("/")).text
