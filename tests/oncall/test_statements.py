"""The on-call path's cost in statements (the trust-scale benchmark found a raise chatty and the board an N+1):
a raise is a fixed, small number of statements whatever the number of pupils or people alerted, and the board
reads its cards in one statement however many requests are open. Counted at the driver, so a statement sent
past Piccolo's query builder is counted too; BEGIN, SAVEPOINT and COMMIT are not (PostgreSQL's go through
asyncpg's execute, and they are the same before and after)."""

import uuid

import asyncpg
import pytest

from app import db
from app.domain.accounts import service as accounts
from app.domain.audit.service import Origin
from app.domain.notifications import service as notifications
from app.domain.notifications.service import request_hash
from app.domain.notifications.tables import Notification
from app.domain.oncall import service as oncall
from app.domain.oncall.tables import OnCallPupil, OnCallRequest, RotaSlot
from app.domain.schools.tables import Membership
from app.errors import NotFound
from tests.conftest import _member, add_pupil, sign_in
from tests.oncall.test_oncall import school  # noqa: F401  (the fixture)


TRANSACTION_CONTROL = {"BEGIN", "SAVEPOINT", "RELEASE", "COMMIT", "ROLLBACK"}


@pytest.fixture
def statements(database, monkeypatch) -> list[str]:
    """Every statement sent to the database, in order: SQLite's through app.db's one runner, PostgreSQL's through
    asyncpg's Connection.fetch (Piccolo's queries, pooled or in a transaction, and raw ones alike)."""
    sent: list[str] = []
    # Live delivery and push after the commit are left out: tests that call the service without a running app
    # have no channels to publish on (the board test's app has, and its publishes are counted there).
    monkeypatch.setattr(oncall, "_publisher", None)
    monkeypatch.setattr(oncall, "_push", None)
    monkeypatch.setattr(notifications, "_publisher", None)
    if type(database).__name__.startswith("Pooled") or "sqlite" in type(database).__name__.lower():
        run = db._run_to_end

        def counted_sqlite(conn, query, args):
            if query.split()[0].upper() not in TRANSACTION_CONTROL:
                sent.append(query)
            return run(conn, query, args)

        monkeypatch.setattr(db, "_run_to_end", counted_sqlite)
    else:
        fetch = asyncpg.connection.Connection.fetch

        async def counted_pg(self, query, *args, **kwargs):
            sent.append(query)
            return await fetch(self, query, *args, **kwargs)

        monkeypatch.setattr(asyncpg.connection.Connection, "fetch", counted_pg)
    return sent


async def actor_of(settings, member):
    token = await accounts._create_session(settings, member.id, member.email, Origin(ip="test"), "pytest")
    return await accounts.load_actor(settings, token, Origin(ip="test"))


async def raised(settings, school, statements, pupils: list[int]) -> list[str]:  # noqa: F811
    actor = await actor_of(settings, school.teacher)
    form = {"location_id": str(school.room), "reason_id": str(school.reason), "urgency": "urgent",
            "pupil_id": [str(p) for p in pupils], "note": "Refusing to leave"}
    statements.clear()
    await oncall.raise_request(actor, form, key=str(uuid.uuid4()), digest=request_hash("/oncall/", form))
    return list(statements)


def show(title: str, sent: list[str]) -> None:
    print(f"\n{title}: {len(sent)}")
    for s in sent:
        print("  ", " ".join(s.split())[:140])


async def test_a_raise_costs_the_same_statements_for_three_pupils_and_many_responders_as_for_one(
        settings, school, statements):  # noqa: F811
    one = await raised(settings, school, statements, [school.pupil])
    show("statements for a raise with one pupil, one responder on the rota", one)
    others = [await add_pupil(school.school_id, "Ben", "Ade"), await add_pupil(school.school_id, "Cal", "Ode")]
    for n in range(8):  # eight more responders on the rota at tier 1
        member = await _member(f"r{n}@a.example", f"Responder {n}", school.school_id, ["responder"])
        await RotaSlot.insert(RotaSlot(school=school.school_id, person=member.id, weekday=1, starts="08:00",
                                       ends="16:00", tier=1))
    three = await raised(settings, school, statements, [school.pupil, *others])
    show("statements for a raise with three pupils, nine responders", three)
    assert len(three) == len(one)
    assert await OnCallPupil.count() == 4
    # Nobody is online, so every tier was alerted about the second raise: the nine responders and the DSL.
    second = (await OnCallRequest.select(OnCallRequest.id).order_by(OnCallRequest.id, ascending=False).first())["id"]
    assert await Notification.count().where(Notification.link == f"/oncall/{second}") == 10


