"""The gate's and first-day's lists as CSV (issue 15, point 8): the same rows as the page for the same person,
each download audited (counts only), cells a spreadsheet would run made text, and 404 for whoever the page is 404 for."""

from __future__ import annotations

import csv
import io

import pytest

from app.domain.audit.tables import AuditEvent
from app.domain.pupils.tables import Pupil
from app.domain.schools.tables import Membership
from tests.conftest import _member, sign_in
from tests.gate.kit import at
from tests.gate.test_first_day import school_day
from tests.gate.test_gate import tap


def parsed(answer) -> list[list[str]]:
    return list(csv.reader(io.StringIO(answer.text)))


async def test_todays_lates_download_as_the_page_lists_them(client, settings, cast, frozen_clock):
    frozen_clock.current = at("08:40")
    ids = await school_day(cast)
    await Pupil.update({Pupil.legal_first_name: "=cmd"}).where(Pupil.id == ids["Dee"])
    await sign_in(client, settings, cast.teacher)
    frozen_clock.current = at("08:55")
    await tap(client, ids["Ben"], reason="Bus")
    frozen_clock.current = at("09:12")
    await tap(client, ids["Dee"], reason="+44 dentist")
    answer = await client.get("/gate/today.csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert 'filename="lates-2026-12-07.csv"' in answer.headers["content-disposition"]
    assert parsed(answer) == [
        ["Time", "Pupil", "Form", "Code", "After registers closed", "Reason", "Logged by"],
        ["08:55", "Ben Pupil", "9A", "L", "no", "Bus", "Tara Teacher"],
        ["09:12", "'=cmd Pupil", "9B", "U", "yes", "'+44 dentist", "Tara Teacher"]]
    events = await AuditEvent.select(AuditEvent.detail, AuditEvent.actor).where(
        AuditEvent.action == "gate.lates_exported")
    assert len(events) == 1 and events[0]["actor"] == cast.teacher.id and "Pupil" not in str(events[0]["detail"])
    assert 'id="gate-csv"' in (await client.get("/gate/")).text


@pytest.mark.parametrize("who", ["guest", "outsider"])
async def test_the_lates_csv_is_404_for_who_has_no_gate(client, settings, cast, frozen_clock, who):
    frozen_clock.current = at("08:40")
    ids = await school_day(cast)
    await sign_in(client, settings, cast.teacher)
    frozen_clock.current = at("08:55")
    await tap(client, ids["Ben"])
    client.cookies.clear()
    await sign_in(client, settings, getattr(cast, who))
    answer = await client.get("/gate/today.csv")
    if who == "guest":
        assert answer.status_code == 404
    else:  # another school's staff: their own school's lates, none of A's
        assert answer.status_code == 200 and "Ben Pupil" not in answer.text and len(parsed(answer)) == 1
    assert await AuditEvent.count().where(AuditEvent.action == "gate.lates_exported") == (0 if who == "guest" else 1)


async def test_the_first_day_list_downloads_as_the_page_shows_it(client, settings, cast, frozen_clock):
    frozen_clock.current = at("08:40")
    ids = await school_day(cast)
    await Pupil.update({Pupil.speak_to_dsl: True}).where(Pupil.id == ids["Eve"])
    frozen_clock.current = at("09:30")
    await sign_in(client, settings, cast.pastoral)
    answer = await client.get("/attendance/first-day/csv")
    assert answer.status_code == 200
    assert 'filename="first-day-absence-2026-12-07.csv"' in answer.headers["content-disposition"]
    got = parsed(answer)
    assert got[0] == ["List", "Pupil", "Year", "Form", "Speak to the DSL", "Contacts", "Contacts today"]
    # To pastoral staff, Eve (flagged) is an ordinary row, as on the page (the page's order: year, form, name).
    assert [r[:5] for r in got[1:]] == [["To call", "Eve Pupil", "11", "11A", "yes"],
                                        ["To call", "Ava Pupil", "9", "9A", "no"],
                                        ["To call", "Cal Pupil", "9", "9B", "no"]]
    assert got[2][5] == ("Mary Pupil (Mother) 07700 900111; Don Pupil (Father): not to be contacted; "
                         "Gran Pupil (Grandmother) 07700 900333 [no parental responsibility]")
    assert "07700 900222" not in answer.text and "Oz" not in answer.text
    assert await AuditEvent.count().where(AuditEvent.action == "first_day.exported") == 1
    assert 'id="first-day-csv"' in (await client.get("/attendance/first-day/")).text
    client.cookies.clear()
    await sign_in(client, settings, cast.dsl)
    dsl = parsed(await client.get("/attendance/first-day/csv"))
    assert [r[:2] for r in dsl[1:]] == [["For the DSL team", "Eve Pupil"], ["To call", "Ava Pupil"],
                                         ["To call", "Cal Pupil"]]


async def test_before_the_register_closes_the_csv_is_empty(client, settings, cast, frozen_clock):
    frozen_clock.current = at("08:30")
    await school_day(cast)
    await sign_in(client, settings, cast.pastoral)
    assert len(parsed(await client.get("/attendance/first-day/csv"))) == 1


async def test_a_head_of_year_downloads_their_years_and_others_get_404(client, settings, cast, frozen_clock):
    frozen_clock.current = at("08:40")
    await school_day(cast)
    frozen_clock.current = at("09:30")
    await Membership.update({Membership.years: "11"}).where(Membership.person == cast.head_of_year.id)
    await sign_in(client, settings, cast.head_of_year)
    assert [r[1] for r in parsed(await client.get("/attendance/first-day/csv"))[1:]] == ["Eve Pupil"]
    for who in ("teacher", "responder", "admin", "guest", "outsider"):
        client.cookies.clear()
        await sign_in(client, settings, getattr(cast, who))
        answer = await client.get("/attendance/first-day/csv")
        assert answer.status_code == 404 and "Pupil" not in answer.text, who
    theirs = await _member("pastoral@elsewhere.example", "Eli Elsewhere", cast.other_school_id, ["staff", "pastoral"])
    client.cookies.clear()
    await sign_in(client, settings, theirs)
    other = await client.get("/attendance/first-day/csv")
    assert other.status_code == 200 and "Ava Pupil" not in other.text
    assert await AuditEvent.count().where(AuditEvent.action == "first_day.exported") == 2
