"""In-app notifications (the row is the truth; live delivery is a hint) and idempotency receipts."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import functools
import hashlib
import json
from typing import Any, Awaitable, Callable

import logging

from piccolo.engine.postgres import PostgresEngine

from app import clock
from app.db import raw as raw_sql
from app.domain.notifications.tables import Alert, AlertRecipient, IdempotencyReceipt, Notification
from app.domain.schools.service import Actor
from app.errors import CorridorError

log = logging.getLogger("corridor")

# create_app() sets this to publish on Litestar channels; without it (the CLI, some tests) nothing is pushed.
_publisher: Callable[[list[str], Any], Awaitable[None]] | None = None


def set_publisher(publisher: Callable[[list[str], Any], Awaitable[None]] | None) -> None:
    global _publisher
    _publisher = publisher


def school_channel(school_id: int) -> str:
    """One channel per school for alerts: one message per change, however many people it tells."""
    return f"alerts:{school_id}"


async def notify(person_ids: set[int], *, school_id: int, kind: str, text: str, link: str) -> list[tuple[int, int, int]]:
    """Store one alert and its recipients (two INSERTs, whatever the number of people); call inside the change's
    transaction, then `deliver` after commit. Returns (person, notification, school) for `deliver`."""
    if not person_ids:
        return []
    alert = await raw_sql(Alert, "INSERT INTO alert (school, kind, text, link, created_at) VALUES ({}, {}, {}, {}, {}) "
                            "RETURNING id", school_id, kind, text, link, clock.now())
    people = sorted(person_ids)
    values = ", ".join("({}, {}, {})" for _ in people)
    args = [value for person in people for value in (alert[0]["id"], person, school_id)]
    # Only placeholders are formatted in. No database promises RETURNING rows in the order of VALUES, so each
    # row names its person: an alert id paired with the wrong person would be dropped by their stream.
    rows = await raw_sql(AlertRecipient, 
        f"INSERT INTO alert_recipient (alert, person, school) VALUES {values} RETURNING id, person",  # nosec B608
        *args)
    return [(row["person"], row["id"], school_id) for row in rows]


def postgres_alert(person_ids: set[int], *, school_id: int, kind: str, text: str, link_sql: str,
                   source: str) -> tuple[list[str], list[Any]]:
    """PostgreSQL: `notify` as two parts of a hot path's one-statement write (a data-modifying WITH), for a record
    whose link is only known inside that statement (`link_sql`, an expression over `source`, the WITH query that
    makes the record). Returns the parts `alert_made AS (...)` and `alert_sent AS (...)`, with `{}` placeholders, and
    their values; read `alert_sent` (person, id) for `deliver`, as `notify` returns them."""
    people = sorted(person_ids)
    parts = [f"alert_made AS (INSERT INTO alert (school, kind, text, link, created_at) SELECT {{}}::integer, "
             f"{{}}::varchar, {{}}::text, {link_sql}, {{}}::timestamptz FROM {source} "  # nosec B608  # constants
             f"WHERE cardinality({{}}::integer[]) > 0 RETURNING id)",
             "alert_sent AS (INSERT INTO alert_recipient (alert, person, school) SELECT alert_made.id, sent.person, "
             "{}::integer FROM alert_made, unnest({}::integer[]) AS sent(person) RETURNING id, person)"]
    return parts, [school_id, kind, text, clock.now(), people, school_id, people]


async def deliver(pending: list[tuple[int, int, int]]) -> None:
    """Push stored notifications to open pages (after commit: a page must never see a row that rolled back)."""
    if _publisher is None or not pending:
        return
    by_school: dict[int, dict[str, int]] = {}
    for person_id, notification_id, school_id in pending:
        by_school.setdefault(school_id, {})[str(person_id)] = notification_id
    for school_id, to in by_school.items():
        try:
            await _publisher([school_channel(school_id)], {"to": to})
        except Exception:
            # Live delivery is a hint; the stored row is the truth and the record is already saved.
            log.warning("live delivery of %s notifications failed", len(to), exc_info=True)


async def unread(actor: Actor, limit: int = 20) -> list[dict]:
    return await Notification.select().where(
        (Notification.person == actor.person_id) & Notification.read_at.is_null()
        & (Notification.school == actor.school_id)).order_by(Notification.id, ascending=False).limit(limit)


async def unread_count(actor: Actor) -> int:
    """How many alerts this person has not opened at this school: the header's badge."""
    return await AlertRecipient.count().where(
        (AlertRecipient.person == actor.person_id) & AlertRecipient.read_at.is_null()
        & (AlertRecipient.school == actor.school_id))


