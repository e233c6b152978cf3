"""First-day absence with the MIS's statuses (issue 15, point 4): a pupil with a child-protection, child-in-need or
looked-after status, absent without a reason, goes to the DSL team's list at once (the team is alerted, once), with
the status in words; to anyone else they are an ordinary row with nothing of the status; another school's flagged
pupil is that school's DSL team's, never ours."""

from __future__ import annotations

import pytest

from app.domain.attendance import first_day
from app.domain.audit.tables import AuditEvent
from app.domain.notifications.tables import Alert, AlertRecipient
from app.domain.pupils.tables import Pupil
from tests.conftest import give_passkey, sign_in
from tests.gate.kit import at
from tests.gate.test_first_day import school_day
from tests.incidents.test_post_statements import statements  # noqa: F401  (the fixture)

WORDS = ("Child protection plan", "Child in need", "Looked after")


@pytest.mark.parametrize("flag", ["child_protection", "child_in_need", "looked_after"])
async def test_each_status_sends_the_pupil_to_the_dsl_team(client, settings, cast, frozen_clock, flag):
    frozen_clock.current = at("08:40")
    ids = await school_day(cast)
    await Pupil.update({getattr(Pupil, flag): True}).where(Pupil.id.is_in([ids["Ava"], ids["Ben"], ids["Oz"]]))
    await give_passkey(cast.dsl)
    frozen_clock.current = at("09:01")
    assert await first_day.alert_dsl_if_due() == 2  # Ava, and Oz for their own school; Ben is here
    assert await first_day.alert_dsl_if_due() == 0
    assert sorted((e["school"], e["subject_id"]) for e in await AuditEvent.select(
        AuditEvent.school, AuditEvent.subject_id).where(AuditEvent.action == "first_day.dsl_alerted")) == sorted(
        [(cast.school_id, str(ids["Ava"])), (cast.other_school_id, str(ids["Oz"]))])
    # Our DSL is told of Ava only (the other school's alert goes to that school's DSL team), naming nobody.
    assert await AlertRecipient.count().where(AlertRecipient.person == cast.dsl.id) == 1
    assert all("Ava" not in a["text"] and "Oz" not in a["text"] for a in await Alert.select(Alert.text))

    await sign_in(client, settings, cast.dsl)
    page = (await client.get("/attendance/first-day/")).text
    dsl_part, rest = page.split('id="list-heading"')
    word = WORDS[["child_protection", "child_in_need", "looked_after"].index(flag)]
    assert "Ava Pupil" in dsl_part and f"From the MIS: {word}" in dsl_part
    assert "Ava Pupil" not in rest and "Eve Pupil" in rest  # Eve: absent, no status, the ordinary list

    client.cookies.clear()
    await sign_in(client, settings, cast.pastoral)
    page = (await client.get("/attendance/first-day/")).text
    assert "For the DSL team" not in page and "Ava Pupil" in page
    assert "From the MIS" not in page and not any(w in page for w in WORDS)


async def test_without_a_status_nobody_goes_to_the_dsl_team(client, settings, cast, frozen_clock):
    frozen_clock.current = at("08:40")
    await school_day(cast)
    await give_passkey(cast.dsl)
    frozen_clock.current = at("09:01")
    assert await first_day.alert_dsl_if_due() == 0
    await sign_in(client, settings, cast.dsl)
    page = (await client.get("/attendance/first-day/")).text
    assert "No flagged pupil is absent without a reason." in page


async def test_the_minute_check_reads_the_flagged_pupils_once_however_many_schools(
        cast, frozen_clock, statements):  # noqa: F811
    """Asked school by school, PostgreSQL read the whole pupil table once per school (12 ms each, 1.1 s a minute per
    process at a trust of 90 schools); one read of the pupils for every school now, and the marks of flagged ones."""
    import datetime as dt

    from app.domain.schools.tables import School

    frozen_clock.current = at("08:40")
    ids = await school_day(cast)
    trust = (await School.select(School.trust).where(School.id == cast.school_id).first())["trust"]
    await School.insert(*[School(trust=trust, name=f"School {n}", slug=f"school-{n}", la_code="801",
                                 establishment_number=f"60{n:02d}", created_at=dt.datetime.now(dt.timezone.utc))
                          for n in range(8)])
    await Pupil.update({Pupil.looked_after: True}).where(Pupil.id == ids["Ava"])
    statements.clear()
    frozen_clock.current = at("09:01")
    assert await first_day.alert_dsl_if_due() == 1
    flag_reads = [s for s in statements if '"looked_after" = ' in s]  # a read that picks out the flagged pupils
    assert len(flag_reads) == 1, flag_reads  # was one per school: 9 here
