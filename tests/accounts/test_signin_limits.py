"""Sign-in limits: X-Forwarded-For is believed only from configured proxies, and failed sign-ins are limited per
passkey as well as per address, so one school behind one address is not locked out by its own numbers."""

from dataclasses import replace

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from app.domain.audit.tables import AuditEvent
from app.main import create_app
from tests.conftest import enrol, passkey_sign_in, post_json


def client_from(app, peer: str) -> httpx.AsyncClient:
    """A client whose connection comes from `peer` (a proxy, or someone on the internet)."""
    transport = httpx.ASGITransport(app=app, client=(peer, 41000))
    return httpx.AsyncClient(transport=transport, base_url="http://localhost:8000", follow_redirects=True)


async def attempts(client, n: int, forwarded_for=lambda i: None) -> list[int]:
    statuses = []
    for i in range(n):
        headers = {"x-forwarded-for": forwarded_for(i)} if forwarded_for(i) else {}
        token_page = await client.get("/signin", headers=headers)
        token = token_page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        response = await client.post("/auth/signin/options", json={},
                                     headers={**headers, "x-csrftoken": token, "accept": "application/json"})
        statuses.append(response.status_code)
    return statuses


async def test_it_ignores_x_forwarded_for_from_anyone_but_a_trusted_proxy(settings, cast):
    limited = replace(settings, auth_rate_limit_per_minute=3)
    async with client_from(create_app(limited), "198.51.100.7") as client:
        # A new forged address each time gains nothing: the limit follows the real peer.
        statuses = await attempts(client, 5, lambda i: f"203.0.113.{i}")
    assert statuses == [200, 200, 200, 429, 429]


async def test_it_believes_x_forwarded_for_from_a_trusted_proxy(settings, cast):
    limited = replace(settings, auth_rate_limit_per_minute=3, trusted_proxies=("10.0.0.0/8",))
    async with client_from(create_app(limited), "10.0.0.2") as client:
        # Behind the proxy, two schools' addresses each get their own allowance.
        first = await attempts(client, 3, lambda i: "198.51.100.1")
        second = await attempts(client, 3, lambda i: "198.51.100.2, 10.0.0.9")  # a second proxy hop is skipped
        third = await attempts(client, 1, lambda i: "198.51.100.1")
    assert first == second == [200, 200, 200]
    assert third == [429]


async def test_the_audit_log_records_the_forwarded_address_only_through_a_trusted_proxy(settings, cast, authenticator):
    for proxies, expected in (((), "198.51.100.7"), (("198.51.100.7",), "192.0.2.44")):
        await AuditEvent.delete(force=True)
        app = create_app(replace(settings, trusted_proxies=proxies))
        async with client_from(app, "198.51.100.7") as client:
            client.headers["x-forwarded-for"] = "192.0.2.44"
            options = await post_json(client, "/auth/signin/options")
            unknown = {"id": "bm90LWEtcGFzc2tleQ", "type": "public-key", "response": {}}
            await post_json(client, "/auth/signin", {"key": options.json()["key"], "credential": unknown})
        row = await AuditEvent.select(AuditEvent.ip).where(AuditEvent.action == "signin.failed").first()
        assert row["ip"] == expected


async def test_failed_sign_ins_are_limited_per_passkey_from_any_address(client, settings, cast, authenticator):
    from app.domain.accounts import service as accounts

    link = await accounts.issue_enrolment(settings, cast.teacher.id, by=None, origin=accounts.Origin(ip="test"))
    assert (await enrol(client, authenticator, link)).status_code == 200
    client.cookies.clear()
    strict = replace(settings, signin_failures_per_passkey=3)
    forged = ec.generate_private_key(ec.SECP256R1())
    statuses = []
    for i in range(4):
        async with client_from(create_app(strict), f"198.51.100.{i + 1}") as elsewhere:
            statuses.append((await passkey_sign_in(elsewhere, authenticator, sign_with=forged)).status_code)
    assert statuses == [400, 400, 400, 429]
    # The real owner is refused too until the window passes: the lock is on the passkey, not the address.
    async with client_from(create_app(strict), "192.0.2.1") as owner:
        assert (await passkey_sign_in(owner, authenticator)).status_code == 429
    assert await AuditEvent.count().where(AuditEvent.action == "signin.refused") == 2


async def test_a_whole_school_behind_one_address_can_sign_in_at_8_30(settings, cast):
    async with client_from(create_app(settings), "198.51.100.7") as client:
        statuses = await attempts(client, 120)
    assert set(statuses) == {200}


async def test_a_passkey_locked_by_failures_signs_in_again_once_the_window_has_passed(client, settings, cast,
                                                                                    authenticator, frozen_clock):
    from app.domain.accounts import service as accounts

    link = await accounts.issue_enrolment(settings, cast.teacher.id, by=None, origin=accounts.Origin(ip="test"))
    assert (await enrol(client, authenticator, link)).status_code == 200
    client.cookies.clear()
    strict = replace(settings, signin_failures_per_passkey=2)
    forged = ec.generate_private_key(ec.SECP256R1())
    async with client_from(create_app(strict), "198.51.100.1") as elsewhere:
        for _ in range(2):
            assert (await passkey_sign_in(elsewhere, authenticator, sign_with=forged)).status_code == 400
    async with client_from(create_app(strict), "192.0.2.1") as owner:
        assert (await passkey_sign_in(owner, authenticator)).status_code == 429
        frozen_clock.advance(minutes=14)
        assert (await passkey_sign_in(owner, authenticator)).status_code == 429
        frozen_clock.advance(minutes=2)  # the failures are now more than 15 minutes old
        assert (await passkey_sign_in(owner, authenticator)).status_code == 200