async def get_for(actor: Actor, notification_id: int) -> dict | None:
    return await Notification.select().where(
        (Notification.id == notification_id) & (Notification.person == actor.person_id)).first()


async def mark_read(actor: Actor, notification_id: int) -> None:
    await AlertRecipient.update({AlertRecipient.read_at: clock.now()}).where(
        (AlertRecipient.id == notification_id) & (AlertRecipient.person == actor.person_id))


async def withdraw(*, school_id: int, link: str) -> None:
    """Take back the unread alerts about a record that was undone (call inside the undo's transaction): an
    alert must not send someone to a record that no longer exists."""
    await AlertRecipient.delete().where(
        (AlertRecipient.school == school_id) & AlertRecipient.read_at.is_null()
        & AlertRecipient.alert.is_in(Alert.select(Alert.id).where((Alert.school == school_id) & (Alert.link == link))))


# Idempotency ------------------------------------------------------------------------------------------
#
# A receipt row is written in two steps. `replay` claims the key before any work starts, in its own committed
# write, so a retry that arrives while the first attempt is still running can see it and answer 409. The
# record's own transaction then turns the claim into the stored answer (`store_receipt`), so the answer and
# the record commit together or not at all. A claim that never got its answer (a refused form, a crash, a
# killed server) is taken over by the next attempt once it is older than CLAIM_LEASE; correctness never
# rests on the lease: only one attempt can turn a claim into an answer, and the others roll back and answer
# as it did.

#
# The claim is held in memory instead (`_in_flight`), on both databases. A committed claim cost a write of its
# own, with its own sync to disk (about 1.8 ms of waiting on the benchmark's disk, as much as the record's
# commit; on PostgreSQL a round trip and a WAL flush more), on every idempotent POST. The answer is then INSERTed
# with the record; whatever the claim, the receipt's unique index (person, key) is what lets only one attempt
# answer. A process that dies takes its memory claims with it, as its transactions roll back.
# SQLite is served by one process (server.py refuses --workers without PostgreSQL), so every attempt that could
# race is in this process and a retry during the first attempt is told 409. PostgreSQL may be served by several:
# a retry that reaches another process does its work, and its receipt's INSERT waits on the unique index for the
# first attempt's transaction; once that commits, the INSERT fails, its transaction (record and all) is rolled
# back and it answers as the first did (answer_once); if the first rolled back, the retry's record is the one.
# Claim rows (status_code '') are still honoured where found: a retry during an older version's claim is 409.

CLAIM_LEASE = dt.timedelta(seconds=10)
# The claim the running attempt holds and has not answered yet: "" none, "row" a stored claim, "memory" one in
# `_in_flight` (set by `replay`, read by `store_receipt`, `release` and `releases_claim`).
_claimed: contextvars.ContextVar[str] = contextvars.ContextVar("claimed", default="")
# (person, key) -> (request hash, the task of the attempt holding it), while that attempt runs in this process.
_in_flight: dict[tuple[int, str], tuple[str, asyncio.Task | None]] = {}
RECEIPT_DAYS = 30  # receipts are kept at least this long (DESIGN.md, offline outbox protocol)


class KeyReused(CorridorError):
    status_code = 422
    title = "This entry was already sent with different content"


class StillRunning(CorridorError):
    status_code = 409
    title = "This entry is still being saved"


class MadeBySomeoneElse(CorridorError):
    """An outbox entry made by one person, sent while another is signed in: it waits for its maker."""

    status_code = 401
    title = "Made by someone else"


