"""Web Push: a push service on localhost receives a VAPID-signed, RFC 8291 (aes128gcm) encrypted message,
which this test verifies and decrypts as the browser would."""

import base64
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import http_ece
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from app import clock
from app.domain.notifications import push
from app.domain.oncall.tables import PushSubscription
from tests.conftest import csrf, sign_in


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PushService:
    """A stand-in for a browser vendor's push service: records what it is sent, answers 201 (or `status`)."""

    def __init__(self, status: int = 201):
        self.received: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def push_service():
    service = PushService()
    yield service
    service.close()


def a_browser_subscription():
    """What a browser makes when it subscribes: an ECDH P-256 key pair and a 16-byte auth secret."""
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return private, b64url(public), os.urandom(16)


async def test_a_responder_gets_an_encrypted_vapid_signed_push(settings, cast, push_service):
    private, p256dh, auth = a_browser_subscription()
    await PushSubscription.insert(PushSubscription(
        person=cast.responder.id, endpoint=f"{push_service.url}/push/device-1", p256dh=p256dh, auth=b64url(auth),
        created_at=clock.now(), last_seen_at=clock.now()))

    sent = await push.send(settings, {cast.responder.id}, {"title": "On-call", "url": "/oncall/7"})

    assert sent == 1 and len(push_service.received) == 1
    message = push_service.received[0]
    headers = {k.lower(): v for k, v in message["headers"].items()}
    assert message["path"] == "/push/device-1" and headers["content-encoding"] == "aes128gcm" and int(headers["ttl"]) > 0
    assert headers["urgency"] == "high"  # delivered at once, even to a phone saving its battery

    # VAPID (RFC 8292): "vapid t=<JWT>, k=<server public key>", the JWT signed with ES256 by that key.
    scheme, params = headers["authorization"].split(" ", 1)
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert scheme == "vapid" and fields["k"] == push.vapid_public_key(settings)
    signing_input, signature = fields["t"].rsplit(".", 1)
    claims = json.loads(unb64url(signing_input.split(".")[1]))
    assert claims["aud"] == push_service.url and claims["sub"] == settings.vapid_subject
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    server_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(fields["k"]))
    raw = unb64url(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    server_key.verify(der, signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        server_key.verify(der, signing_input.encode() + b"x", ec.ECDSA(hashes.SHA256()))

    # RFC 8291: only the browser, with its private key and auth secret, can read it.
    plain = http_ece.decrypt(message["body"], private_key=private, auth_secret=auth, version="aes128gcm")
    assert json.loads(plain) == {"title": "On-call", "url": "/oncall/7"}


async def test_a_subscription_the_push_service_says_is_gone_is_removed(settings, cast):
    gone = PushService(status=410)
    try:
        _, p256dh, auth = a_browser_subscription()
        await PushSubscription.insert(PushSubscription(
            person=cast.responder.id, endpoint=f"{gone.url}/push/old", p256dh=p256dh, auth=b64url(auth),
            created_at=clock.now(), last_seen_at=clock.now()))
        assert await push.send(settings, {cast.responder.id}, {"title": "x"}) == 0
        assert await PushSubscription.count() == 0
    finally:
        gone.close()


@pytest.fixture
def dns(monkeypatch):
    """Name resolution is the network's: these host names resolve as the test says."""
    answers = {"fcm.googleapis.com": ["142.250.180.10"], "updates.push.services.mozilla.com": ["34.117.237.239"]}

    async def resolve(host):
        if host not in answers:
            raise OSError("no such host")
        return answers[host]

    monkeypatch.setattr(push, "resolve", resolve)
    return answers


async def test_a_device_subscribes_with_an_https_endpoint_only(client, settings, cast, dns):
    await sign_in(client, settings, cast.responder)
    key = (await client.get("/notifications/push/key")).json()["key"]
    assert len(unb64url(key)) == 65
    token = await csrf(client, "/oncall/board")
    _, p256dh, auth = a_browser_subscription()
    good = {"endpoint": "https://fcm.googleapis.com/fcm/send/abc", "keys": {"p256dh": p256dh, "auth": b64url(auth)}}
    response = await client.post("/notifications/push/subscribe", json=good,
                                 headers={"x-csrftoken": token, "accept": "application/json"})
    assert response.status_code == 200
    assert (await PushSubscription.select(PushSubscription.person).first())["person"] == cast.responder.id
    internal = {**good, "endpoint": "http://127.0.0.1:6379/"}  # never let a user point the server inwards
    refused = await client.post("/notifications/push/subscribe", json=internal,
                                headers={"x-csrftoken": token, "accept": "application/json"})
    assert refused.status_code == 400 and await PushSubscription.count() == 1
