"""A new concern reaches the DSL team on their phones (Web Push, no pupil detail) and in the header's count; the
receipt counts only the people Corridor can actually alert, and when that is nobody the author is told to find
the DSL in person and the school's admins are alerted."""

import json
import uuid

import http_ece
import pytest

from app import clock
from app.domain.audit.tables import AuditEvent
from app.domain.concerns.tables import Concern
from app.domain.notifications.tables import Notification
from app.domain.oncall.tables import PushSubscription
from app.domain.schools.tables import Person
from app.main import create_app
from tests.conftest import _member, add_pupil, csrf, give_passkey, sign_in
from tests.live_kit import OpenStream, running
from tests.notifications.test_push import PushService, a_browser_subscription, b64url

FACTS = {"seen_or_said": "Bruise on left wrist; said it happened at home", "childs_words": "Dad gets angry"}


@pytest.fixture
def push_service():
    service = PushService()
    yield service
    service.close()


@pytest.fixture
async def school(cast):
    cast.ava = await add_pupil(cast.school_id, "Ava", "Okafor", year="9", form="9A")
    return cast


class Phones:
    """Devices subscribed to the local push service; each can decrypt only what was sent to it."""

    def __init__(self, service: PushService):
        self.service, self.keys = service, {}

    async def subscribe(self, member) -> None:
        private, p256dh, auth = a_browser_subscription()
        path = f"/push/{member.email}"
        self.keys[path] = (private, auth)
        # Inserted directly: the app accepts only the browsers' own push services at subscribe time.
        await PushSubscription.insert(PushSubscription(
            person=member.id, endpoint=f"{self.service.url}{path}", p256dh=p256dh, auth=b64url(auth),
            created_at=clock.now(), last_seen_at=clock.now()))

    def received(self) -> dict[str, list[dict]]:
        """What each device got, decrypted, by member email."""
        got: dict[str, list[dict]] = {}
        for message in self.service.received:
            private, auth = self.keys[message["path"]]
            plain = http_ece.decrypt(message["body"], private_key=private, auth_secret=auth, version="aes128gcm")
            got.setdefault(message["path"].removeprefix("/push/"), []).append(json.loads(plain))
        return got


@pytest.fixture
def phones(push_service) -> Phones:
    return Phones(push_service)


