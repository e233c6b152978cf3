"""A property-based fuzzer over every route of the app: no server errors, and a refused request writes nothing.

The routes come from the app's own route table, so a new endpoint is fuzzed without editing this file. Each
unsafe route gets fuzzed forms, multipart and JSON bodies (hostile ids, non-ASCII digits, repeated fields,
NUL bytes, very long strings, odd dates) with a valid session and CSRF token for one of several roles, and its
path parameters fuzzed too; each GET route gets fuzzed path parameters and query strings. Live streams never
end, so their bodies are not read here: test_it_opens_live_streams_with_hostile_resume_points covers them.

The budget is fixed (derandomised Hypothesis, a set number of examples per route) and its size is printed in
the terminal summary (tests/security/conftest.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, seed, settings as hsettings
from hypothesis import strategies as st
from litestar.response import ServerSentEvent
from webauthn.helpers import bytes_to_base64url

from app.domain.accounts import service as accounts
from app.domain.audit.service import Origin
from app.domain.audit.tables import AuditEvent
from app.domain.accounts.tables import Challenge
from app.domain.incidents.service import ensure_defaults as incident_defaults
from app.domain.incidents.tables import Category, Location
from app.domain.oncall import service as oncall
from app.domain.oncall.tables import OnCallReason, RotaSlot
from app.domain.schools import service as schools
from app.domain.schools.tables import Person
from app.main import create_app
from app.piccolo_app import TABLES
from app.settings import Settings
from tests.conftest import BASE_URL, add_pupil, csrf, enrol, http_client
from tests.softauthn import SoftAuthenticator

EXAMPLES_PER_ROUTE = 16
ROLES = ("teacher", "guest", "dsl", "admin", "anonymous")

# Rows a refusal may legitimately write or remove:
# - the audit log: a failed sign-in (`signin.failed`) and refusals are recorded on purpose (ASVS V16);
# - WebAuthn challenges: single use, so a failed ceremony consumes (deletes) the challenge it was given.
MAY_CHANGE_ON_REFUSAL = {AuditEvent._meta.tablename, Challenge._meta.tablename}

STATS = {"routes": set(), "requests": 0, "refused": 0, "streams": 0}

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "app" / "templates"
# Every form field any page sends, so the fuzzer speaks the app's own vocabulary.
FIELD_NAMES = sorted({m for p in TEMPLATES.rglob("*.html") for m in re.findall(r'name="([A-Za-z_][\w-]*)"', p.read_text())}
                     - {"_csrf_token", "csrf-token", "viewport", "description"})
# The JSON bodies' vocabulary (passkey ceremonies, push subscriptions).
JSON_NAMES = ["key", "credential", "name", "endpoint", "keys", "p256dh", "auth", "expirationTime", "id", "rawId",
              "type", "response", "clientDataJSON", "authenticatorData", "signature", "userHandle",
              "attestationObject"]
NOT_QUERY = {"request", "actor", "settings", "origin", "channels", "data", "self"}

HOSTILE_INTS = [0, -1, 1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, 10**30, -(2**63) - 1]
HOSTILE_TEXT = ["", " ", "0", "-1", "1.5", "1e9", str(2**63 - 1), str(2**63), str(2**64), str(10**30), "²", "١٢",
                "１２", "Ⅻ", "\x00", "1\x00", "a\x00b", "x" * 5000, "é" * 3000, "null", "[]", "{}", "yes", "on", "no",
                "0001-01-01", "9999-12-31", "0001-01-01T00:00", "9999-12-31T23:59", "2026-02-30", "2026-13-01",
                "-2026-01-01", "1970-01-01T00:00:00+99:00", "25:99", "00:00", "23:59", "9", "13", "N1", "R", "staff",
                "admin", "dsl", "<script>alert(1)</script>", "=HYPERLINK(\"x\")", "../../etc/passwd", "%00", "\ud7ff",
                "https://127.0.0.1/x", "https://push.example/x"]
HOSTILE_NAMES = ["role_²", "role_١", "category_１２", f"role_{2**64}", f"category_{2**63}", "role_", "x\x00", "a" * 300]


@dataclass
class World:
    settings: Settings
    cast: dict
    ids: list[int] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)
    credential_id: str = ""
    clients: dict[tuple[int, str], tuple[httpx.AsyncClient, str]] = field(default_factory=dict)


async def _seed(settings: Settings) -> World:
    school = await schools.create_trust_with_school(
        trust_name="Fuzz Trust", trust_slug="fuzz", school_name="Fuzz Academy", school_slug="fuzz",
        la_code="803", establishment_number="4003")
    other = await schools.create_trust_with_school(
        trust_name="Other Trust", trust_slug="other", school_name="Other High", school_slug="other",
        la_code="804", establishment_number="4004")
    people = {}
    for name, roles, at in (("teacher", ["staff"], school), ("guest", ["guest"], school),
                            ("dsl", ["staff", "dsl", "responder"], school), ("admin", ["admin", "staff"], school),
                            ("outsider", ["admin", "staff"], other)):
        people[name] = await schools.add_person(email=f"{name}@fuzz.example", display_name=name.title(),
                                                school_id=at, roles=roles, actor=None, origin=Origin(ip="test"))
    await incident_defaults(school)
    await oncall.ensure_defaults(school)
    pupil = await add_pupil(school, "Ava", "Okafor")
    elsewhere = await add_pupil(other, "Eve", "Elsewhere")
    await RotaSlot.insert(RotaSlot(school=school, person=people["dsl"], weekday=0, starts="00:00", ends="23:59", tier=1))
    world = World(settings=settings, cast={"school": school, "other": other, **people, "pupil": pupil})
    # Real records, so fuzzed requests also reach the code behind the "not found" checks.
    app = create_app(settings)
    async with http_client(app) as client:
        await _session(world, client, "dsl")
        token = await csrf(client, "/incidents/new")
        category = (await Category.select(Category.id).where(Category.school == school).first())["id"]
        location = (await Location.select(Location.id).where(Location.school == school).first())["id"]
        reason = (await OnCallReason.select(OnCallReason.id).where(OnCallReason.school == school).first())["id"]
        await client.post("/incidents/", data={"_csrf_token": token, "pupil_id": pupil, "role": "instigator",
                                               "category_id": category, "location_id": location, "note": "fuzz"})
        await client.post("/oncall/", data={"_csrf_token": token, "location_id": location, "reason_id": reason,
                                             "urgency": "urgent"})
        await client.post("/concerns/", data={"_csrf_token": token, "pupil_id": pupil, "seen_or_said": "fuzz",
                                              "childs_words": "fuzz"})
        authenticator = SoftAuthenticator(origin=BASE_URL)
        link = await accounts.issue_enrolment(settings, people["teacher"], by=None, origin=Origin(ip="test"))
        assert (await enrol(client, authenticator, link)).status_code == 200
        # A registered credential: malformed sign-ins for it reach the verification, not just the lookup.
        world.credential_id = bytes_to_base64url(next(iter(authenticator.credentials)))
    found = set()
    for table in TABLES:
        found.update(r["id"] for r in await table.select(table.id).limit(3))
    world.ids = sorted(found | {elsewhere, pupil, category, location, reason})[:40]
    world.strings = [r["reference"] for r in await _references()] + ["fuzz", "0" * 64]
    return world


async def _references() -> list[dict]:
    from app.domain.concerns.tables import Concern

    return await Concern.select(Concern.reference).limit(2)


async def _session(world: World, client: httpx.AsyncClient, role: str) -> None:
    person = world.cast[role]
    await Person.update({Person.disabled_at: None}).where(Person.id == person)
    token = await accounts._create_session(world.settings, person, f"{role}@fuzz.example", Origin(ip="test"), "pytest")
    client.cookies.set(world.settings.session_cookie, token)


async def _client(world: World, app, role: str) -> tuple[httpx.AsyncClient, str]:
    """A signed-in client for the role and its CSRF token; a new session if fuzzing ended the last one (a
    fuzzed sign-out, a session ended, the person disabled by a fuzzed admin)."""
    if (id(app), role) in world.clients:
        client, token = world.clients[(id(app), role)]
        if role == "anonymous" or await accounts.load_actor(
                world.settings, client.cookies.get(world.settings.session_cookie), Origin(ip="test")):
            return client, token
        await client.aclose()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL, follow_redirects=False)
    if role != "anonymous":
        await _session(world, client, role)
    world.clients[(id(app), role)] = client, await csrf(client, "/signin" if role == "anonymous" else "/account")
    return world.clients[(id(app), role)]


async def row_counts() -> dict[str, int]:
    """Every table's row count in one query."""
    names = [t._meta.tablename for t in TABLES]
    sql = "SELECT " + ", ".join(f'(SELECT COUNT(*) FROM "{n}") AS "{n}"' for n in names)
    row = (await TABLES[0].raw(sql))[0]
    return {n: int(row[n]) for n in names}


