"""The school's techniques and deadline: set by an admin or the DSL, a message per field, retired techniques kept."""

from __future__ import annotations

from app.domain.audit.tables import AuditEvent
from app.domain.physical_intervention import service as pi
from app.domain.physical_intervention.tables import RestraintTechnique
from tests.conftest import post_form, sign_in


async def test_an_admin_sets_the_techniques_and_the_hours(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    page = await client.get("/physical-interventions/settings")
    assert page.status_code == 200 and "Escort (single elbow)" in page.text
    response = await post_form(client, "/physical-interventions/settings",
                               {"technique_list": "Guide (open hand)\nSeated hold\nTwo-person escort", "hours": "12"})
    assert response.status_code == 200 and 'id="saved"' in response.text
    assert [t["name"] for t in await pi.techniques(cast.school_id)] == ["Guide (open hand)", "Seated hold",
                                                                          "Two-person escort"]
    assert await pi.hours_allowed(cast.school_id) == 12
    retired = await RestraintTechnique.select(RestraintTechnique.name).where(RestraintTechnique.retired_at.is_not_null())
    assert "Escort (single elbow)" in {r["name"] for r in retired}
    assert await AuditEvent.count().where(AuditEvent.action == "physical_intervention.settings_changed") == 1


async def test_bad_values_are_named_and_kept(client, settings, cast):
    await sign_in(client, settings, cast.dsl)
    response = await post_form(client, "/physical-interventions/settings", {"technique_list": "", "hours": "999"})
    assert response.status_code == 400
    assert 'id="technique_list-error"' in response.text and 'id="hours-error"' in response.text
    assert 'value="999"' in response.text
    assert await pi.hours_allowed(cast.school_id) == 24


async def test_others_find_no_settings_and_another_school_keeps_its_own(client, settings, cast):
    for member in (cast.teacher, cast.pastoral, cast.head_of_year, cast.responder, cast.guest):
        await sign_in(client, settings, member)
        assert (await client.get("/physical-interventions/settings")).status_code == 404
        assert (await post_form(client, "/physical-interventions/settings",
                                {"technique_list": "X", "hours": "2"})).status_code == 404
    await sign_in(client, settings, cast.outsider)
    assert (await post_form(client, "/physical-interventions/settings",
                            {"technique_list": "Their hold", "hours": "6"})).status_code == 200
    assert await pi.hours_allowed(cast.school_id) == 24 and await pi.hours_allowed(cast.other_school_id) == 6
