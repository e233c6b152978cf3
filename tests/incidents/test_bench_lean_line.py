"""The benchmark's lean handler (bench/lean_app.py), the line the incident POST's CPU and floor ratio are read
against, does the app's work for the same form: the same rows in every table an entry writes, routed to the same
people, and refuses what the app's middleware refuses (no session, a CSRF token of another session). A lean line
that wrote less would make the app look further from its physical line than it is, or the line unreachable."""

import sys
from pathlib import Path

import httpx
import pytest

from app.csrf import token_for
from app.domain.audit.tables import AuditEvent
from app.domain.incidents.tables import Incident, IncidentPupil
from app.domain.notifications.tables import Alert, AlertRecipient, IdempotencyReceipt
from tests.conftest import sign_in
from tests.incidents.conftest import log, school  # noqa: F401 - the fixture, used by name

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench import lean_app  # noqa: E402

sys.path.remove(str(ROOT))

TABLES = (Incident, IncidentPupil, AuditEvent, Alert, AlertRecipient, IdempotencyReceipt)


@pytest.fixture
def sqlite_only(settings):
    if settings.is_postgres:
        pytest.skip("the lean handler is SQLite's line (sqlite3 on the loop's thread)")


async def counts() -> dict[str, int]:
    return {table._meta.tablename: await table.count() for table in TABLES}


async def test_the_lean_handler_writes_what_the_app_writes_for_the_same_form(client, settings, school, sqlite_only):
    fields = {"pupil_id": [school.ava, school.ben], "role": ["instigator", "target"], "category_id": school.fighting,
              "location_id": school.canteen, "note": "At lunch"}
    await sign_in(client, settings, school.teacher)
    before = await counts()
    assert (await log(client, fields, key="k-app")).status_code == 303
    by_app = {name: n - before[name] for name, n in (await counts()).items()}
    app_told = {r["person"] for r in await AlertRecipient.select(AlertRecipient.person)}

    token = await sign_in(client, settings, school.teacher)
    csrf = token_for(settings.secret_key, token)
    cookies = {settings.session_cookie: token, settings.csrf_cookie: csrf}
    lean = lean_app.create_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=lean), base_url="http://localhost",
                                 cookies=cookies) as raw:
        before = await counts()
        response = await raw.post("/incidents/", data={**fields, "idempotency_key": "k-lean", "_csrf_token": csrf})
        assert response.status_code == 303, response.text
        by_lean = {name: n - before[name] for name, n in (await counts()).items()}
        newest = (await Alert.select(Alert.id).order_by(Alert.id, ascending=False).first())["id"]
        lean_told = {r["person"] for r in await AlertRecipient.select(AlertRecipient.person).where(
            AlertRecipient.alert == newest)}

        assert by_lean == by_app and by_app["incident_pupil"] == 2 and by_app["alert_recipient"] >= 2
        assert lean_told == app_told == {school.head_of_year.id, school.pastoral.id}

        # What the app's middleware refuses, the lean handler refuses, and writes nothing.
        before = await counts()
        other = token_for(settings.secret_key, "another session")
        refused = await raw.post("/incidents/", data={**fields, "_csrf_token": other},
                                 headers={"x-csrftoken": other})
    signed_out_token = token_for(settings.secret_key, None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=lean), base_url="http://localhost",
                                 cookies={settings.csrf_cookie: signed_out_token}) as raw:
        signed_out = await raw.post("/incidents/", data={**fields, "_csrf_token": signed_out_token})
    assert refused.status_code == 403 and signed_out.status_code == 401
    assert await counts() == before
