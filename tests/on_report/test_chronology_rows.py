"""The report's lines for the pupil's chronology: put on report, changes of level and the end, for those who see it."""

from __future__ import annotations

from app.domain.on_report import service as on_report
from tests.conftest import add_pupil, post_form, sign_in
from tests.on_report.kit import MONDAY, at, put_on_report, report_id_of


async def test_the_chronology_lines_are_for_those_who_see_the_report(client, settings, cast, frozen_clock):
    at(frozen_clock, MONDAY, "08:00")
    amy = await add_pupil(cast.school_id, "Amy", "Archer")
    rid = report_id_of(await put_on_report(client, settings, cast.pastoral, amy, cast.school_id,
                                           visible_to=["pastoral"]))
    await post_form(client, f"/on-report/{rid}/level", {"level": "2", "reason": "Walked out of P2"})
    await post_form(client, f"/on-report/{rid}/end", {"reason": "Moved to a support plan"})
    from app.domain.accounts import service as accounts
    from app.domain.schools.service import Origin

    async def actor_of(member):
        token = await sign_in(client, settings, member)
        return await accounts.load_actor(settings, token, Origin(ip="test"))

    rows = await on_report.chronology_rows(await actor_of(cast.dsl), amy)
    assert [(r["ref"].split(":")[0], r["event"], r["detail"]) for r in rows] == [
        ("on_report", "Put on report: Tutor report, 07 Dec to 18 Dec 2026", "2 targets"),
        ("on_report", "Report escalated to Head of year report", "Walked out of P2"),
        ("on_report", "Report ended", "Moved to a support plan")]
    assert rows[0]["recorded_by"] == "Pat Pastoral"
    assert await on_report.chronology_rows(await actor_of(cast.head_of_year), amy) == []  # HoY not ticked
    assert await on_report.chronology_rows(await actor_of(cast.teacher), amy) == []