class AlreadyAnswered(Exception):
    """Another attempt with the same key stored its answer first; the callers' race handling looks for 'unique'."""

    def __init__(self) -> None:
        super().__init__("unique: this submission key was answered by another attempt")


def request_hash(path: str, fields: dict[str, Any]) -> str:
    # Fields starting with "_" are transport (the CSRF token, the outbox's person and summary), not content.
    body = {k: v for k, v in fields.items() if not k.startswith("_") and k != "idempotency_key"}
    return hashlib.sha256(json.dumps([path, body], sort_keys=True, default=str).encode()).hexdigest()


def clean_key(raw: str | None) -> str | None:
    key = (raw or "").strip()
    if not key:
        return None
    if len(key) > 64 or not all(c.isalnum() or c == "-" for c in key):
        raise CorridorError("The submission key is malformed.")
    return key


def require_maker(actor: Actor, claimed: str | None) -> None:
    """An entry that says who made it is only accepted from that person's session (a shared or handed-on phone)."""
    claimed = (claimed or "").strip()
    if claimed and claimed != str(actor.person_id):
        raise MadeBySomeoneElse("This entry was made by someone else on this device. It will be sent when they "
                                "sign in again.")


def _receipt(actor: Actor, key: str):
    return (IdempotencyReceipt.person == actor.person_id) & (IdempotencyReceipt.key == key)


# Every idempotent write reads, claims and answers its key: plain statements, not built per request.
_RECEIPT = """SELECT id, request_hash, status_code, response_body, location, created_at FROM idempotency_receipt
WHERE person = {} AND "key" = {}"""
_ANSWER = """UPDATE idempotency_receipt SET request_hash = {}, status_code = {}, location = {}, response_body = {}
WHERE person = {} AND "key" = {} AND status_code = '' RETURNING id"""
_STORE = """INSERT INTO idempotency_receipt ("key", person, request_hash, status_code, response_body, location, created_at)
VALUES ({}, {}, {}, {}, {}, {}, {})"""


def _claim_in_memory(actor: Actor, key: str, digest: str) -> None:
    """Claim the key for this attempt in this process, or raise StillRunning while another attempt with the same
    content runs. Another attempt with different content (corrected since) does not stop this one: whichever
    stores its answer first wins, and the other is told the key was used (as with a stored claim)."""
    held = _in_flight.get((actor.person_id, key))
    task = asyncio.current_task()
    if held is not None and held[1] is not task and held[1] is not None and not held[1].done() and held[0] == digest:
        raise StillRunning("This entry is still being saved. It will be retried.")
    _in_flight[(actor.person_id, key)] = (digest, task)
    _claimed.set("memory")


def _forget(actor: Actor, key: str | None) -> None:
    """Drop this attempt's memory claim (never another attempt's)."""
    if key and (held := _in_flight.get((actor.person_id, key))) is not None and held[1] is asyncio.current_task():
        del _in_flight[(actor.person_id, key)]


def _taking_turns():
    """A claim is written outside the record's transaction: on SQLite it waits its turn with this process's
    transactions (app.db.PooledSQLiteEngine) rather than in SQLite's busy handler. Never call it inside one."""
    write_lock = getattr(IdempotencyReceipt._meta.db, "write_lock", None)
    return write_lock() if write_lock else contextlib.nullcontext()


