"""CSP violation reports: taken from any browser without a session or CSRF token, in both report formats,
logged as directive and blocked origin only, never anything the report echoes back from the page."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest

from app.controllers.csp import MAX_BODY
from app.domain.audit.tables import AuditEvent
from app.main import create_app
from tests.conftest import http_client, sign_in

LEGACY = {"csp-report": {
    "document-uri": "http://localhost:8000/pupils/41?q=Zebedee", "referrer": "",
    "violated-directive": "script-src-elem", "effective-directive": "script-src-elem",
    "original-policy": "default-src 'self'; report-uri /csp-report", "disposition": "enforce",
    "blocked-uri": "https://evil.example:8443/steal.js?name=Quillfeather", "status-code": 200,
    "script-sample": "Zebedee Quillfeather said", "line-number": 3, "source-file": "http://localhost:8000/x"}}

REPORTING_API = [{
    "type": "csp-violation", "age": 12, "url": "http://localhost:8000/concerns/7", "user_agent": "Chromium",
    "body": {"documentURL": "http://localhost:8000/concerns/7", "referrer": "", "disposition": "enforce",
             "effectiveDirective": "script-src-elem", "blockedURL": "inline", "statusCode": 200,
             "sample": "alert('Rastaban keeps the door locked')", "originalPolicy": "script-src 'self'",
             "sourceFile": "http://localhost:8000/concerns/7", "lineNumber": 1, "columnNumber": 1}},
    {"type": "deprecation", "age": 1, "url": "http://localhost:8000/", "body": {"message": "Zebedee"}},
]


@pytest.fixture
def warnings(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def violations(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("csp-violation")]


async def test_it_takes_a_legacy_report_without_session_or_csrf_and_logs_only_directive_and_origin(
        client, warnings):
    response = await client.post("/csp-report", content=json.dumps(LEGACY),
                                 headers={"content-type": "application/csp-report"})
    assert response.status_code == 204 and response.content == b""
    assert violations(warnings) == ["csp-violation directive=script-src-elem blocked=https://evil.example:8443"]
    assert all(r.levelno == logging.WARNING for r in warnings.records if r.getMessage().startswith("csp-violation"))
    for secret in ("Zebedee", "Quillfeather", "steal.js", "/pupils/41", "default-src"):
        assert secret not in warnings.text, secret


async def test_it_takes_a_reporting_api_batch_and_ignores_other_report_types(client, warnings):
    response = await client.post("/csp-report", content=json.dumps(REPORTING_API),
                                 headers={"content-type": "application/reports+json"})
    assert response.status_code == 204
    assert violations(warnings) == ["csp-violation directive=script-src-elem blocked=inline"]
    for secret in ("Rastaban", "Zebedee", "/concerns/7", "alert("):
        assert secret not in warnings.text, secret


async def test_it_writes_nothing_to_the_database_even_for_a_signed_in_person(client, settings, cast, warnings):
    await sign_in(client, settings, cast.dsl)
    before = await AuditEvent.count()
    response = await client.post("/csp-report", content=json.dumps(LEGACY),
                                 headers={"content-type": "application/csp-report"})
    assert response.status_code == 204
    assert await AuditEvent.count() == before


async def test_it_refuses_a_huge_body_without_logging_it(client, warnings):
    huge = json.dumps({"csp-report": {"effective-directive": "img-src", "blocked-uri": "https://a.example/",
                                      "script-sample": "Zebedee" * (MAX_BODY // 7)}})
    response = await client.post("/csp-report", content=huge, headers={"content-type": "application/csp-report"})
    assert response.status_code == 413
    assert violations(warnings) == [] and "Zebedee" not in warnings.text


@pytest.mark.parametrize("body", [b"Zebedee Quillfeather\n", b"\xff\xfeZebedee", b"[" * 20_000 + b"]" * 20_000])
async def test_it_refuses_a_body_that_is_not_json(client, warnings, body):
    response = await client.post("/csp-report", content=body, headers={"content-type": "application/csp-report"})
    assert response.status_code == 400
    assert violations(warnings) == [] and "Zebedee" not in warnings.text


async def test_it_keeps_forged_fields_out_of_the_log_line(client, warnings):
    forged = {"csp-report": {"effective-directive": "img-src\ncsp-violation directive=fake Zebedee",
                             "blocked-uri": "javascript:alert('Zebedee')"}}
    await client.post("/csp-report", content=json.dumps(forged), headers={"content-type": "application/csp-report"})
    forged_url = [{"type": "csp-violation", "body": {"effectiveDirective": "img-src",
                                                     "blockedURL": "https://Zebedee:secret@evil.example/x"}}]
    await client.post("/csp-report", content=json.dumps(forged_url), headers={"content-type": "application/reports+json"})
    assert violations(warnings) == ["csp-violation directive=unknown blocked=javascript",
                                    "csp-violation directive=img-src blocked=https://evil.example"]
    assert "zebedee" not in warnings.text.lower() and "secret" not in warnings.text


async def test_it_logs_a_flood_of_reports_in_one_body_only_up_to_a_limit(client, warnings):
    batch = [REPORTING_API[0]] * 50
    response = await client.post("/csp-report", content=json.dumps(batch),
                                 headers={"content-type": "application/reports+json"})
    assert response.status_code == 204
    logged = violations(warnings)
    assert len(logged) == 21 and logged[-1] == "csp-violation 30 more reports in the same request not logged"


async def test_every_page_asks_the_browser_to_report_violations_here(client):
    response = await client.get("/signin")
    csp = response.headers["content-security-policy"]
    assert "report-uri /csp-report" in csp
    # Over http Chromium would ignore the Reporting API's endpoint, and then report-uri too: no report-to.
    assert "report-to" not in csp and "reporting-endpoints" not in response.headers


async def test_over_https_pages_also_name_a_reporting_api_endpoint(settings):
    secure = dataclasses.replace(settings, public_url="https://corridor.example")
    async with http_client(create_app(secure), base_url="https://corridor.example") as client:
        response = await client.get("/signin")
    csp = response.headers["content-security-policy"]
    assert "report-uri /csp-report" in csp and "report-to csp" in csp
    assert response.headers["reporting-endpoints"] == 'csp="/csp-report"'
