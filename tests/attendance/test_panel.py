"""The Attendance panel of a pupil's profile: for pastoral staff, heads of year (their years) and the DSL team;
404 for everyone else (staff, guests, responders, admins, other schools). It shows the figures, the penalty
watcher and the missing-education clock."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from app.domain.attendance import service as attendance
from app.domain.schools.tables import Membership
from tests.attendance.kit import fixture_pupils, import_fixture
from tests.conftest import sign_in


@pytest.fixture
def on_24_november(frozen_clock):
    frozen_clock.current = dt.datetime(2025, 11, 24, 16, 0, tzinfo=dt.timezone.utc)
    return frozen_clock


def row(page: str, row_id: str) -> list[str]:
    found = re.search(rf'<tr id="{row_id}">(.*?)</tr>', page, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", found, re.S)]


async def test_pastoral_staff_see_the_figures_the_watcher_and_the_clock(client, settings, cast, on_24_november):
    p = await fixture_pupils(cast.school_id)
    await import_fixture(cast.school_id)
    await sign_in(client, settings, cast.pastoral)
    profile = await client.get(f"/pupils/{p['dee']}")
    assert f'hx-get="/attendance/pupil/{p["dee"]}"' in profile.text
    panel = await client.get(f"/attendance/pupil/{p['dee']}")
    assert panel.status_code == 200
    # At Mon 24 Nov: 20 school days of N/O since 20 Oct; the last 4 school weeks are 3 Nov to 24 Nov.
    assert row(panel.text, "fig-percent") == ["63.6%", "0.0%"]
    assert row(panel.text, "fig-band") == ["Persistent absence (under 90%)", "Severe absence (50% or under)"]
    assert row(panel.text, "fig-possible") == ["110", "32"]
    assert row(panel.text, "fig-unauthorised") == ["40", "32"]
    assert row(panel.text, "fig-spells") == ["1", "1"] and row(panel.text, "fig-longest") == ["40", "32"]
    assert "20 school days in a row of unexplained absence" in panel.text and "Mon 20 Oct" in panel.text
    assert "The local authority's children-missing-education team told" in panel.text
    assert "Penalty threshold reached" in panel.text and "01 Sep to 07 Nov 2025" in panel.text


async def test_lates_and_a_prompt_show_for_others(client, settings, cast, frozen_clock):
    frozen_clock.current = dt.datetime(2025, 12, 19, 16, 0, tzinfo=dt.timezone.utc)
    p = await fixture_pupils(cast.school_id)
    await import_fixture(cast.school_id)
    await sign_in(client, settings, cast.dsl)
    panel = await client.get(f"/attendance/pupil/{p['ava']}")
    assert row(panel.text, "fig-late-l") == ["3", "1"] and row(panel.text, "fig-late-u") == ["1", "0"]
    assert row(panel.text, "fig-minutes") == ["67", "12"] and row(panel.text, "fig-authorised") == ["4", "0"]
    assert "Penalty threshold" not in panel.text and "unexplained absence" not in panel.text
    frozen_clock.current = dt.datetime(2025, 11, 10, 16, 0, tzinfo=dt.timezone.utc)
    dee = await client.get(f"/attendance/pupil/{p['dee']}")
    assert "10 school days in a row of unexplained absence" in dee.text and "Make contact today" in dee.text
    assert "children-missing-education" not in dee.text


async def test_a_pupil_without_marks_says_so(client, settings, cast):
    p = await fixture_pupils(cast.school_id)
    await sign_in(client, settings, cast.pastoral)
    panel = await client.get(f"/attendance/pupil/{p['ava']}")
    assert panel.status_code == 200 and "No register marks imported for this school year yet." in panel.text


async def test_a_head_of_year_sees_their_years_only(client, settings, cast, on_24_november):
    p = await fixture_pupils(cast.school_id)  # Dee is in year 11, the others in year 9
    await import_fixture(cast.school_id)
    await Membership.update({Membership.years: "9"}).where(Membership.person == cast.head_of_year.id)
    await sign_in(client, settings, cast.head_of_year)
    assert (await client.get(f"/attendance/pupil/{p['ava']}")).status_code == 200
    assert (await client.get(f"/attendance/pupil/{p['dee']}")).status_code == 404
    assert "/attendance/pupil/" not in (await client.get(f"/pupils/{p['dee']}")).text


async def test_everyone_else_gets_404(client, settings, cast, on_24_november):
    p = await fixture_pupils(cast.school_id)
    await import_fixture(cast.school_id)
    for member in (cast.teacher, cast.responder, cast.admin, cast.guest, cast.outsider):
        await sign_in(client, settings, member)
        answer = await client.get(f"/attendance/pupil/{p['dee']}")
        assert answer.status_code == 404 and "63.6" not in answer.text
        if member is not cast.outsider:
            assert "/attendance/pupil/" not in (await client.get(f"/pupils/{p['dee']}")).text
    await sign_in(client, settings, cast.pastoral)
    assert (await client.get("/attendance/pupil/999999")).status_code == 404


async def test_the_service_checks_access_itself(cast, on_24_november):
    from app.domain.audit.service import Origin
    from app.domain.schools.service import Actor

    p = await fixture_pupils(cast.school_id)
    now = dt.datetime.now(dt.timezone.utc)
    outsider = Actor(person_id=cast.outsider.id, display_name="Otto", email="o@x", session_id=0,
                     school_id=cast.other_school_id, trust_id=None, school_name="Elsewhere",
                     roles=frozenset({"dsl"}), verified_at=now, origin=Origin())
    with pytest.raises(attendance.NotFound):
        await attendance.pupil_attendance(outsider, p["ava"])
