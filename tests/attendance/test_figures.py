"""Every figure against the fixture with known answers (fixture/marks.csv; the story is in make_marks.py).

Worked out by hand. Term: 1 Sep to 19 Dec 2025, half term 27-31 Oct, a closure (#) on Fri 24 Oct: 15 school weeks,
74 school days, 148 sessions. The last 4 school weeks at 19 Dec start on Mon 24 Nov (40 sessions)."""

from __future__ import annotations

import datetime as dt

from app.domain.attendance import service as attendance
from tests.attendance.kit import END_OF_TERM, fixture_pupils, import_fixture

D = dt.date


def figures_of(period: attendance.Period) -> dict:
    return {"possible": period.possible, "attended": period.attended, "authorised": period.authorised,
            "unauthorised": period.unauthorised, "spells": period.spells, "longest": period.longest_spell,
            "L": period.late_before_close, "U": period.late_after_close, "minutes": period.minutes_late,
            "percent": period.percent, "band": period.band}


async def test_the_fixture_imports_every_row(cast):
    await fixture_pupils(cast.school_id)
    plan = await import_fixture(cast.school_id)
    assert (plan.marks_added, plan.marks_changed, plan.marks_unchanged, plan.errors) == (750, 0, 0, [])
    assert (plan.pupils, plan.first_day, plan.last_day) == (5, D(2025, 9, 1), D(2025, 12, 19))


async def test_it_counts_every_figure_of_the_year_and_the_last_4_weeks(cast):
    p = await fixture_pupils(cast.school_id)
    await import_fixture(cast.school_id)
    got = {who: await attendance.figures(cast.school_id, pid, END_OF_TERM) for who, pid in p.items()}

    # Ava: Y1 on 5 Dec does not count (146 possible); I, I, I and M authorised; U and N, N unauthorised.
    # Spells: I I I | U | M | N N. L on 15 and 16 Sep and 16 Dec; U on 17 Sep. 10 + 5 + 40 + 12 minutes.
    assert figures_of(got["ava"].year) == {"possible": 146, "attended": 139, "authorised": 4, "unauthorised": 3,
                                           "spells": 4, "longest": 3, "L": 3, "U": 1, "minutes": 67,
                                           "percent": 95.2, "band": "at_risk"}
    assert got["ava"].recent.start == D(2025, 11, 24)
    assert figures_of(got["ava"].recent) == {"possible": 38, "attended": 36, "authorised": 0, "unauthorised": 2,
                                             "spells": 1, "longest": 2, "L": 1, "U": 0, "minutes": 12,
                                             "percent": 94.7, "band": "at_risk"}
    # Ben: O, U and 8 G unauthorised; spells O | U | G x 8.
    assert figures_of(got["ben"].year) == {"possible": 148, "attended": 138, "authorised": 0, "unauthorised": 10,
                                           "spells": 3, "longest": 8, "L": 0, "U": 1, "minutes": 15,
                                           "percent": 93.2, "band": "at_risk"}
    assert figures_of(got["ben"].recent)["percent"] == 100.0 and got["ben"].recent.band == "expected"
    # Dee: 20 school days of N/O across half term and the closure: 40 sessions, one spell.
    assert figures_of(got["dee"].year) == {"possible": 148, "attended": 108, "authorised": 0, "unauthorised": 40,
                                           "spells": 1, "longest": 40, "L": 0, "U": 0, "minutes": 0,
                                           "percent": 73.0, "band": "persistent"}
    assert figures_of(got["dee"].recent) == {"possible": 40, "attended": 38, "authorised": 0, "unauthorised": 2,
                                             "spells": 1, "longest": 2, "L": 0, "U": 0, "minutes": 0,
                                             "percent": 95.0, "band": "at_risk"}
    # Eve: Z on 1 Sep, D on 8 Mondays' afternoons, X on 12 Dec count for nothing: 148 - 2 - 8 - 2.
    assert figures_of(got["eve"].year) == {"possible": 136, "attended": 136, "authorised": 0, "unauthorised": 0,
                                           "spells": 0, "longest": 0, "L": 0, "U": 0, "minutes": 0,
                                           "percent": 100.0, "band": "expected"}
    assert got["eve"].recent.possible == 36  # D on 1 and 15 Dec, X on 12 Dec
    assert all(g.has_marks and g.year_start == D(2025, 9, 1) for g in got.values())