async def test_a_raise_is_a_few_statements(settings, school, statements):  # noqa: F811
    sent = await raised(settings, school, statements, [school.pupil])
    show("statements for a raise", sent)
    # The receipt read (PostgreSQL: and the key's claim), one read of the form's room, reason, pupils and the
    # school's timer, the request, its pupils, its event, one read of who is on call at every tier and online,
    # the alert and its recipients, the audit entry (SQLite: the chain head and the entry), the receipt's answer:
    # 11 on either database (22 on SQLite before the on-call statements were folded).
    assert len(sent) <= 11, len(sent)
    reads_of_the_rota = [s for s in sent if "rota_slot" in s.lower()]
    assert len(reads_of_the_rota) == 1
    if settings.is_postgres:
        # The form's read, the roster's, then the request, its pupils, event, audit entry, alert, recipients and
        # receipt in one statement with no transaction of the app's around it: three round trips, not eleven (the
        # trust benchmark found raises idle in their transactions between statements on a busy event loop).
        assert [s.split()[0].upper() for s in sent] == ["SELECT", "SELECT", "WITH"], sent


async def test_nobody_online_alerts_the_fallback_in_the_same_statements(settings, school, statements):  # noqa: F811
    """With nobody online at tier 1, every tier is alerted, from the same single read of the rota."""
    sent = await raised(settings, school, statements, [school.pupil])
    rid = (await OnCallRequest.select(OnCallRequest.id).first())["id"]
    alerted = {n["person"] for n in await Notification.select().where(Notification.link == f"/oncall/{rid}")}
    assert alerted == {school.responder.id, school.dsl.id}
    assert len([s for s in sent if "rota_slot" in s.lower()]) == 1


async def board_statements(client, settings, school, statements, open_requests: int) -> list[str]:  # noqa: F811
    actor = await actor_of(settings, school.teacher)
    pupils = [school.pupil, await add_pupil(school.school_id, "Dan", f"Eze{open_requests}")]
    for n in range(open_requests - await OnCallRequest.count()):
        form = {"location_id": str(school.room), "reason_id": str(school.reason),
                "urgency": ("routine", "urgent", "emergency")[n % 3], "pupil_id": [str(p) for p in pupils[:n % 3]]}
        await oncall.raise_request(actor, form, key=str(uuid.uuid4()), digest=request_hash("/oncall/", form))
    statements.clear()
    page = await client.get("/oncall/board")
    assert page.status_code == 200
    assert page.text.count('class="board-item"') == open_requests
    return list(statements)


async def test_the_board_reads_its_cards_in_one_statement_however_many_are_open(
        client, settings, school, statements):  # noqa: F811
    await sign_in(client, settings, school.responder)
    one = await board_statements(client, settings, school, statements, 1)
    six = await board_statements(client, settings, school, statements, 6)
    show("statements for GET /oncall/board with 1 open request", one)
    show("statements for GET /oncall/board with 6 open requests", six)
    assert len(six) == len(one)
    assert len([s for s in six if "on_call_pupil" in s.lower()]) == 1
    # Besides the session's: the last event id with whether the reader is on duty, then the cards (4 and 14 before).
    assert len([s for s in six if "on_call" in s.lower() or "on_duty" in s.lower()]) == 2


async def test_the_board_page_says_on_duty_and_resumes_from_the_last_event(client, settings, school):  # noqa: F811
    await sign_in(client, settings, school.responder)
    page = (await client.get("/oncall/board")).text
    assert 'data-stream="/oncall/board/stream?after=0"' in page and "I'm on duty now" in page
    await oncall.set_on_duty(await actor_of(settings, school.responder), True)
    actor = await actor_of(settings, school.teacher)
    form = {"location_id": str(school.room), "reason_id": str(school.reason), "urgency": "urgent"}
    await oncall.raise_request(actor, form, key=str(uuid.uuid4()), digest=request_hash("/oncall/", form))
    page = (await client.get("/oncall/board")).text
    last = await oncall.latest_event_id(school.school_id)
    assert last and f'data-stream="/oncall/board/stream?after={last}"' in page
    assert "You are on duty." in page and page.count('class="board-item"') == 1


