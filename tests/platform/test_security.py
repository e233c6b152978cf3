"""The security baseline on every response, and CSRF on every unsafe request."""

import re

import pytest

from tests.conftest import csrf, sign_in


@pytest.mark.parametrize("path", ["/signin", "/", "/account", "/healthz", "/static/css/app.css", "/sw.js", "/nowhere"])
async def test_every_response_carries_the_security_headers(client, settings, cast, path):
    await sign_in(client, settings, cast.teacher)
    response = await client.get(path, follow_redirects=False)
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert not re.search(r"https?://", csp)  # no third-party origins
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "camera=()" in response.headers["permissions-policy"]


async def test_authenticated_pages_are_never_cached(client, settings, cast):
    await sign_in(client, settings, cast.teacher)
    for path in ("/", "/account"):
        assert (await client.get(path)).headers["cache-control"] == "no-store"
    assert (await client.get("/static/css/app.css")).headers.get("cache-control") != "no-store"


async def test_pages_have_no_inline_script(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    for path in ("/signin", "/", "/account", "/admin/people", "/admin/audit", "/offline"):
        html = (await client.get(path)).text
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag, (path, tag)
        assert not re.search(r"\son[a-z]+=", html), path  # no inline event handlers
        assert "hx-on" not in html


async def test_a_post_without_a_csrf_token_is_refused_and_changes_nothing(client, settings, cast):
    from app.domain.schools.tables import Person

    await sign_in(client, settings, cast.admin)
    response = await client.post(f"/admin/people/{cast.teacher.id}/disable", data={"reason": "x"})
    assert response.status_code == 403
    assert "This form has expired" in response.text
    assert (await Person.select(Person.disabled_at).where(Person.id == cast.teacher.id).first())["disabled_at"] is None


async def test_a_forged_csrf_token_is_refused(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    await csrf(client, "/account")
    response = await client.post("/signout", data={"_csrf_token": "0" * 64})
    assert response.status_code == 403


async def test_htmx_requests_send_the_token_in_a_header(client, settings, cast):
    await sign_in(client, settings, cast.teacher)
    token = await csrf(client, "/account")
    ok = await client.post("/signout", headers={"x-csrftoken": token, "hx-request": "true"}, follow_redirects=False)
    assert ok.status_code == 303


async def test_a_signed_out_htmx_request_is_told_where_to_go(client):
    response = await client.get("/account", headers={"hx-request": "true"}, follow_redirects=False)
    assert response.status_code == 401 and response.headers["hx-location"] == "/signin"


async def test_unknown_pages_get_a_clear_404_page(client, settings, cast):
    await sign_in(client, settings, cast.teacher)
    response = await client.get("/no/such/page")
    assert response.status_code == 404 and "Not found" in response.text and "<html" in response.text
