"""Web Push (VAPID, RFC 8291): a wake-up hint for a phone whose app is in the background.

The board always reads the server's state; a push that never arrives loses nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
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


# The browsers' own push services (Chrome and Android: FCM; Firefox: Mozilla autopush; Safari: Apple; Edge:
# Windows Notification Service). A leading dot allows subdomains. PUSH_SERVICE_HOSTS adds more.
BROWSER_PUSH_SERVICES = ("fcm.googleapis.com", ".push.services.mozilla.com", ".push.apple.com",
                         ".notify.windows.com")


async def resolve(host: str) -> list[str]:
    """The addresses a host name resolves to (the network is a boundary: tests stand in for it)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def _host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    return any(host == a or (a.startswith(".") and (host.endswith(a) or host == a[1:])) for a in allowed)


async def endpoint_problem(settings: Settings, endpoint: str) -> str | None:
    """Why the server must not POST to this push endpoint, or None. The server connects to whatever a browser
    hands it, so a forged subscription could otherwise make it reach inside the school's network (SSRF)."""
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        return "not a web address"
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host or parts.username or parts.password or port not in (None, 443):
        return "not an https address on the standard port"
    if not _host_allowed(host, BROWSER_PUSH_SERVICES + settings.push_service_hosts):
        return "not a known browser push service"
    try:
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in await resolve(host)]
    except (OSError, ValueError, UnicodeError):
        return "its host could not be resolved"
    # Loopback, private, link-local (cloud metadata at 169.254.169.254), reserved and multicast are all
    # "not global"; an IPv4-mapped IPv6 address is judged by the IPv4 address inside it.
    if not addresses or not all((getattr(a, "ipv4_mapped", None) or a).is_global for a in addresses):
        return "its host is not on the public internet"
    return None


async def subscribe(settings: Settings, actor: Actor, subscription: dict) -> None:
    """Keep a device's push subscription (the same device re-subscribing updates it)."""
    endpoint = subscription.get("endpoint")
    keys = subscription.get("keys")
    keys = keys if isinstance(keys, dict) else {}
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not all(isinstance(v, str) and v for v in (endpoint, p256dh, auth)) or len(endpoint) > 1000 \
            or len(p256dh) > 200 or len(auth) > 100:
        raise CorridorError("That push subscription could not be used.")
    problem = await endpoint_problem(settings, endpoint)
    if problem:
        log.warning("push subscription refused: %s", problem)
        raise CorridorError(f"That push subscription could not be used: {problem}.")
    now = clock.now()
    existing = await PushSubscription.select(PushSubscription.id).where(PushSubscription.endpoint == endpoint).first()
    if existing:
        await PushSubscription.update({PushSubscription.person: actor.person_id, PushSubscription.p256dh: p256dh,
                                       PushSubscription.auth: auth, PushSubscription.last_seen_at: now}).where(
            PushSubscription.id == existing["id"])
    else:
        await PushSubscription.insert(PushSubscription(person=actor.person_id, endpoint=endpoint, p256dh=p256dh,
                                                       auth=auth, created_at=now, last_seen_at=now))


def load_sender() -> None:
    """Import pywebpush now (the app's start), not on the first push: the import takes about 1.5 s of this
    process's only thread, and the first push is an on-call request whose screens would all wait for it."""
    import pywebpush  # noqa: F401


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
                # Every push Corridor sends (on-call, a safeguarding concern, nobody reachable) is worth waking a
                # phone on battery saving for: "high" asks the push service to deliver at once.
                ttl=300, headers={"Urgency": "high"}, timeout=5)
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
