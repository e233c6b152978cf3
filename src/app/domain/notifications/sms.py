"""SMS through a pluggable gateway (SMS_GATEWAY): GOV.UK Notify, or a generic HTTP webhook.

One call sends one text to one number and raises SmsFailed if the gateway did not take it; retrying and counting
attempts is the caller's. Nothing here logs a number or a message: an SMS is not end-to-end secure, and a log line
is read by more people than the message was meant for.

GOV.UK Notify: POST {NOTIFY_BASE_URL}/v2/notifications/sms with {"phone_number", "template_id", "personalisation":
{"body"}}, authorised by a JWT (HS256) whose issuer is the service id and whose key is the API key's secret; the
template's whole text is ((body)). The webhook: POST {"to", "body"} as JSON, signed with HMAC-SHA256 of the exact
bytes sent under the secret, in X-Corridor-Signature: sha256=<hex>.

Plain urllib in a worker thread: one small POST per alert does not earn an HTTP client dependency.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request

from app.settings import Settings

TIMEOUT = 10.0  # seconds: a gateway that does not answer in time counts as a failed attempt


class SmsFailed(Exception):
    """The gateway did not accept the message (its status, or that it could not be reached); no content."""


def configured(settings: Settings) -> bool:
    return settings.sms_gateway in ("notify", "webhook")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def notify_jwt(service_id: str, secret: str, now: float | None = None) -> str:
    """The bearer token Notify expects: HS256 over {"iss": service id, "iat": now}; Notify allows 30 s of skew."""
    header = _b64(json.dumps({"typ": "JWT", "alg": "HS256"}, separators=(",", ":")).encode())
    claims = _b64(json.dumps({"iss": service_id, "iat": int(now if now is not None else time.time())},
                             separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{_b64(signature)}"


def webhook_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _request(settings: Settings, to: str, text: str, reference: str) -> urllib.request.Request:
    if settings.sms_gateway == "notify":
        body = json.dumps({"phone_number": to, "template_id": settings.notify_template_id,
                           "personalisation": {"body": text}, "reference": reference}).encode()
        headers = {"Authorization": "Bearer " + notify_jwt(settings.notify_service_id, settings.sms_secret)}
        url = settings.sms_url + "/v2/notifications/sms"
    else:
        body = json.dumps({"to": to, "body": text}).encode()
        headers = {"X-Corridor-Signature": webhook_signature(settings.sms_secret, body),
                   "X-Corridor-Reference": reference}
        url = settings.sms_url
    headers.update({"Content-Type": "application/json", "User-Agent": "Corridor"})
    return urllib.request.Request(url, data=body, headers=headers, method="POST")


def _post(request: urllib.request.Request) -> int:
    # The URL is the operator's setting, checked at start to be https (http only for localhost): not user input.
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # nosec B310
        return response.status


async def send(settings: Settings, to: str, text: str, reference: str) -> None:
    """Send one text; raise SmsFailed unless the gateway answered 2xx. `reference` names the message (not its
    content) for the gateway's records and a receiver's de-duplication."""
    if not configured(settings):
        raise SmsFailed("no SMS gateway is configured")
    request = _request(settings, to, text, reference)
    try:
        status = await asyncio.to_thread(_post, request)
    except urllib.error.HTTPError as exc:
        raise SmsFailed(f"the gateway answered {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise SmsFailed(f"the gateway could not be reached ({type(exc).__name__})") from None
    if not 200 <= status < 300:
        raise SmsFailed(f"the gateway answered {status}")
