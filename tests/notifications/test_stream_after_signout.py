"""The live alerts stream (on every signed-in page) lasts only as long as the session: signed out everywhere or
disabled, it ends within a heartbeat and no alert reaches the page after."""

import pytest

from app import clock
from app.domain.accounts import service as accounts
from app.domain.audit.service import Origin
from app.domain.notifications import service as notifications
from app.domain.schools.tables import Person
from app.main import create_app
from tests.live_kit import OpenStream, running, short_heartbeat

HEARTBEAT = 0.4


@pytest.fixture
async def app(settings):
    app = create_app(settings)
    async with running(app):
        yield app


async def alerts_of(app, settings, member) -> OpenStream:
    token = await accounts._create_session(settings, member.id, member.email, Origin(ip="test"), "pytest")
    return OpenStream(app, "/notifications/stream", {settings.session_cookie: token})


async def alert(member, text: str) -> None:
    pending = await notifications.notify({member.id}, school_id=member.school_id, kind="oncall", text=text,
                                         link="/notifications/")
    await notifications.deliver(pending)


async def test_it_sends_no_alert_after_the_person_is_signed_out_everywhere(app, settings, cast, monkeypatch):
    short_heartbeat(monkeypatch, 0.05)
    async with await alerts_of(app, settings, cast.responder) as stream:
        await stream.wait_for(": heartbeat")  # listening now
        short_heartbeat(monkeypatch, 60)  # only the check before every event can stop the second alert
        await alert(cast.responder, "Ava Okafor needs you in room 12")
        await stream.wait_for("Ava Okafor")  # signed in: alerts arrive
        await accounts.end_all_sessions(cast.responder.id, reason="revoked")
        await alert(cast.responder, "Noah Bell is on the roof")
        assert await stream.wait_closed(5)
        assert "Noah Bell" not in stream.text and "event: ended" in stream.text


async def test_it_closes_within_a_heartbeat_when_the_person_is_disabled(app, settings, cast, monkeypatch):
    short_heartbeat(monkeypatch, HEARTBEAT)
    async with await alerts_of(app, settings, cast.teacher) as stream:
        await stream.wait_for(": heartbeat")
        await Person.update({Person.disabled_at: clock.now()}).where(Person.id == cast.teacher.id)
        assert await stream.wait_closed(HEARTBEAT + 1.0), "the alerts stream outlived the person's account"
        assert "event: ended" in stream.text


async def test_it_keeps_alerts_for_their_own_person(app, settings, cast, monkeypatch):
    short_heartbeat(monkeypatch, 0.05)
    async with await alerts_of(app, settings, cast.teacher) as mine, \
            await alerts_of(app, settings, cast.outsider) as elsewhere:
        await mine.wait_for(": heartbeat")
        await elsewhere.wait_for(": heartbeat")
        await alert(cast.responder, "Ava Okafor needs you")  # someone else at the school
        await alert(cast.teacher, "Your request was claimed")
        await mine.wait_for("Your request was claimed")
        assert "Ava Okafor" not in mine.text and "Ava Okafor" not in elsewhere.text
        assert not mine.ended.is_set()

