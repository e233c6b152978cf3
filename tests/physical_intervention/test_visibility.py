"""Who sees records: SLT (as named), the DSL team and pastoral leads; everyone else and other schools 404."""

from __future__ import annotations

from app.domain.audit.tables import AuditEvent
from tests.conftest import _member, add_pupil, sign_in
from tests.physical_intervention.kit import incident, name_slt, record_id_of, senior, start

PAGES = ("/physical-interventions/{id}", "/physical-interventions/", "/physical-interventions/report",
         "/physical-interventions/report.csv")


async def _record(client, settings, cast) -> int:
    amy = await add_pupil(cast.school_id, "Amy", "Archer")
    incident_id = await incident(cast.school_id, cast.teacher.id, [amy])
    return record_id_of(await start(client, settings, cast.dsl, incident_id=incident_id))


async def test_slt_the_dsl_and_pastoral_leads_see_it_and_each_view_is_audited(client, settings, cast):
    deputy = await senior(cast.school_id)
    await name_slt(cast.school_id, deputy.id)
    lead = await _member("lead@northbridge.example", "Lee Lead", cast.school_id, ["pastoral_lead"])
    record_id = await _record(client, settings, cast)
    for member in (deputy, cast.dsl, lead):
        await sign_in(client, settings, member)
        before = await AuditEvent.count().where(AuditEvent.actor == member.id)
        for path in PAGES:
            response = await client.get(path.format(id=record_id))
            assert response.status_code == 200, (member.email, path)
            assert response.headers["cache-control"] == "no-store"
        actions = [r["action"] for r in await AuditEvent.select(AuditEvent.action).where(
            AuditEvent.actor == member.id).order_by(AuditEvent.id)]
        assert actions[-4:] == ["physical_intervention.viewed", "physical_intervention.list_viewed",
                                "physical_intervention.report_viewed", "physical_intervention.report_exported"]
        assert await AuditEvent.count().where(AuditEvent.actor == member.id) == before + 4


async def test_everyone_else_and_other_schools_find_nothing(client, settings, cast):
    record_id = await _record(client, settings, cast)
    for member in (cast.teacher, cast.responder, cast.pastoral, cast.head_of_year, cast.admin, cast.guest,
                   cast.outsider):
        await sign_in(client, settings, member)
        for path in PAGES:
            response = await client.get(path.format(id=record_id))
            assert response.status_code == 404, (member.email, path)
            assert "Archer" not in response.text


async def test_the_headteacher_named_on_the_ladder_sees_it(client, settings, cast):
    head = await senior(cast.school_id, "head@northbridge.example", "Helen Head")
    await name_slt(cast.school_id, headteacher=head.id)
    record_id = await _record(client, settings, cast)
    await sign_in(client, settings, head)
    assert (await client.get(f"/physical-interventions/{record_id}")).status_code == 200


async def test_the_chronology_lines_are_for_those_who_see_records_only(client, settings, cast):
    from app.domain.physical_intervention import service as pi
    from tests.physical_intervention.test_report import _actor

    amy = await add_pupil(cast.school_id, "Amy", "Archer")
    incident_id = await incident(cast.school_id, cast.teacher.id, [amy])
    record_id = record_id_of(await start(client, settings, cast.dsl, incident_id=incident_id))
    rows = await pi.chronology_rows(await _actor(cast), amy)
    assert [r["ref"] for r in rows] == [f"physical_intervention:{record_id}"]
    assert rows[0]["event"] == "Physical intervention in Science corridor: technique not yet recorded"
    pastoral = await _actor(cast, cast.pastoral)
    assert await pi.chronology_rows(pastoral, amy) == []


async def test_the_home_screen_offers_the_records_to_leads_and_the_settings_to_admins(client, settings, cast):
    await sign_in(client, settings, cast.dsl)
    assert 'href="/physical-interventions/"' in (await client.get("/")).text
    await sign_in(client, settings, cast.pastoral)
    assert "/physical-interventions" not in (await client.get("/")).text
    await sign_in(client, settings, cast.admin)
    home = (await client.get("/")).text
    assert 'href="/physical-interventions/settings"' in home and 'href="/physical-interventions/"' not in home
