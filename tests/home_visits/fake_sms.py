"""A stand-in SMS gateway on a real socket (the gateway is a true boundary): a small HTTP server on 127.0.0.1 that
records every request (path, headers, body) and answers with the status it is told to. Used for GOV.UK Notify
(POST /v2/notifications/sms) and the generic webhook alike. Run on its own thread, or on its own as a process
(`python -m tests.home_visits.fake_sms <file>`: prints its port, appends each request to <file> as a JSON line)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SERVICE_ID = "26785a09-ab16-4eb0-8407-a37497a57506"
SECRET = "3d844edf-8d35-48ac-975b-e847b4f122b0"
API_KEY = f"corridor_test-{SERVICE_ID}-{SECRET}"
TEMPLATE_ID = "f33517ff-2a88-4f6e-b855-c550268ce08a"
WEBHOOK_SECRET = "w" * 40


class FakeGateway:
    def __init__(self, record_to: Path | None = None) -> None:
        self.requests: list[dict] = []
        self.status = 201
        self.record_to = record_to
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body.decode()}
                gateway.requests.append(seen)
                if gateway.record_to:
                    with gateway.record_to.open("a") as f:
                        f.write(json.dumps(seen) + "\n")
                answer = json.dumps({"id": "740e5834-3a29-46b4-9a6f-16142fde533a"}).encode()
                self.send_response(gateway.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeGateway:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def bodies(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]


def notify_env(url: str, key_file: Path) -> dict:
    key_file.write_text(API_KEY + "\n")
    return {"SMS_GATEWAY": "notify", "NOTIFY_API_KEY_FILE": str(key_file), "NOTIFY_SMS_TEMPLATE_ID": TEMPLATE_ID,
            "NOTIFY_BASE_URL": url}


def webhook_env(url: str, secret_file: Path) -> dict:
    secret_file.write_text(WEBHOOK_SECRET)
    return {"SMS_GATEWAY": "webhook", "SMS_WEBHOOK_URL": url + "/sms", "SMS_WEBHOOK_SECRET_FILE": str(secret_file)}


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def check_notify_jwt(authorization: str) -> dict:
    """The claims of a Notify bearer token, after checking it as Notify does: HS256 under the key's secret."""
    scheme, token = authorization.split(" ", 1)
    assert scheme == "Bearer"
    header, claims, signature = token.split(".")
    assert json.loads(_unb64(header)) == {"typ": "JWT", "alg": "HS256"}
    expected = hmac.new(SECRET.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    assert hmac.compare_digest(_unb64(signature), expected), "the JWT is not signed with the API key's secret"
    return json.loads(_unb64(claims))


if __name__ == "__main__":
    fake = FakeGateway(Path(sys.argv[1]))
    print(fake.port, flush=True)
    fake.server.serve_forever()
