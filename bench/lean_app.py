"""The physical line for the incident POST (issue 12): the app's POST cut to what it must do, with nothing between
the handler and SQLite.

Issue 12 measured "a lean handler with the same Litestar auth, CSRF and gzip and raw sqlite3 writes (durable,
synchronous=FULL)" at 1.0 ms of CPU for the incident, pupil and audit rows and 1.7-2.7 ms with 25 alert rows, and
called that the line the design has to get close to. This is that handler, measured in the same run as the app
(`lean` rows), so the incident POST's CPU and its floor ratio can be read against it:

- the app's own ServerTimingMiddleware, session-bound CSRF middleware (app/csrf.py, same secret and cookie names)
  and gzip configuration, on `corridor serve`'s uvicorn configuration (bench/serve_app.py);
- one sqlite3 connection on the event loop's thread (no ORM, no thread hand-off), WAL with synchronous=FULL and
  foreign keys on, as the app's;
- per POST the app's work on SQLite: the session (one statement), the form's choices with routing (the app's own
  statement, incidents/service.py `_CHOICES`), then one transaction: the incident, its pupils, the audit entry on
  the hash chain, the alert and its recipients, the idempotency receipt; COMMIT; 303 to the quick-entry page.

Not in it: the app's checks of every field, its messages and roles, the request's origin and rate limit, idempotent
replays, live delivery. So it is a lower bound the app cannot reach, not a rival design.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
from typing import Any

from litestar import Litestar, Request, get, post
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.exceptions import NotAuthorizedException, ValidationException
from litestar.middleware import DefineMiddleware
from litestar.response import Redirect

from app.csrf import SessionBoundCSRFMiddleware
from app.domain.incidents.service import _CHOICES, _CHOICES_PEOPLE, _CHOICES_PUPILS
from app.main import ServerTimingMiddleware
from app.settings import Settings

_db: sqlite3.Connection | None = None
_session_cookie = "corridor_session"
SESSION_SQL = """SELECT s.person, s.school FROM session s JOIN person p ON p.id = s.person
WHERE s.token_hash = ? AND s.ended_at IS NULL AND s.expires_at > ? AND p.disabled_at IS NULL"""


def _connection() -> sqlite3.Connection:
    global _db
    if _db is None:
        path = os.environ["DATABASE_URL"].removeprefix("sqlite:///")
        _db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        _db.execute("PRAGMA journal_mode = WAL")
        _db.execute("PRAGMA synchronous = FULL")
        _db.execute("PRAGMA foreign_keys = ON")
        _db.execute("PRAGMA busy_timeout = 15000")
    return _db


def _q(sql: str) -> str:
    return sql.replace("{}", "?")


@post("/incidents/", status_code=303)
async def record(request: Request) -> Redirect:
    db = _connection()
    now = str(dt.datetime.now(dt.UTC))  # as the app's SQLite rows hold timestamps
    token = request.cookies.get(_session_cookie, "")
    row = db.execute(SESSION_SQL, (hashlib.sha256(token.encode()).hexdigest(), now)).fetchone()
    if row is None:
        raise NotAuthorizedException()
    person, school = row
    form = await request.form()
    pupils = [int(v) for v in form.getall("pupil_id")]
    roles = form.getall("role")
    category, location = int(form["category_id"]), int(form["location_id"])
    key = form.get("idempotency_key", "")

    # The app's choices statement (categories, location, pupils on roll, who an entry is routed to).
    sql = _q(_CHOICES % "?") + _q(_CHOICES_PUPILS) + ", ".join("?" for _ in pupils) + ")" + _q(_CHOICES_PEOPLE % "?")
    rows = db.execute(sql, [school, category, school, location, school, *pupils, school, category]).fetchall()
    cats = {r[1]: r for r in rows if r[0] == "category"}
    years = {r[1]: r[7] for r in rows if r[0] == "pupil"}
    if category not in cats or len(years) != len(set(pupils)) or not any(r[0] == "location" for r in rows):
        raise ValidationException("not this school's")
    negative = cats[category][2] == "negative"
    told = {r[1] for r in rows if r[0] == "person" and negative and (
        r[2] == "pastoral" or (r[2] == "watcher" and r[6] == category)
        or (r[2] == "head_of_year" and (not r[7] or set(years.values()) & set(r[7].split(",")))))} - {person}

    db.execute("BEGIN IMMEDIATE")
    try:
        incident = db.execute(
            "INSERT INTO incident (school, location, occurred_at, note, recorded_by, recorded_at, version, outcome, "
            "deleted_at, deleted_by, deleted_reason) VALUES (?, ?, ?, ?, ?, ?, 1, '', NULL, NULL, '') RETURNING id",
            (school, location, now, form.get("note", ""), person, now)).fetchone()[0]
        status = "open" if negative else "resolved"
        db.executemany("INSERT INTO incident_pupil (incident, pupil, role, category, points, status, "
                       "exclusion_reasons, updated_at) VALUES (?, ?, ?, ?, ?, ?, '', ?)",
                       [(incident, p, r, category, cats[category][4], status, now) for p, r in zip(pupils, roles)])
        head = db.execute("SELECT entry_hash FROM audit_event ORDER BY id DESC LIMIT 1").fetchone()
        prev = head[0] if head else ""
        entry: dict[str, Any] = {"at": now, "actor": person, "action": "incident.created", "school": school,
                                 "subject_type": "incident", "subject_id": str(incident),
                                 "detail": json.dumps({"pupils": len(pupils)})}
        digest = hashlib.sha256((prev + json.dumps(entry, sort_keys=True)).encode()).hexdigest()
        db.execute("INSERT INTO audit_event (at, actor, actor_label, action, school, subject_type, subject_id, "
                   "subject_label, ip, detail, prev_hash, entry_hash) VALUES (?, ?, '', ?, ?, ?, ?, '', '', ?, ?, ?)",
                   (now, person, entry["action"], school, "incident", str(incident), entry["detail"], prev, digest))
        if told:
            alert = db.execute("INSERT INTO alert (school, kind, text, link, created_at) VALUES (?, ?, ?, ?, ?) "
                               "RETURNING id", (school, "incident.routed", "needs follow-up",
                                                f"/incidents/{incident}", now)).fetchone()[0]
            people = sorted(told)
            db.execute("INSERT INTO alert_recipient (alert, person, school) VALUES "  # nosec B608  # placeholders
                       + ", ".join("(?, ?, ?)" for _ in people), [v for p in people for v in (alert, p, school)])
        db.execute("INSERT INTO idempotency_receipt (key, person, request_hash, status_code, response_body, location, "
                   "created_at) VALUES (?, ?, '', '303', ?, '', ?)",
                   (key, person, json.dumps({"incident": incident}), now))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return Redirect(f"/incidents/new?logged={incident}", status_code=303)


@get("/healthz", media_type="text/plain", sync_to_thread=False)
def healthz() -> str:
    return "ok"


def create_app() -> Litestar:
    """The lean app on the database, secret and cookie names the app's settings give (DATABASE_URL: SQLite)."""
    global _db, _session_cookie
    settings = Settings.from_env()
    _db, _session_cookie = None, settings.session_cookie
    return Litestar(
        route_handlers=[record, healthz], openapi_config=None, debug=False,
        middleware=[ServerTimingMiddleware, DefineMiddleware(
            SessionBoundCSRFMiddleware, session_cookie=settings.session_cookie, config=CSRFConfig(
                secret=settings.secret_key, cookie_name=settings.csrf_cookie, cookie_secure=settings.secure_cookies,
                cookie_httponly=True, cookie_samesite="strict", header_name="x-csrftoken"))],
        compression_config=CompressionConfig(backend="gzip", gzip_compress_level=6, minimum_size=500))
