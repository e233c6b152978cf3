"""Refusals (404 for what someone may not see, no session, CSRF, rate limits) are logged with the person, the
route and the reason, never the path or a record; a signed-in person's refusals reach the admin's audit log."""

import asyncio
import logging
from dataclasses import replace

from app.domain.audit.tables import AuditEvent
from app.main import create_app
from tests.conftest import add_pupil, http_client, post_json, sign_in


async def settle():
    """The audit entry is written just after the response is sent (a background task)."""
    for _ in range(50):
        if await AuditEvent.exists().where(AuditEvent.action == "access.refused"):
            return
        await asyncio.sleep(0.02)


async def test_it_logs_and_audits_a_probe_for_another_schools_pupil(client, settings, cast, caplog):
    pupil = await add_pupil(cast.other_school_id, "Siobhan", "Elsewhere")
    await sign_in(client, settings, cast.teacher)
    with caplog.at_level(logging.WARNING, logger="corridor.refused"):
        assert (await client.get(f"/pupils/{pupil}")).status_code == 404
        await settle()
    lines = [r.getMessage() for r in caplog.records if r.name == "corridor.refused"]
    assert lines == [f"refused GET /pupils/{{pupil_id}}: not found or not allowed; person {cast.teacher.id} "
                     "from 127.0.0.1"]
    assert "Siobhan" not in caplog.text and f"/pupils/{pupil}" not in caplog.text
    row = await AuditEvent.select().where(AuditEvent.action == "access.refused").first()
    assert row["actor"] == cast.teacher.id and row["subject_label"] == "GET /pupils/{pupil_id}"
    assert '"status": 404' in row["detail"] and "not found" in row["detail"]


async def test_the_admin_sees_the_probing_account_in_the_audit_log(client, settings, cast):
    await sign_in(client, settings, cast.teacher)
    for n in range(3):
        await client.get(f"/incidents/{900000 + n}")
    await settle()
    client.cookies.clear()
    await sign_in(client, settings, cast.admin)
    page = (await client.get("/admin/audit")).text
    assert page.count("access.refused") >= 3 and "Tara Teacher" in page


async def test_it_logs_a_csrf_failure_and_a_missing_session(client, settings, cast, caplog):
    with caplog.at_level(logging.WARNING, logger="corridor.refused"):
        await client.get("/pupils/", follow_redirects=False)
        await sign_in(client, settings, cast.teacher)
        await client.post("/pupils/search", data={"q": "x", "_csrf_token": "forged"})
        await settle()
    lines = [r.getMessage() for r in caplog.records if r.name == "corridor.refused"]
    assert "refused GET /pupils: no session; no session from 127.0.0.1" in lines
    assert f"refused POST /pupils/search: csrf; person {cast.teacher.id} from 127.0.0.1" in lines
    assert await AuditEvent.exists().where((AuditEvent.action == "access.refused") & (AuditEvent.actor == cast.teacher.id))


async def test_it_logs_a_rate_limited_sign_in(settings, cast, caplog):
    app = create_app(replace(settings, auth_rate_limit_per_minute=1))
    logging.getLogger().addHandler(caplog.handler)  # a new app configures logging afresh
    async with http_client(app) as client:
        with caplog.at_level(logging.WARNING, logger="corridor.refused"):
            statuses = [(await post_json(client, "/auth/signin/options")).status_code for _ in range(2)]
    assert statuses == [200, 429]
    lines = [r.getMessage() for r in caplog.records if r.name == "corridor.refused"]
    assert "refused POST /auth/signin/options: too many attempts; no session from 127.0.0.1" in lines, caplog.text


async def test_an_ordinary_page_is_not_a_refusal(client, settings, cast, caplog):
    await sign_in(client, settings, cast.teacher)
    with caplog.at_level(logging.WARNING, logger="corridor.refused"):
        assert (await client.get("/")).status_code == 200
    assert not [r for r in caplog.records if r.name == "corridor.refused"]
