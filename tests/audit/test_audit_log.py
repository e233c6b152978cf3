"""The audit log: admins read it, nobody edits it, and one school's admin sees nothing of another's."""

import pytest

from app.domain.audit.tables import AuditEvent
from tests.conftest import csrf, post_form, sign_in


async def test_an_admin_reads_who_did_what_when_and_from_where(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    await post_form(client, f"/admin/people/{cast.teacher.id}/roles", {"roles": ["staff", "responder"]},
                    page="/admin/people")
    page = await client.get("/admin/audit")
    assert page.status_code == 200
    assert "roles.changed" in page.text and "Ada Admin" in page.text and "teacher@northbridge.example" in page.text
    event = await AuditEvent.select().where(AuditEvent.action == "roles.changed").first()
    assert event["at"].tzinfo is not None and event["ip"]  # when (UTC) and from where


async def test_another_schools_admin_does_not_see_these_events(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    await post_form(client, f"/admin/people/{cast.teacher.id}/roles", {"roles": ["staff", "pastoral"]},
                    page="/admin/people")
    client.cookies.clear()
    await sign_in(client, settings, cast.outsider)
    page = await client.get("/admin/audit")
    assert page.status_code == 200
    assert "teacher@northbridge.example" not in page.text and "Ada Admin" not in page.text


async def test_an_htmx_request_gets_only_the_events_fragment(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    fragment = await client.get("/admin/audit", headers={"hx-request": "true"})
    # The table and the region that lets it scroll sideways on a phone, and nothing of the page around them.
    assert fragment.text.lstrip().startswith('<div class="scroll-x" role="region" aria-labelledby="audit-caption"')
    assert '<table class="audit stacked" id="audit">' in fragment.text and "<h1>" not in fragment.text
    assert "<html" not in fragment.text and "HX-Request" in fragment.headers["vary"]


@pytest.mark.parametrize("method", ["put", "patch", "delete", "post"])
async def test_the_app_has_no_way_to_edit_the_log(client, settings, cast, method):
    await sign_in(client, settings, cast.admin)
    token = await csrf(client, "/admin/audit")
    before = await AuditEvent.count()
    response = await client.request(method.upper(), "/admin/audit", headers={"x-csrftoken": token})
    assert response.status_code in (404, 405)
    assert await AuditEvent.count() == before


async def test_the_database_itself_refuses_to_change_an_audit_entry(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    await post_form(client, f"/admin/people/{cast.teacher.id}/roles", {"roles": ["staff", "dsl"]}, page="/admin/people")
    before = await AuditEvent.count().where(AuditEvent.action == "roles.changed")
    with pytest.raises(Exception, match="append-only"):
        await AuditEvent.update({AuditEvent.action: "nothing.happened"}).where(AuditEvent.action == "roles.changed")
    assert await AuditEvent.count().where(AuditEvent.action == "roles.changed") == before > 0