def _routes() -> list[tuple[str, str, object, object]]:
    app = create_app(Settings.from_env())
    found = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                found.append((method, route.path, route, handler))
    return found


ROUTES = _routes()


def _is_stream(handler) -> bool:
    annotation = handler.parsed_fn_signature.return_type.annotation
    return isinstance(annotation, type) and issubclass(annotation, ServerSentEvent)


def _query_names(route, handler) -> list[str]:
    return [n for n in handler.parsed_fn_signature.parameters if n not in NOT_QUERY and n not in route.path_parameters]


def scalar(world_strings: list[str], world_ids: list[int]):
    return st.one_of(
        st.sampled_from(HOSTILE_TEXT),
        st.sampled_from(HOSTILE_INTS + world_ids).map(str),
        st.sampled_from(world_strings),
        st.text(max_size=30),
    )


def form_value(strings, ids):
    return st.one_of(scalar(strings, ids), st.lists(scalar(strings, ids), min_size=2, max_size=3))


def json_value(strings, ids):
    leaf = st.one_of(st.none(), st.booleans(), st.sampled_from(HOSTILE_INTS + ids), st.floats(allow_nan=False),
                     scalar(strings, ids))
    return st.recursive(leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from(JSON_NAMES), inner, max_size=4)),
                        max_leaves=8)


