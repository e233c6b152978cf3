"""Server-side sessions: idle and absolute expiry, listing, ending one, revoking all, cookie flags."""

import datetime as dt
from dataclasses import replace

from app.domain.accounts import service as accounts
from app.domain.accounts.tables import Session
from app.domain.audit.service import Origin
from app.main import create_app
from tests.conftest import audit_actions, csrf, http_client, post_form, sign_in


async def test_a_session_ends_after_the_idle_timeout(client, settings, cast, frozen_clock):
    await sign_in(client, settings, cast.teacher)
    assert (await client.get("/", follow_redirects=False)).status_code == 200

    frozen_clock.advance(minutes=settings.session_idle_minutes + 1)

    response = await client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/signin"
    session = await Session.select(Session.ended_reason).first()
    assert session["ended_reason"] == "idle timeout"


async def test_activity_keeps_a_session_alive_until_the_absolute_timeout(client, settings, cast, frozen_clock):
    await sign_in(client, settings, cast.teacher)
    for _ in range(settings.session_absolute_hours * 2 - 1):
        frozen_clock.advance(minutes=30)
        assert (await client.get("/", follow_redirects=False)).status_code == 200

    frozen_clock.advance(minutes=31)

    assert (await client.get("/", follow_redirects=False)).status_code == 303
    assert (await Session.select(Session.ended_reason).first())["ended_reason"] == "absolute timeout"


async def test_a_person_sees_their_sessions_and_ends_another_one(client, settings, cast):
    await sign_in(client, settings, cast.teacher)
    other_token = await accounts._create_session(settings, cast.teacher.id, "x", Origin(ip="10.0.0.9"),
                                                 "Mozilla/5.0 (iPhone) Safari/605")
    other = await Session.select(Session.id).where(Session.ip == "10.0.0.9").first()

    page = await client.get("/account")
    assert "Safari on iPhone" in page.text and "this device" in page.text

    response = await post_form(client, f"/account/sessions/{other['id']}/end", page="/account")
    assert response.status_code == 200 and "Session ended." in response.text

    async with http_client(create_app(settings), "http://localhost:8000") as phone:
        phone.cookies.set(settings.session_cookie, other_token)
        assert (await phone.get("/", follow_redirects=False)).status_code == 303
    assert "session.revoked" in await audit_actions()


async def test_nobody_can_end_someone_elses_session(client, settings, cast):
    await sign_in(client, settings, cast.teacher)
    await accounts._create_session(settings, cast.dsl.id, "x", Origin(ip="10.9.9.9"), "")
    dsl_session = await Session.select(Session.id).where(Session.person == cast.dsl.id).first()

    response = await post_form(client, f"/account/sessions/{dsl_session['id']}/end", page="/account")

    assert response.status_code == 404
    assert (await Session.select(Session.ended_at).where(Session.id == dsl_session["id"]).first())["ended_at"] is None


async def test_signing_out_ends_the_session_and_clears_the_device(client, settings, cast):
    await sign_in(client, settings, cast.teacher)
    token = client.cookies.get(settings.session_cookie)
    csrf_token = await csrf(client, "/account")
    response = await client.post("/signout", data={"_csrf_token": csrf_token}, follow_redirects=False)

    assert response.status_code == 303 and response.headers["location"] == "/signed-out"
    assert response.headers["clear-site-data"] == '"cache", "storage"'
    client.cookies.set(settings.session_cookie, token)  # even if the cookie were kept, it is dead
    assert (await client.get("/", follow_redirects=False)).status_code == 303


async def test_revoke_sessions_signs_a_person_out_everywhere(client, settings, cast):
    await sign_in(client, settings, cast.teacher)
    await accounts._create_session(settings, cast.teacher.id, "x", Origin(), "")
    count = await accounts.revoke_sessions_by_email("TEACHER@northbridge.example", origin=Origin(ip="cli"))
    assert count == 2
    assert (await client.get("/", follow_redirects=False)).status_code == 303
    assert "sessions.revoked" in await audit_actions()


async def test_session_cookies_are_host_prefixed_httponly_and_samesite_on_https(settings, cast, authenticator):
    from tests.conftest import enrol

    https = replace(settings, public_url="https://corridor.example.sch.uk")
    authenticator.origin = "https://corridor.example.sch.uk"
    authenticator.rp_id = "corridor.example.sch.uk"
    link = await accounts.issue_enrolment(https, cast.teacher.id, by=None, origin=Origin())
    async with http_client(create_app(https), "https://corridor.example.sch.uk") as client:
        response = await enrol(client, authenticator, link)
    assert response.status_code == 200, response.text
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-corridor_session=")
    for flag in ("Secure", "HttpOnly", "Path=/", "SameSite=lax"):
        assert flag.lower() in cookie.lower()
    assert "domain=" not in cookie.lower()


async def test_a_guest_pass_ends_by_itself(client, settings, cast, frozen_clock):
    from app.domain.schools.tables import Person

    # A guest pass lasts a school day from the invitation; move to one minute before it ends.
    guest = await Person.select(Person.guest_until).where(Person.id == cast.guest.id).first()
    assert guest["guest_until"] is not None
    frozen_clock.current = guest["guest_until"] - dt.timedelta(minutes=1)
    await sign_in(client, settings, cast.guest)
    assert (await client.get("/", follow_redirects=False)).status_code == 200
    frozen_clock.advance(minutes=2)
    assert (await client.get("/", follow_redirects=False)).status_code == 303
