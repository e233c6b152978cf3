"""The outbox's server side: what a replay from the service worker looks like over HTTP."""

from __future__ import annotations

import uuid

from app.domain.notifications.tables import IdempotencyReceipt
from tests.conftest import csrf
from tests.incidents.conftest import school  # noqa: F401  (the cast's school with categories and pupils)


def new_key() -> str:
    return str(uuid.uuid4())


async def replay_post(client, path: str, fields: dict, *, key: str, person: int | str | None = None,
                      token: str | None = None, page: str = "/incidents/new"):
    """A post as service_worker/replay.js sends it: the key, the maker and the CSRF token as headers, JSON
    errors, redirects not followed."""
    token = token or await csrf(client, page)
    headers = {"idempotency-key": key, "x-csrftoken": token, "accept": "application/json", "x-corridor-outbox": "1"}
    if person is not None:
        headers["x-corridor-person"] = str(person)
    return await client.post(path, data=fields, headers=headers, follow_redirects=False)


def incident(school, **more) -> dict:  # noqa: F811  (the cast, not the fixture)
    return {"pupil_id": str(school.ava), "role": "instigator", "category_id": str(school.disruption), **more}


async def receipts() -> list[dict]:
    return await IdempotencyReceipt.select().order_by(IdempotencyReceipt.id)
