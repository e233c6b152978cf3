"""The list of unsent entries (a page of the shell, filled in on the phone) and the worker that keeps them."""

from __future__ import annotations

import json

from app.domain.accounts import service as accounts
from tests.conftest import sign_in


async def test_it_sends_someone_with_no_session_to_sign_in(client, settings, school):
    response = await client.get("/outbox/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/signin"
    token = await sign_in(client, settings, school.teacher)
    await accounts.end_all_sessions(school.teacher.id, reason="revoked")  # a lost phone, revoked
    client.cookies.set(settings.session_cookie, token)
    response = await client.get("/outbox/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/signin"
    assert (await client.get("/outbox/session", headers={"accept": "application/json"})).status_code == 401


async def test_the_list_page_is_for_a_signed_in_person_and_holds_nothing_personal(client, settings, school):
    await sign_in(client, settings, school.teacher)
    response = await client.get("/outbox/")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert 'id="outbox-list"' in response.text and "Send now" in response.text


async def test_the_list_page_shows_the_usual_header_when_signed_in(client, settings, school):
    await sign_in(client, settings, school.teacher)
    response = await client.get("/outbox/")
    assert "Account" in response.text
    assert f'<meta name="person" content="{school.teacher.id}" data-label="{school.teacher.name}">' in response.text


async def test_every_page_has_the_unsent_badge_and_names_its_maker(client, settings, school):
    await sign_in(client, settings, school.teacher)
    page = await client.get("/incidents/new")
    assert 'id="outbox-badge" hidden' in page.text and "/static/js/outbox-page.js" in page.text
    assert f'name="person" content="{school.teacher.id}"' in page.text
    signin = await client.get("/offline")
    assert 'id="outbox-badge" hidden' in signin.text and 'name="person"' not in signin.text


async def test_the_offline_page_carries_the_list_hidden_until_something_waits(client):
    response = await client.get("/offline")
    assert 'id="outbox" aria-labelledby="outbox-h" hidden data-compact="true"' in response.text


async def test_the_worker_carries_the_outbox_and_its_scripts_are_in_the_shell(client):
    source = (await client.get("/sw.js")).text
    shell = json.loads(source.split("const SHELL = ", 1)[1].split(";", 1)[0])
    assert "/static/js/outbox-page.js" in shell
    for marker in ('const OUTBOX_DB = "corridor-outbox"', "function replayOutbox", "function precacheShell",
                   'self.addEventListener("sync"'):
        assert marker in source
    assert '"AES-GCM", length: 256 }, false' in source  # the key is generated non-extractable
    assert "__VERSION__" not in source and "__SHELL__" not in source


async def test_the_session_page_needs_a_session(client, school):
    response = await client.get("/outbox/session", headers={"accept": "application/json"})
    assert response.status_code == 401