async def replay(actor: Actor, key: str, digest: str) -> dict | None:
    """The stored answer for this person's key, or None after claiming the key for this attempt.

    Raises KeyReused (422) if the key was answered for different content, StillRunning (409) while an
    attempt with the same content holds a fresh claim.
    """
    for _ in range(5):
        found = await raw_sql(IdempotencyReceipt, _RECEIPT, actor.person_id, key)
        row = found[0] if found else None
        if not row:
            _claim_in_memory(actor, key, digest)
            return None
        if row["status_code"]:
            if row["request_hash"] != digest:
                raise KeyReused("An entry with the same key but different content was already received. "
                                "Nothing was saved.")
            return {"status_code": int(row["status_code"]), "location": row["location"], "body": row["response_body"]}
        fresh = row["created_at"] > clock.now() - CLAIM_LEASE
        if fresh and row["request_hash"] == digest:
            raise StillRunning("This entry is still being saved. It will be retried.")
        # The claim was left by an attempt that died, or the content was corrected since: this attempt takes it.
        # Whichever attempt stores its answer first wins; the other rolls back (store_receipt).
        async with _taking_turns():
            taken = await IdempotencyReceipt.update(
                {IdempotencyReceipt.request_hash: digest, IdempotencyReceipt.created_at: clock.now()}
            ).where(_receipt(actor, key) & (IdempotencyReceipt.status_code == "")
                    & (IdempotencyReceipt.request_hash == row["request_hash"])
                    & (IdempotencyReceipt.created_at == row["created_at"])).returning(IdempotencyReceipt.id)
        if taken:
            _claimed.set("row")
            return None
    raise StillRunning("This entry is still being saved. It will be retried.")


def writes_in_one_statement() -> bool:
    """Whether a hot path's rows and its key's receipt go in one data-modifying WITH (PostgreSQL: the incident POST,
    the on-call raise) instead of a transaction of statements (SQLite, whose statements run on the loop's thread)."""
    return isinstance(IdempotencyReceipt._meta.db, PostgresEngine)


def claim_without_reading(actor: Actor, key: str, digest: str) -> None:
    """For a write that stores its receipt in the same statement as its record and reads it only when that statement
    is refused (PostgreSQL's incident POST): the key is claimed in this process's memory as `replay` claims it, but
    without `replay`'s read. A retry while this attempt runs is told 409 (StillRunning); a retry after it is refused
    by the receipt's unique index, or by the form's checks, and answered by `answer_if_stored`."""
    _claim_in_memory(actor, key, digest)


async def answer_if_stored(actor: Actor, key: str, digest: str) -> dict | None:
    """The answer stored for this person's key, for an attempt claimed by `claim_without_reading` whose write or form
    was refused: what `replay` would have answered before the work began. KeyReused if it was stored for other
    content; None if no answer is stored (nothing, or a claim row an older version wrote: `replay` deals with it)."""
    return await _answer_of_the_winner(actor, key, digest)


def postgres_receipt(actor: Actor, key: str, digest: str, *, body_sql: str, source: str) -> tuple[str, list[Any]]:
    """PostgreSQL: `store_receipt` (303, no location) as part of a hot path's one-statement write (a data-modifying
    WITH), whose answer is only known inside that statement (`body_sql`, an expression over `source`). Its values
    follow the INSERT's `{}` placeholders. The receipt's unique index refuses the whole statement if another attempt
    with the key answered first (then `answer_if_stored`)."""
    return ('INSERT INTO idempotency_receipt ("key", person, request_hash, status_code, response_body, location, '
            f"created_at) SELECT {{}}::varchar, {{}}::integer, {{}}::varchar, '303', {body_sql}, '', "  # nosec B608
            f"{{}}::timestamptz FROM {source}", [key, actor.person_id, digest, clock.now()])


async def _answer_of_the_winner(actor: Actor, key: str, digest: str) -> dict | None:
    """The answer the attempt that won a race stored, read in a transaction of its own: on SQLite that waits its
    turn behind the winner's, reads the winner's rows even while their group commit is still open, and ends only
    once they are on disk, so this attempt never answers before the record it names is durable."""
    from app.db import atomic

    async with atomic():
        found = await raw_sql(IdempotencyReceipt, _RECEIPT, actor.person_id, key)
    row = found[0] if found else None
    if not row or not row["status_code"]:
        return None
    if row["request_hash"] != digest:
        raise KeyReused("An entry with the same key but different content was already received. Nothing was saved.")
    return {"status_code": int(row["status_code"]), "location": row["location"], "body": row["response_body"]}


