"""A new concern's Web Push reaches the DSL's phone, and no other colleague's, naming no pupil (issue 11, point 7),
on a 390x844 phone.

The push service is a local fake (HTTPS on 127.0.0.1, its certificate trusted by the server), as in the unit
tests; tests/e2e/fake_push_network.py lets the server reach it at a host allowed by PUSH_SERVICE_HOSTS without
loosening the app's checks on push endpoints. Playwright's browser contexts are incognito-like, where Chromium
has no Push API (the page's own pushManager.subscribe() is refused), so each phone's subscription is made here
with its own keys, pointing at the fake, and handed to the app's real subscribe route from the signed-in page,
as static/js/push.js does. What the fake receives is decrypted with those keys and delivered to the phone's
service worker through DevTools, where a real push service's message would arrive.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import secrets
import shutil
import ssl
import subprocess
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import http_ece
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import BIN, ROOT, Authenticator, Server, _free_port, enrol, fresh_email, wait_until_healthy
from tests.e2e.outbox_kit import query, wait_for_control, wait_until
from tests.e2e.test_accessibility import PHONE

PUSH_HOST = "push.corridor.test"  # a reserved name: only this test's servers know where it leads
SHOT = Path("/work/notes/shots/concern_push.png")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakePushService:
    """A browser vendor's push service, on 127.0.0.1 over HTTPS: records every message, answers 201."""

    def __init__(self, folder: Path):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, PUSH_HOST)])
        now = dt.datetime.now(dt.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(PUSH_HOST)]), critical=False)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        self.cert_file, key_file = folder / "push-service.pem", folder / "push-service.key"
        self.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        self.received: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                       "body": body})
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(self.cert_file, key_file)
        self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def to(self, path: str) -> list[dict]:
        return [m for m in self.received if m["path"] == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class PushServer(Server):
    """Its own server and SQLite database, allowing the fake's host in PUSH_SERVICE_HOSTS and trusting its
    certificate, with the network stood in for by tests/e2e/fake_push_network.py."""

    def __init__(self, data_dir: Path, service: FakePushService):
        self.port = _free_port()
        url = f"http://localhost:{self.port}"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8", "TMPDIR": str(data_dir), "CORRIDOR_DATA_DIR": str(data_dir),
            "DATABASE_URL": f"sqlite:///{data_dir / 'push.sqlite3'}", "PUBLIC_URL": url,
            "SECRET_KEY": secrets.token_urlsafe(36), "HOST": "127.0.0.1", "AUTH_RATE_LIMIT_PER_MINUTE": "1000",
            "PUSH_SERVICE_HOSTS": PUSH_HOST, "SSL_CERT_FILE": str(service.cert_file),
        }
        super().__init__(url=url, env=env, db_path=data_dir / "push.sqlite3", admin_link="")
        self.corridor("migrate")
        self.corridor("seed-demo", "--pupils", "10")
        self.log = open(data_dir / "server.log", "w")  # noqa: SIM115  (the server writes to it)
        self.proc = subprocess.Popen(
            [str(BIN / "python"), str(ROOT / "tests/e2e/fake_push_network.py"), PUSH_HOST, str(service.port),
             "serve", "--port", str(self.port)], env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_until_healthy(self.proc, self.port):
            self.close()
            pytest.fail("Corridor did not start:\n" + (data_dir / "server.log").read_text(), pytrace=False)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="module")
def push_service():
    # Under the run's browser folder with the prefix the CSP check reads server logs from.
    folder = Path(tempfile.mkdtemp(prefix="corridor-e2e-push-"))
    service = FakePushService(folder)
    server = PushServer(folder, service)
    yield service, server
    server.close()
    service.close()
    shutil.rmtree(folder, ignore_errors=True)