def credential(world: World):
    """Passkey responses shaped like the real thing, for a registered credential, with hostile parts."""
    v = json_value(world.strings, world.ids)
    return st.fixed_dictionaries({"id": st.one_of(st.just(world.credential_id), v), "type": st.just("public-key")},
                                 optional={"rawId": v, "response": st.one_of(
                                     v, st.dictionaries(st.sampled_from(JSON_NAMES), v, max_size=5))})


def path_value(kind, world: World):
    if kind is int:
        return st.one_of(st.sampled_from(HOSTILE_INTS + world.ids), st.sampled_from(["１２", "²", "0x1"]))
    return st.one_of(st.sampled_from(HOSTILE_TEXT[:30] + world.strings), st.text(min_size=1, max_size=20))


def fill_path(path: str, values: dict[str, object]) -> str:
    for name, value in values.items():
        path = re.sub(r"\{" + name + r":[^}]+\}", quote(str(value), safe=""), path)
    return path


@st.composite
def request_of(draw, world: World, method: str, route, handler):
    params = {name: draw(path_value(p.type, world)) for name, p in route.path_parameters.items()}
    own = _query_names(route, handler)
    names = st.one_of(st.sampled_from(own), st.sampled_from(FIELD_NAMES)) if own else st.sampled_from(FIELD_NAMES)
    role = draw(st.sampled_from(ROLES))
    query = draw(st.dictionaries(st.one_of(names, st.sampled_from(HOSTILE_NAMES)),
                                 form_value(world.strings, world.ids), max_size=4))
    body: dict = {"kind": "none"}
    if method != "GET":
        kind = draw(st.sampled_from(["form", "form", "json", "multipart", "raw"]))
        if kind == "json":
            fields = draw(st.dictionaries(st.sampled_from(JSON_NAMES), json_value(world.strings, world.ids), max_size=4))
            if draw(st.booleans()):
                fields["credential"] = draw(credential(world))
            value = draw(st.one_of(st.just(fields), json_value(world.strings, world.ids)))
            body = {"kind": "json", "value": value}
        elif kind == "raw":
            body = {"kind": "raw", "value": draw(st.sampled_from([b"\xff\xfe", b"{", b"a=%zz&b", b"\x00" * 10, b"[1,"]))}
        else:
            fields = draw(st.dictionaries(st.one_of(names, st.sampled_from(HOSTILE_NAMES)),
                                          form_value(world.strings, world.ids), max_size=6))
            body = {"kind": kind, "value": fields}
    return {"role": role, "path": fill_path(route.path, params) if params else route.path, "query": query,
            "body": body, "idempotency": draw(st.sampled_from([None, "fuzz-key-1", "fuzz-key-2"]))}


async def send(client: httpx.AsyncClient, token: str, method: str, spec: dict) -> httpx.Response:
    headers = {"x-csrftoken": token}
    if spec["idempotency"]:
        headers["idempotency-key"] = spec["idempotency"]
    query = [(k, v) for k, vs in spec["query"].items() for v in (vs if isinstance(vs, list) else [vs])]
    body = spec["body"]
    kwargs: dict = {}
    if body["kind"] == "form":
        kwargs["data"] = {**body["value"], "_csrf_token": token}
    elif body["kind"] == "multipart":
        kwargs["data"] = {**body["value"], "_csrf_token": token}
        kwargs["files"] = {"file": ("fuzz.csv", b"upn,first\n\x00,\xff\n", "text/csv")}
    elif body["kind"] == "json":
        kwargs["content"] = json.dumps(body["value"]).encode()
        headers["content-type"] = "application/json"
        headers["accept"] = "application/json"
    elif body["kind"] == "raw":
        kwargs["content"] = body["value"]
        headers["content-type"] = "application/x-www-form-urlencoded"
    return await client.request(method, spec["path"], params=query, headers=headers, **kwargs)