def releases_claim(record: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """For an idempotent write `record(actor, ..., key=, digest=)`: if it fails after `replay` claimed its key (bad
    input, a crash), the claim is released in a compensating write, so nothing is left behind and a retry can
    succeed. A claim held by another attempt (StillRunning, KeyReused) is never touched."""

    @functools.wraps(record)
    async def recording(actor: Actor, *args: Any, key: str | None = None, digest: str = "", **kwargs: Any) -> Any:
        token = _claimed.set("")
        try:
            return await record(actor, *args, key=key, digest=digest, **kwargs)
        except BaseException:
            if _claimed.get():
                await release(actor, key, digest)
            raise
        finally:
            _forget(actor, key)
            _claimed.reset(token)

    return recording


async def answered(actor: Actor, key: str) -> bool:
    """Whether this person's key has a stored answer: what lets a phone delete its copy of the entry."""
    return await IdempotencyReceipt.exists().where(_receipt(actor, key) & (IdempotencyReceipt.status_code != ""))


async def release(actor: Actor, key: str | None, digest: str) -> None:
    """Give up this attempt's claim when nothing was saved (the form was refused), so the key is free again."""
    _forget(actor, key)
    if key and _claimed.get() != "memory":
        async with _taking_turns():
            await IdempotencyReceipt.delete().where(
                _receipt(actor, key) & (IdempotencyReceipt.status_code == "")
                & (IdempotencyReceipt.request_hash == digest))


async def store_receipt(actor: Actor, key: str, digest: str, *, status_code: int, location: str = "",
                        body: str = "") -> None:
    """Record the answer, inside the transaction of the record itself; only one attempt per key can."""
    if _claimed.get() == "memory":
        # No stored claim to answer: the answer goes in now; if another attempt stored one first, the unique index
        # refuses this one (answer_once then answers as it did).
        await raw_sql(IdempotencyReceipt, _STORE, key, actor.person_id, digest, str(status_code), body, location,
                                     clock.now())
        return
    # On PostgreSQL a second attempt's update waits for the first's commit, then finds the claim answered.
    done = await raw_sql(IdempotencyReceipt, _ANSWER, digest, str(status_code), location, body, actor.person_id, key)
    if done:
        return
    if await IdempotencyReceipt.exists().where(_receipt(actor, key)):
        raise AlreadyAnswered()
    # Nobody claimed the key (a caller that did not ask `replay` first): the unique index stops a duplicate.
    await IdempotencyReceipt.insert(IdempotencyReceipt(
        key=key, person=actor.person_id, request_hash=digest, status_code=str(status_code), location=location,
        response_body=body, created_at=clock.now()))


async def purge_receipts(days: int = RECEIPT_DAYS) -> int:
    """Delete receipts older than `days` (never fewer than RECEIPT_DAYS); returns how many went."""
    if days < RECEIPT_DAYS:
        raise CorridorError(f"Receipts are kept at least {RECEIPT_DAYS} days.")
    cutoff = clock.now() - dt.timedelta(days=days)
    async with _taking_turns():
        gone = await IdempotencyReceipt.delete().where(IdempotencyReceipt.created_at < cutoff).returning(
            IdempotencyReceipt.id)
    return len(gone)


async def answer_once(actor: Actor, key: str | None, digest: str,
                      write: Callable[[], Awaitable[tuple[dict, list]]]) -> dict:
    """Run `write` (a record's writes, returning its answer and the alerts to deliver) in one transaction with
    the key's receipt; if another attempt with the same key answered first, return that answer instead.
    Alerts are delivered after the commit."""
    from app.db import atomic

    try:
        async with atomic():
            answer, pending = await write()
            if key:
                await store_receipt(actor, key, digest, status_code=303, body=json.dumps(answer))
    except Exception as exc:
        # Two attempts with one key raced: only one could store its answer; answer as it did.
        if key and "unique" in str(exc).lower():
            if _claimed.get() == "memory":
                stored = await _answer_of_the_winner(actor, key, digest)
            else:
                stored = await replay(actor, key, digest)
            if stored:
                return json.loads(stored["body"])
        raise
    await deliver(pending)
    return answer