class Phone:
    """A member of staff's phone (its own browser context, notifications allowed), enrolled and signed in."""

    def __init__(self, browser: Browser, server: Server, *roles: str, prefix: str):
        self.context = browser.new_context(base_url=server.url, viewport=PHONE)
        self.context.grant_permissions(["notifications"], origin=server.url)
        self.page: Page = self.context.new_page()
        Authenticator(self.page)
        self.email, self.name = fresh_email(prefix.lower()), f"{prefix} {uuid.uuid4().hex[:6].upper()}"
        enrol(self.page, server.invite(self.email, *roles, name=self.name), self.name)
        wait_for_control(self.page)
        self.path = f"/push/{uuid.uuid4().hex}"  # where the fake push service keeps this device's messages

    def subscribe(self, endpoint: str) -> dict:
        """What pushManager.subscribe() makes (a P-256 key pair and a 16-byte auth secret for this endpoint),
        sent to the app's subscribe route from the signed-in page, with its CSRF token, as static/js/push.js
        does. Returns the route's answer."""
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        public = self.private.public_key().public_bytes(serialization.Encoding.X962,
                                                        serialization.PublicFormat.UncompressedPoint)
        subscription = {"endpoint": endpoint, "expirationTime": None,
                        "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}
        return self.page.evaluate("""async (subscription) => {
          const csrf = document.querySelector('meta[name="csrf-token"]').content;
          const response = await fetch("/notifications/push/subscribe", {
            method: "POST", credentials: "same-origin",
            headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
            body: JSON.stringify(subscription) });
          return { status: response.status, text: await response.text() };
        }""", subscription)

    def decrypt(self, message: dict) -> str:
        return http_ece.decrypt(message["body"], private_key=self.private, auth_secret=self.auth,
                                version="aes128gcm").decode()

    def shown_notifications(self) -> list[dict]:
        return self.page.evaluate("""async () => {
          const registration = await navigator.serviceWorker.ready;
          return (await registration.getNotifications()).map(
            (n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data }));
        }""")


def deliver_to_service_worker(phone: Phone, server: Server, data: str) -> list[dict]:
    """Hand a push message to the phone's service worker as its push service would (DevTools' "Push"), and
    wait until the worker has handled it. Returns what DevTools' Background Services saw of it."""
    cdp = phone.context.new_cdp_session(phone.page)
    registrations: list[dict] = []
    seen: list[dict] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.on("BackgroundService.backgroundServiceEventReceived",
           lambda event: seen.append(event["backgroundServiceEvent"]))
    cdp.send("ServiceWorker.enable")
    for service in ("pushMessaging", "notifications"):
        cdp.send("BackgroundService.startObserving", {"service": service})
        cdp.send("BackgroundService.setRecording", {"shouldRecord": True, "service": service})

    def registration() -> dict | None:
        phone.page.evaluate("1")  # lets Playwright take in the events that have arrived
        return next((r for r in registrations if r["scopeURL"] == server.url + "/" and not r["isDeleted"]), None)

    wait_until(registration)
    cdp.send("ServiceWorker.deliverPushMessage",
             {"origin": server.url, "registrationId": registration()["registrationId"], "data": data})
    # Only then may the test ask the page for notifications: Chromium can drop a notification from
    # getNotifications() when asked while it is still being shown (about one fresh phone in fifteen, in runs
    # of this test on a busy machine).
    wait_until(lambda: phone.page.evaluate("1") and any(e["eventName"] == "Push event completed" for e in seen))
    return [{"service": e["service"], "event": e["eventName"],
             **{m["key"]: m["value"] for m in e["eventMetadata"]}} for e in seen]


def test_a_new_concern_wakes_the_dsls_phone_and_names_no_pupil(browser: Browser, push_service):
    service, server = push_service
    pupil = query(server, "SELECT id, legal_first_name, legal_last_name, preferred_first_name, preferred_last_name "
                          "FROM pupil WHERE left_on IS NULL ORDER BY id LIMIT 1")[0]
    pupil_names = {n for n in pupil[1:] if n}
    assert pupil_names

    dsl = Phone(browser, server, "staff", "dsl", prefix="Dee")
    bystander = Phone(browser, server, "staff", "responder", "pastoral", prefix="Bo")  # every role but the DSL's
    endpoint = f"https://{PUSH_HOST}"

    # The app's own checks still apply: a plain-http endpoint, even to the allowed host, is refused.
    refused = dsl.subscribe(f"http://{PUSH_HOST}{dsl.path}")
    assert refused["status"] == 400 and "not an https address" in refused["text"]
    for phone in (dsl, bystander):
        answer = phone.subscribe(endpoint + phone.path)
        assert answer["status"] == 200 and json.loads(answer["text"]) == {"subscribed": True}, answer
    assert query(server, "SELECT count(*) FROM push_subscription WHERE endpoint LIKE ?", endpoint + "/%")[0][0] == 2

    author = Phone(browser, server, "staff", prefix="Tia")
    words = f"Dad gets angry {uuid.uuid4().hex[:8]}"
    author.page.goto(f"/concerns/new?pupil={pupil[0]}")
    author.page.get_by_label("What did you see or hear? (facts)").fill("Bruise on her wrist, noticed at registration.")
    author.page.get_by_label("The child's own words, if they told you something").fill(words)
    author.page.get_by_role("button", name="Send to the DSL").click()
    expect(author.page.get_by_role("heading", name="Concern sent")).to_be_visible()
    expect(author.page.locator("#alerted")).to_have_text("The DSL team (1 person) has been alerted.")
    concern_id = query(server, "SELECT id FROM concern WHERE childs_words = ?", words)[0][0]

    # Pushes are sent before the receipt is answered: the DSL's phone has had one, the bystander's none.
    wait_until(lambda: service.to(dsl.path))
    assert len(service.to(dsl.path)) == 1 and service.to(bystander.path) == []
    assert len(service.received) == 1
    message = service.to(dsl.path)[0]
    headers = message["headers"]
    # Signed with the server's VAPID key (RFC 8292) for this push service; kept by it for five minutes at most.
    vapid_key = dsl.page.evaluate("async () => (await (await fetch('/notifications/push/key')).json()).key")
    fields = dict(part.strip().split("=", 1) for part in headers["authorization"].removeprefix("vapid ").split(","))
    assert headers["authorization"].startswith("vapid ") and fields["k"] == vapid_key
    claims = json.loads(base64.urlsafe_b64decode(fields["t"].split(".")[1] + "=="))
    assert claims["aud"] == f"https://{PUSH_HOST}"
    assert headers["content-encoding"] == "aes128gcm" and headers["ttl"] == "300"
    assert headers["urgency"] == "high"  # a concern is delivered at once, not batched by a phone saving battery

    # Only the DSL's phone can read it, and it names no pupil and none of what was said.
    plain = dsl.decrypt(message)
    assert json.loads(plain) == {"title": "Safeguarding", "body": "New safeguarding concern",
                                 "url": f"/concerns/{concern_id}"}
    for secret in (*pupil_names, words, "Bruise"):
        assert secret.lower() not in plain.lower()

    # On the phone: the service worker shows it, and tapping it opens the concern (not the pupil).
    assert dsl.shown_notifications() == []
    handled = deliver_to_service_worker(dsl, server, plain)
    assert {"service": "pushMessaging", "event": "Push event completed", "Status": "Success"} in handled, handled
    assert {"service": "notifications", "event": "Notification displayed", "Title": "Safeguarding",
            "Body": "New safeguarding concern"} in handled, handled
    [shown] = dsl.shown_notifications()
    assert shown["title"] == "Safeguarding" and shown["body"] == "New safeguarding concern"
    assert shown["data"] == {"url": f"/concerns/{concern_id}"} and shown["tag"] == f"/concerns/{concern_id}"
    for secret in pupil_names:
        assert secret.lower() not in json.dumps(shown).lower()

    # The header's unread count says 1 when the DSL's page is loaded again, and on the list of concerns.
    dsl.page.reload()
    expect(dsl.page.locator("#alert-count")).to_have_text("1")
    dsl.page.goto("/concerns/")
    expect(dsl.page.locator("#alert-count")).to_have_text("1")
    expect(dsl.page.locator("#alert-count")).to_be_visible()
    SHOT.parent.mkdir(parents=True, exist_ok=True)
    dsl.page.screenshot(path=str(SHOT))
    assert len(service.received) == 1  # opening the app's pages sent no other push anywhere

    dsl.page.goto(shown["data"]["url"])
    expect(dsl.page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Concern C-"))
    expect(dsl.page.get_by_text(words)).to_be_visible()
    for phone in (dsl, bystander, author):
        phone.context.close()
