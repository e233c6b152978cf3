"""In-app notifications (the row is the truth; live delivery is a hint) and idempotency receipts."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Awaitable, Callable

import logging

from app import clock
from app.domain.notifications.tables import IdempotencyReceipt, Notification
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
    """Store a notification for each person (one INSERT); call inside the change's transaction, then `deliver`
    after commit. Returns (person, notification, school) for `deliver`."""
    if not person_ids:
        return []
    now = clock.now()
    people = sorted(person_ids)
    rows = await Notification.insert(*[Notification(person=p, school=school_id, kind=kind, text=text, link=link,
                                                    created_at=now) for p in people])
    return [(p, r["id"], school_id) for p, r in zip(people, rows)]


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


async def get_for(actor: Actor, notification_id: int) -> dict | None:
    return await Notification.select().where(
        (Notification.id == notification_id) & (Notification.person == actor.person_id)).first()


async def mark_read(actor: Actor, notification_id: int) -> None:
    await Notification.update({Notification.read_at: clock.now()}).where(
        (Notification.id == notification_id) & (Notification.person == actor.person_id))


# Idempotency ------------------------------------------------------------------------------------------

class KeyReused(CorridorError):
    status_code = 422
    title = "This entry was already sent with different content"


class StillRunning(CorridorError):
    status_code = 409
    title = "This entry is still being saved"


def request_hash(path: str, fields: dict[str, Any]) -> str:
    body = {k: v for k, v in fields.items() if k not in ("_csrf_token", "idempotency_key")}
    return hashlib.sha256(json.dumps([path, body], sort_keys=True, default=str).encode()).hexdigest()


def clean_key(raw: str | None) -> str | None:
    key = (raw or "").strip()
    if not key:
        return None
    if len(key) > 64 or not all(c.isalnum() or c == "-" for c in key):
        raise CorridorError("The submission key is malformed.")
    return key


async def replay(actor: Actor, key: str, digest: str) -> dict | None:
    """A stored answer for this person's key, if there is one (422 if the content differs, 409 if unfinished)."""
    row = await IdempotencyReceipt.select().where(
        (IdempotencyReceipt.person == actor.person_id) & (IdempotencyReceipt.key == key)).first()
    if not row:
        return None
    if row["request_hash"] != digest:
        raise KeyReused("An entry with the same key but different content was already received. Nothing was saved.")
    if not row["status_code"]:
        raise StillRunning("This entry is still being saved. It will be retried.")
    return {"status_code": int(row["status_code"]), "location": row["location"], "body": row["response_body"]}


async def store_receipt(actor: Actor, key: str, digest: str, *, status_code: int, location: str = "",
                        body: str = "") -> None:
    """Record the answer, inside the transaction of the record itself (the unique index stops a duplicate)."""
    await IdempotencyReceipt.insert(IdempotencyReceipt(
        key=key, person=actor.person_id, request_hash=digest, status_code=str(status_code), location=location,
        response_body=body, created_at=clock.now()))