async def test_the_last_4_school_weeks_skip_the_half_term(cast):
    p = await fixture_pupils(cast.school_id)
    await import_fixture(cast.school_id)
    # At Fri 7 Nov the last 4 school weeks are those of 6, 13 and 20 Oct and 3 Nov (not 13 Oct to 7 Nov, which
    # is 4 calendar weeks with the half term in it): 38 sessions (the closure on 24 Oct is not one).
    dee = await attendance.figures(cast.school_id, p["dee"], D(2025, 11, 7))
    assert dee.recent.start == D(2025, 10, 6)
    assert figures_of(dee.recent) == {"possible": 38, "attended": 20, "authorised": 0, "unauthorised": 18,
                                      "spells": 1, "longest": 18, "L": 0, "U": 0, "minutes": 0,
                                      "percent": 52.6, "band": "persistent"}
    # At Mon 24 Nov: the weeks of 3, 10, 17 and 24 Nov, all N or O: severe absence.
    dee = await attendance.figures(cast.school_id, p["dee"], D(2025, 11, 24))
    assert (dee.recent.possible, dee.recent.percent, dee.recent.band, dee.recent.longest_spell) == (32, 0.0,
                                                                                                   "severe", 32)
    assert (dee.year.possible, dee.year.attended, dee.year.percent, dee.year.band) == (110, 70, 63.6, "persistent")


async def test_the_penalty_watcher_fires_at_10_in_10_school_weeks_and_not_at_9(cast):
    p = await fixture_pupils(cast.school_id)
    await import_fixture(cast.school_id)
    ben = (await attendance.figures(cast.school_id, p["ben"], END_OF_TERM)).penalty
    # O in school week 2, U and 8 G in weeks 10 and 11: 10 in weeks 2 to 11 (11 calendar weeks, half term between).
    assert (ben.fired, ben.most, ben.window_start, ben.window_end) == (True, 10, D(2025, 9, 8), D(2025, 11, 21))
    assert ben.last_10_weeks == 9  # the weeks of 6 Oct to 15 Dec
    cal = (await attendance.figures(cast.school_id, p["cal"], END_OF_TERM)).penalty
    # The O is in week 1: no 10 school weeks hold more than 9.
    assert (cal.fired, cal.most, cal.window_start) == (False, 9, None)
    ava = (await attendance.figures(cast.school_id, p["ava"], END_OF_TERM)).penalty
    # U on 17 Sep (week 3) and N, N on 15 Dec (week 15) are never within 10 school weeks of each other.
    assert (ava.fired, ava.most) == (False, 2)
    dee = (await attendance.figures(cast.school_id, p["dee"], END_OF_TERM)).penalty
    # 8 in the week of 20 Oct and 10 in that of 3 Nov: the threshold is crossed in the window ending 7 Nov.
    assert (dee.fired, dee.most, dee.window_start, dee.window_end) == (True, 40, D(2025, 9, 1), D(2025, 11, 7))
    before = (await attendance.figures(cast.school_id, p["ben"], D(2025, 11, 19))).penalty
    assert (before.fired, before.most) == (False, 8)  # Wed 19 Nov: O, U and 6 G so far
    on_the_day = (await attendance.figures(cast.school_id, p["ben"], D(2025, 11, 20))).penalty
    assert (on_the_day.fired, on_the_day.most) == (True, 10)  # Thu 20 Nov: the 7th and 8th G


async def test_the_missing_education_clock_prompts_at_10_days_and_asks_for_the_checklist_at_20(cast):
    p = await fixture_pupils(cast.school_id)
    await import_fixture(cast.school_id)

    async def clock(day: dt.date) -> tuple:
        c = (await attendance.figures(cast.school_id, p["dee"], day)).clock
        return c.days, c.since, c.level

    since = D(2025, 10, 20)
    # Mon 20 to Thu 23 Oct, then (no school on the closure day or in half term) Mon 3 to Fri 7 Nov: 9 days.
    assert await clock(D(2025, 11, 7)) == (9, since, "")
    assert await clock(D(2025, 11, 8)) == (9, since, "")  # a Saturday: the last school day counts
    assert await clock(D(2025, 11, 10)) == (10, since, "prompt")
    assert await clock(D(2025, 11, 12)) == (12, since, "prompt")  # O on the 12th is unexplained too
    assert await clock(D(2025, 11, 21)) == (19, since, "prompt")
    assert await clock(D(2025, 11, 24)) == (20, since, "checklist")
    assert await clock(D(2025, 11, 25)) == (0, None, "")  # back in school
    ava = (await attendance.figures(cast.school_id, p["ava"], D(2025, 12, 15))).clock
    assert (ava.days, ava.level) == (1, "")


def test_the_bands_start_where_the_school_says():
    assert attendance.band_of(95.2, attendance.DEFAULT_BANDS)[0] == "at_risk"
    assert attendance.band_of(95.2, {**attendance.DEFAULT_BANDS, "expected_from": 95.0})[0] == "expected"
    assert attendance.band_of(96.0, attendance.DEFAULT_BANDS)[0] == "expected"
    assert attendance.band_of(90.0, attendance.DEFAULT_BANDS)[0] == "at_risk"
    assert attendance.band_of(89.9, attendance.DEFAULT_BANDS)[0] == "persistent"
    assert attendance.band_of(50.1, attendance.DEFAULT_BANDS)[0] == "persistent"
    assert attendance.band_of(50.0, attendance.DEFAULT_BANDS) == ("severe", "Severe absence (50% or under)")
    assert attendance.band_of(None, attendance.DEFAULT_BANDS)[0] == "none"
