"""Web Push (VAPID, RFC 8291): a wake-up hint for a phone whose app is in the background.

The board always reads the server's state; a push that never arrives loses nothing.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

from app import clock
from app.domain.oncall.tables import PushSubscription
from app.domain.schools.service import Actor
from app.errors import CorridorError
from app.settings import Settings

log = logging.getLogger("corridor")


def vapid_public_key(settings: Settings) -> str:
    """The applicationServerKey browsers subscribe with (base64url, uncompressed P-256 point)."""
    from cryptography.hazmat.primitives import serialization
    from py_vapid import Vapid02
    from webauthn.helpers import bytes_to_base64url

    key = Vapid02.from_file(str(settings.vapid_key_file))
    raw = key.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return bytes_to_base64url(raw)


async def subscribe(actor: Actor, subscription: dict) -> None:
    """Keep a device's push subscription (the same device re-subscribing updates it)."""
    endpoint = str(subscription.get("endpoint") or "")
    keys = subscription.get("keys") or {}
    p256dh, auth = str(keys.get("p256dh") or ""), str(keys.get("auth") or "")
    # https only: the server will POST to this address, so it must never point inside the school's network.
    if not endpoint.startswith("https://") or len(endpoint) > 1000 or not p256dh or not auth \
            or len(p256dh) > 200 or len(auth) > 100:
        raise CorridorError("That push subscription could not be used.")
    now = clock.now()
    existing = await PushSubscription.select(PushSubscription.id).where(PushSubscription.endpoint == endpoint).first()
    if existing:
        await PushSubscription.update({PushSubscription.person: actor.person_id, PushSubscription.p256dh: p256dh,
                                       PushSubscription.auth: auth, PushSubscription.last_seen_at: now}).where(
            PushSubscription.id == existing["id"])
    else:
        await PushSubscription.insert(PushSubscription(person=actor.person_id, endpoint=endpoint, p256dh=p256dh,
                                                       auth=auth, created_at=now, last_seen_at=now))


async def send(settings: Settings, person_ids: set[int], payload: dict) -> int:
    """Send an encrypted, VAPID-signed push to every device of these people; returns how many were accepted.
    A subscription the push service says is gone (404/410) is deleted."""
    from pywebpush import WebPushException, webpush_async

    if not person_ids:
        return 0
    rows = await PushSubscription.select().where(PushSubscription.person.is_in(list(person_ids)))
    sent = 0
    for row in rows:
        parts = urlsplit(row["endpoint"])
        try:
            await webpush_async(
                {"endpoint": row["endpoint"], "keys": {"p256dh": row["p256dh"], "auth": row["auth"]}},
                data=json.dumps(payload), vapid_private_key=str(settings.vapid_key_file),
                vapid_claims={"sub": settings.vapid_subject, "aud": f"{parts.scheme}://{parts.netloc}"},
                ttl=300, timeout=5)
            sent += 1
        except WebPushException as exc:
            status = getattr(exc.response, "status", None) or getattr(exc.response, "status_code", None)
            if status in (404, 410):
                await PushSubscription.delete().where(PushSubscription.id == row["id"])
            else:
                log.warning("push to a device failed: %s", status)
        except Exception:
            log.warning("push to a device failed", exc_info=True)
    return sent