async def record(client, pupil_id: int, key: str | None = None):
    token = await csrf(client, "/concerns/new")
    data = {"_csrf_token": token, "pupil_id": str(pupil_id), **FACTS}
    if key:
        data["idempotency_key"] = key
    response = await client.post("/concerns/", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response


async def test_it_wakes_the_dsls_phone_with_no_pupil_detail_and_never_a_teachers(client, settings, school, phones):
    await give_passkey(school.dsl)
    await give_passkey(school.teacher)
    await phones.subscribe(school.dsl)
    await phones.subscribe(school.teacher)
    await sign_in(client, settings, school.teacher)

    await record(client, school.ava)

    concern = await Concern.select(Concern.id).first()
    got = phones.received()
    assert got == {school.dsl.email: [{"title": "Safeguarding", "body": "New safeguarding concern",
                                       "url": f"/concerns/{concern['id']}"}]}
    assert "Okafor" not in json.dumps(got) and "Ava" not in json.dumps(got) and "wrist" not in json.dumps(got)


async def test_a_double_submit_wakes_the_dsl_once(client, settings, school, phones):
    await give_passkey(school.dsl)
    await phones.subscribe(school.dsl)
    await sign_in(client, settings, school.teacher)
    key = str(uuid.uuid4())
    await record(client, school.ava, key=key)
    await record(client, school.ava, key=key)
    assert len(phones.received()[school.dsl.email]) == 1


async def test_the_receipt_counts_only_the_dsls_who_can_be_alerted(client, settings, school, phones):
    await give_passkey(school.dsl)
    never_enrolled = await _member("dsl2@northbridge.example", "Dan Deputy", school.school_id, ["staff", "dsl"])
    disabled = await _member("dsl3@northbridge.example", "Di Gone", school.school_id, ["staff", "dsl"])
    await give_passkey(disabled)
    await Person.update({Person.disabled_at: clock.now()}).where(Person.id == disabled.id)
    pass_over = await _member("dsl4@northbridge.example", "Gil Cover", school.school_id, ["guest", "dsl"])
    await give_passkey(pass_over)
    await Person.update({Person.guest_until: clock.now()}).where(Person.id == pass_over.id)
    for member in (never_enrolled, disabled, pass_over):
        await phones.subscribe(member)
    await sign_in(client, settings, school.teacher)

    receipt = await client.get((await record(client, school.ava)).headers["location"])

    assert "The DSL team (1 person) has been alerted." in receipt.text
    assert [n["person"] for n in await Notification.select(Notification.person)] == [school.dsl.id]
    assert phones.received() == {}


async def test_when_nobody_in_the_dsl_team_can_be_alerted_the_author_and_admins_are_told(client, settings, school,
                                                                                         phones):
    # The DSL was invited but never enrolled a passkey: Corridor cannot reach them.
    await give_passkey(school.admin)
    await give_passkey(school.outsider)  # an admin of another trust's school
    await phones.subscribe(school.admin)
    await phones.subscribe(school.outsider)
    await sign_in(client, settings, school.teacher)

    receipt = await client.get((await record(client, school.ava)).headers["location"])

    assert "Nobody in the DSL team can be alerted through Corridor." in receipt.text
    assert "Find the DSL" in receipt.text and "in person now" in receipt.text
    assert "Your school's Corridor admin has been told." in receipt.text
    alerts = await Notification.select(Notification.person, Notification.kind, Notification.text, Notification.link)
    assert [(a["person"], a["kind"], a["link"]) for a in alerts] == [(school.admin.id, "concern.unreachable",
                                                                       "/admin/people")]
    assert "Okafor" not in alerts[0]["text"] and "wrist" not in alerts[0]["text"]
    assert phones.received() == {school.admin.email: [{"title": "Safeguarding",
                                                       "body": "Nobody in the DSL team could be alerted",
                                                       "url": "/notifications/"}]}
    # The admin is told something needs doing; the concern itself stays closed to them.
    client.cookies.clear()
    await sign_in(client, settings, school.admin)
    concern = await Concern.select(Concern.id).first()
    assert (await client.get(f"/concerns/{concern['id']}")).status_code == 404


async def test_admins_are_not_alerted_when_the_dsl_can_be(client, settings, school):
    await give_passkey(school.dsl)
    await give_passkey(school.admin)
    await sign_in(client, settings, school.teacher)
    await record(client, school.ava)
    assert [n["person"] for n in await Notification.select(Notification.person)] == [school.dsl.id]
    created = await AuditEvent.select(AuditEvent.detail).where(AuditEvent.action == "concern.created").first()
    assert json.loads(created["detail"]) == {"dsl_alerted": 1, "admins_alerted": 0, "author_in_team": False}


async def test_another_schools_dsl_is_never_alerted(client, settings, school, phones):
    elsewhere = await _member("dsl@elsewhere.example", "Other Lead", school.other_school_id, ["staff", "dsl"])
    await give_passkey(elsewhere)
    await phones.subscribe(elsewhere)
    await give_passkey(school.dsl)
    await sign_in(client, settings, school.teacher)
    await record(client, school.ava)
    assert elsewhere.id not in [n["person"] for n in await Notification.select(Notification.person)]
    assert elsewhere.email not in phones.received()


async def test_a_dsl_who_records_a_concern_alone_is_not_sent_to_find_themself(client, settings, school):
    await give_passkey(school.dsl)
    await give_passkey(school.admin)
    await sign_in(client, settings, school.dsl)
    receipt = await client.get((await record(client, school.ava)).headers["location"])
    assert "You are the only member of the DSL team Corridor can alert" in receipt.text
    assert "Nobody in the DSL team" not in receipt.text and await Notification.count() == 0


@pytest.fixture
async def app(settings):
    app = create_app(settings)
    async with running(app):
        yield app


async def test_the_header_count_of_unread_alerts_comes_with_every_page(app, settings, school):
    """The alerts stream, which every signed-in page opens, starts with the count: not only after a live alert."""
    from app.domain.accounts import service as accounts
    from app.domain.audit.service import Origin
    from app.domain.concerns import service as concerns

    async def session(member) -> str:
        return await accounts._create_session(settings, member.id, member.email, Origin(ip="test"), "pytest")

    await give_passkey(school.dsl)
    teacher = await accounts.load_actor(settings, await session(school.teacher), Origin(ip="test"))
    for _ in range(2):
        await concerns.record_concern(teacher, {"pupil_id": str(school.ava), **FACTS})
    for member, unread in ((school.dsl, 2), (school.teacher, 0)):
        async with OpenStream(app, "/notifications/stream", {settings.session_cookie: await session(member)}) as stream:
            await stream.wait_for("event: count")
            await stream.wait_for("\r\n\r\n")  # the whole first event
            assert f"event: count\r\ndata: {unread}\r\n" in stream.text, stream.text