async def test_the_board_service_is_one_statement_with_every_card_complete(settings, school, statements):  # noqa: F811
    actor = await actor_of(settings, school.teacher)
    ben = await add_pupil(school.school_id, "Ben", "Ade", form="9B")
    for urgency, pupils in (("routine", []), ("emergency", [school.pupil, ben]), ("urgent", [ben])):
        form = {"location_id": str(school.room), "reason_id": str(school.reason), "urgency": urgency,
                "pupil_id": [str(p) for p in pupils]}
        await oncall.raise_request(actor, form, key=str(uuid.uuid4()), digest=request_hash("/oncall/", form))
    responder = await actor_of(settings, school.responder)
    statements.clear()
    cards = await oncall.board(responder)
    assert len(statements) == 1, statements
    # Most urgent first, each card as card() makes it: pupils in the order named, with their forms.
    assert [c["urgency"] for c in cards] == ["emergency", "urgent", "routine"]
    assert [[(p["name"], p["form"]) for p in c["pupils"]] for c in cards] == [
        [("Ava Okafor", "9A"), ("Ben Ade", "9B")], [("Ben Ade", "9B")], []]
    for c in cards:
        assert c == await oncall.card(c["id"])
        assert c["location.name"] == "Room 12" and c["reason.name"] == "Remove a pupil"
        assert c["requester.display_name"] == school.teacher.name and c["responder.display_name"] is None


async def test_who_is_on_call_is_one_statement(settings, school, statements):  # noqa: F811
    """A member of staff on the rota without a responding role may see the board: finding that out (the rota,
    the day's overrides, who is on duty, who is disabled) is one statement, not four or five."""
    await Membership.update({Membership.role: "staff"}).where(Membership.person == school.responder.id)
    responder = await actor_of(settings, school.responder)
    statements.clear()
    assert await oncall.can_respond(responder)
    assert len(statements) == 1, statements


async def test_a_step_is_one_statement_and_a_refused_one_writes_nothing(settings, school, statements):  # noqa: F811
    """A claim, a cancel and the other steps move the request, add its event and its audit entry together. On
    PostgreSQL that is one statement with no transaction of the app's (five round trips before: BEGIN, the update,
    the event, the entry, COMMIT), so a busy event loop no longer keeps a pooled connection idle in a transaction
    between them. A step that may not be taken moves nothing, and writes no event and no audit entry."""
    from app.domain.audit import service as audit
    from app.domain.oncall.tables import OnCallEvent

    teacher, responder = await actor_of(settings, school.teacher), await actor_of(settings, school.responder)
    form = {"location_id": str(school.room), "reason_id": str(school.reason), "urgency": "urgent", "note": ""}
    first = (await oncall.raise_request(teacher, form, key=str(uuid.uuid4()), digest="a"))["id"]
    second = (await oncall.raise_request(teacher, form, key=str(uuid.uuid4()), digest="b"))["id"]

    statements.clear()
    claimed = await oncall.acknowledge(responder, first)
    claim_sent = list(statements)
    statements.clear()
    cancelled = await oncall.cancel(teacher, second)
    cancel_sent = list(statements)
    show("statements for a claim", claim_sent)
    show("statements for a cancel", cancel_sent)
    assert claimed["state"] == "acknowledged" and claimed["responder"] == school.responder.id
    assert claimed["acknowledged_at"] is not None and claimed["escalate_at"] is None
    assert cancelled["state"] == "cancelled" and cancelled["cancelled_at"] is not None and "event_id" not in cancelled
    if settings.is_postgres:
        # A responder's role says they may respond (no read); a cancel is the requester's own.
        assert [s.split()[0].upper() for s in claim_sent] == ["WITH"], claim_sent
        assert [s.split()[0].upper() for s in cancel_sent] == ["WITH"], cancel_sent
    for request_id, kind, who in ((first, "acknowledged", school.responder.id), (second, "cancelled", school.teacher.id)):
        [event] = await OnCallEvent.select().where((OnCallEvent.request == request_id) & (OnCallEvent.kind == kind))
        assert event["actor"] == who and event["school"] == school.school_id
        [entry] = await audit.find({"action": f"oncall.{kind}", "subject_id": request_id}, columns=("actor", "school"))
        assert entry == {"actor": who, "school": school.school_id}

    # Refused: a second claim of the same request (someone already has it), and a cancel by someone who did not
    # raise it (hidden). Neither moves the request or leaves a trace but the refusal.
    events_before = await OnCallEvent.count()
    with pytest.raises(oncall.Conflict):
        await oncall.acknowledge(await actor_of(settings, school.dsl), first)
    with pytest.raises(NotFound):
        await oncall.cancel(responder, first)
    assert await OnCallEvent.count() == events_before
    assert (await OnCallRequest.select(OnCallRequest.state, OnCallRequest.responder).where(
        OnCallRequest.id == first).first()) == {"state": "acknowledged", "responder": school.responder.id}
    assert await audit.find({"action": "oncall.cancelled", "subject_id": first}) == []
    assert len(await audit.find({"action": "oncall.acknowledged", "subject_id": first}, limit=5)) == 1