# The fuzzing shares one seeded school across routes: fuzzed requests leave records behind, which only makes
# later routes' inputs richer. The suite's per-test cleaning is replaced by one clean-up at the end.
@pytest.fixture
async def clean():
    yield


@pytest.fixture(scope="module")
async def world(database):
    settings = Settings.from_env()
    built = await _seed(settings)
    yield built
    for client, _ in built.clients.values():
        await client.aclose()
    for table in reversed(TABLES):
        await table.delete(force=True)


FUZZED = [r for r in ROUTES if not _is_stream(r[3])]
APPS: dict[str, object] = {}


@pytest.mark.parametrize(("method", "path", "route", "handler"), FUZZED, ids=[f"{r[0]} {r[1]}" for r in FUZZED])
@seed(20261202)
@hsettings(max_examples=EXAMPLES_PER_ROUTE, derandomize=True, deadline=None, database=None,
           suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_it_answers_fuzzed_requests_without_server_errors_or_writes_on_refusal(world, method, path, route,
                                                                                     handler, data):
    # One app for all routes, but a fresh one for each sign-in route, so that its rate limit starts again.
    name = path if path.startswith(("/auth/", "/enrol/")) else "*"
    if name not in APPS:
        APPS[name] = create_app(world.settings)
    app = APPS[name]
    STATS["routes"].add((method, path))
    spec = data.draw(request_of(world, method, route, handler), label="request")
    client, token = await _client(world, app, spec["role"])
    before = await row_counts()
    response = await send(client, token, method, spec)
    STATS["requests"] += 1
    assert response.status_code < 500, f"{method} {spec} -> {response.status_code}"
    if 400 <= response.status_code < 500:
        STATS["refused"] += 1
        after = await row_counts()
        written = {t: (before[t], after[t]) for t in before if before[t] != after[t] and t not in MAY_CHANGE_ON_REFUSAL}
        assert not written, f"{method} {spec} -> {response.status_code} changed rows {written}"


async def first_messages(app, path: str, query: str, headers: dict[str, str], wait: float = 0.3) -> tuple[int, bool]:
    """Open a live stream for a moment: its status, and whether the app failed while starting it."""
    sent: list[dict] = []
    disconnect = asyncio.Event()

    async def receive():
        if not sent:
            return {"type": "http.request", "body": b"", "more_body": False}
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send_(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "client": ("127.0.0.1", 50000), "server": ("localhost", 8000), "state": {}}
    task = asyncio.create_task(app(scope, receive, send_))
    done, _ = await asyncio.wait({task}, timeout=wait)
    failed = bool(done) and task.exception() is not None
    if not done:
        disconnect.set()
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass
    starts = [m for m in sent if m["type"] == "http.response.start"]
    return (starts[0]["status"] if starts else 0), failed


RESUME_POINTS = ["-1", str(2**31), str(2**63), str(2**64), "9" * 5000, "²", "１２", "1" * 100_000]


@pytest.mark.parametrize(("path", "handler"), [(r[1], r[3]) for r in ROUTES if _is_stream(r[3])],
                         ids=[r[1] for r in ROUTES if _is_stream(r[3])])
async def test_it_opens_live_streams_with_hostile_resume_points(world, path, handler):
    # The memory channels backend: the PostgreSQL one needs the app's lifespan, which would close the test pool.
    app = create_app(dataclasses.replace(world.settings, live_backend="memory"))
    STATS["routes"].add(("GET", path))
    client, _ = await _client(world, app, "dsl")
    cookie = f"{world.settings.session_cookie}={client.cookies.get(world.settings.session_cookie)}"
    params = {p: world.ids[0] for p in re.findall(r"\{(\w+):", path)}
    for value in RESUME_POINTS:
        for header, query in ((value, ""), ("", f"after={quote(value)}")):
            headers = {"cookie": cookie, "accept": "text/event-stream", **({"last-event-id": header} if header else {})}
            status, failed = await first_messages(app, fill_path(path, params), query, headers)
            STATS["requests"] += 1
            STATS["streams"] += 1
            assert status < 500 and not failed, f"{path} Last-Event-ID={header[:20]!r} {query[:30]!r}: {status}"
