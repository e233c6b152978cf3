"""The fixed cast, real databases and an HTTP client for the unit and integration tests.

The database is SQLite by default, or PostgreSQL when CORRIDOR_TEST_DATABASE_URL names one
(tools/run_tests.sh runs the suite once on each). Migrations run forward once per session; every test
starts from empty tables.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

_tmp = Path(tempfile.mkdtemp(prefix="corridor-tests-"))
_url = os.environ.get("CORRIDOR_TEST_DATABASE_URL", "sqlite")
os.environ["CORRIDOR_DATA_DIR"] = str(_tmp)
os.environ["DATABASE_URL"] = f"sqlite:///{_tmp / 'test.sqlite3'}" if _url == "sqlite" else _url
os.environ["SECRET_KEY"] = secrets.token_urlsafe(48)
os.environ["PUBLIC_URL"] = "http://localhost:8000"
for _name in ("SESSION_IDLE_MINUTES", "SESSION_ABSOLUTE_HOURS", "ENROLMENT_LINK_HOURS", "AUTH_RATE_LIMIT_PER_MINUTE"):
    os.environ.pop(_name, None)

import httpx  # noqa: E402
import pytest  # noqa: E402

from app import clock, db  # noqa: E402
from app.domain.accounts import service as accounts  # noqa: E402
from app.domain.audit.service import Origin  # noqa: E402
from app.domain.audit.tables import AuditEvent  # noqa: E402
from app.domain.schools import service as schools  # noqa: E402
from app.main import create_app  # noqa: E402
from app.piccolo_app import TABLES  # noqa: E402
from app.settings import Settings  # noqa: E402
from tests.softauthn import SoftAuthenticator  # noqa: E402

BASE_URL = "http://localhost:8000"


def pytest_report_header(config):
    return f"corridor test database: {os.environ['DATABASE_URL'].split('@')[-1]}"


@pytest.fixture(scope="session")
async def database():
    settings = Settings.from_env()
    await db.migrate(settings.database_url)
    engine = db.bind(settings.database_url)
    if settings.is_postgres:
        await engine.start_connection_pool(min_size=1, max_size=10)
    yield engine
    if settings.is_postgres:
        await engine.close_connection_pool()
    await db.close(engine)


# Every table emptied, children first. On PostgreSQL as one script in one round trip: a statement a table (85 of
# them) took 0.2-0.8 s after every test on a busy machine, the script 0.02-0.05 s.
# PostgreSQL's audit entries waiting to be chained (audit_unsealed, not a Piccolo table) go first.
_EMPTY_ALL = "; ".join(["DELETE FROM audit_unsealed"]
                       + [f'DELETE FROM "{table._meta.tablename}"' for table in reversed(TABLES)])


@pytest.fixture(autouse=True)
async def clean(database):
    yield
    pool = getattr(TABLES[0]._meta.db, "pool", None)  # the engine the tables use now, as Table.delete would
    if pool is not None:
        async with pool.acquire() as connection:
            await connection.execute(_EMPTY_ALL)
        return
    for table in reversed(TABLES):
        await table.delete(force=True)


@pytest.fixture
def settings(database) -> Settings:
    return Settings.from_env()


def http_client(app, base_url: str = BASE_URL) -> httpx.AsyncClient:
    """An HTTP client calling the app in this event loop (Litestar's test client would use another loop,
    which an asyncpg pool cannot be shared with). The database pool is the session's, so no lifespan."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url, follow_redirects=True)


# One app per settings for the whole run: building one (Litestar checks the signatures of 470 handlers) cost
# 0.25-0.5 s, more than most tests, and the client fixture is in most of them. What an app keeps between
# requests is put back before each test: the services wired to it, no rate-limit counts, no shared renders
# (ids repeat once the tables are emptied). A test that needs other settings makes its own app.
_APPS: dict[Settings, object] = {}


async def fresh_app(settings: Settings):
    app = _APPS.get(settings)
    if app is None:
        app = _APPS[settings] = create_app(settings)
    app.state.wire()
    app.state.pop("live_shared", None)
    await app.stores.get("rate_limit").delete_all()
    return app


@pytest.fixture
async def client(settings):
    async with http_client(await fresh_app(settings)) as c:
        yield c


class Clock:
    """The clock is a true boundary: tests move it instead of sleeping."""

    def __init__(self, monkeypatch):
        self.current = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        monkeypatch.setattr(clock, "now", lambda: self.current)

    def advance(self, **kwargs) -> None:
        self.current += dt.timedelta(**kwargs)


@pytest.fixture
def frozen_clock(monkeypatch) -> Clock:
    return Clock(monkeypatch)


@dataclass
class Member:
    id: int
    email: str
    name: str
    school_id: int


@dataclass
class Cast:
    school_id: int
    other_school_id: int
    teacher: Member
    responder: Member
    pastoral: Member
    head_of_year: Member
    dsl: Member
    admin: Member
    guest: Member
    outsider: Member  # an admin at another trust's school


async def _member(email: str, name: str, school_id: int, roles: list[str]) -> Member:
    pid = await schools.add_person(email=email, display_name=name, school_id=school_id, roles=roles, actor=None,
                                   origin=Origin(ip="test"))
    return Member(pid, email, name, school_id)


@pytest.fixture
async def cast(database) -> Cast:
    school = await schools.create_trust_with_school(
        trust_name="Northbridge Trust", trust_slug="northbridge", school_name="Northbridge Academy",
        school_slug="northbridge", la_code="801", establishment_number="4001")
    other = await schools.create_trust_with_school(
        trust_name="Elsewhere Trust", trust_slug="elsewhere", school_name="Elsewhere High",
        school_slug="elsewhere", la_code="802", establishment_number="4002")
    return Cast(
        school_id=school, other_school_id=other,
        teacher=await _member("teacher@northbridge.example", "Tara Teacher", school, ["staff"]),
        responder=await _member("responder@northbridge.example", "Ravi Responder", school, ["staff", "responder"]),
        pastoral=await _member("pastoral@northbridge.example", "Pat Pastoral", school, ["staff", "pastoral"]),
        head_of_year=await _member("hoy@northbridge.example", "Hana Head", school, ["staff", "head_of_year"]),
        dsl=await _member("dsl@northbridge.example", "Dee Lead", school, ["staff", "dsl"]),
        admin=await _member("admin@northbridge.example", "Ada Admin", school, ["admin", "staff"]),
        guest=await _member("cover@northbridge.example", "Gus Guest", school, ["guest"]),
        outsider=await _member("admin@elsewhere.example", "Otto Outsider", other, ["admin", "staff"]),
    )


@pytest.fixture
async def sister(cast) -> dict:
    """School B of the same trust as the cast's school A, with its own admin, and a trust-level admin."""
    from app.domain.schools.tables import School

    trust = (await School.select(School.trust).where(School.id == cast.school_id).first())["trust"]
    school = School(trust=trust, name="Northbridge Juniors", slug="northbridge-juniors", la_code="801",
                    establishment_number="4003", created_at=clock.now())
    await school.save()
    admin = await _member("admin@juniors.example", "Bea Admin", school.id, ["admin", "staff"])
    trust_admin_id = await schools.add_person(email="ceo@northbridge.example", display_name="Tess Trust",
                                              school_id=cast.school_id, roles=["admin"], actor=None,
                                              origin=Origin(ip="test"), trust_wide=True)
    return {"school_id": school.id, "admin": admin,
            "trust_admin": Member(trust_admin_id, "ceo@northbridge.example", "Tess Trust", cast.school_id)}


async def sign_in(client: httpx.AsyncClient, settings: Settings, member: Member) -> str:
    """Give the client a real server-side session for a member (passkey ceremonies are tested separately)."""
    token = await accounts._create_session(settings, member.id, member.email, Origin(ip="test"), "pytest")
    client.cookies.set(settings.session_cookie, token)
    return token


async def give_passkey(member: Member) -> None:
    """Enrolled: a passkey on file, so Corridor can alert this person (the ceremonies are tested separately)."""
    from app.domain.accounts.tables import Passkey

    await Passkey.insert(Passkey(person=member.id, credential_id=secrets.token_urlsafe(16), public_key="test",
                                 name="Test phone", created_at=clock.now()))


async def csrf(client: httpx.AsyncClient, path: str = "/signin") -> str:
    """Load a page to get the CSRF cookie, and return the token to send back."""
    response = await client.get(path)
    match = re.search(r'name="csrf-token" content="([^"]+)"', response.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


async def post_form(client: httpx.AsyncClient, path: str, data: dict | None = None, *, page: str = "/") -> object:
    token = await csrf(client, page)
    return await client.post(path, data={**(data or {}), "_csrf_token": token})


async def post_json(client: httpx.AsyncClient, path: str, body: dict | None = None, *, page: str = "/signin"):
    token = await csrf(client, page)
    return await client.post(path, json=body or {}, headers={"x-csrftoken": token, "accept": "application/json"})


async def audit_actions(**where) -> list[str]:
    rows = await AuditEvent.select(AuditEvent.action).order_by(AuditEvent.id)
    return [r["action"] for r in rows]


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator(origin=BASE_URL)


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


async def enrol(client: httpx.AsyncClient, authenticator: SoftAuthenticator, link: str, name: str = "Work phone"):
    """Run the enrolment ceremony over HTTP as a browser would; returns the final response."""
    path = "/enrol/" + token_of(link)
    options = await post_json(client, path + "/options", page=path)
    assert options.status_code == 200, options.text
    credential = authenticator.create(options.json()["publicKey"])
    return await post_json(client, path, {"key": options.json()["key"], "credential": credential, "name": name},
                           page=path)


async def passkey_sign_in(client: httpx.AsyncClient, authenticator: SoftAuthenticator, **forge):
    options = await post_json(client, "/auth/signin/options")
    assert options.status_code == 200, options.text
    credential = authenticator.get(options.json()["publicKey"], **forge)
    return await post_json(client, "/auth/signin", {"key": options.json()["key"], "credential": credential})


async def add_pupil(school_id: int, first: str, last: str, *, year: str = "9", form: str = "9A", **fields) -> int:
    """A synthetic pupil for a test, in a tutor group made on demand."""
    import datetime as dt

    from app.domain.pupils.service import mark_changed
    from app.domain.pupils.tables import Pupil, TutorGroup

    group = await TutorGroup.select(TutorGroup.id).where(
        (TutorGroup.school == school_id) & (TutorGroup.name == form)).first()
    if group:
        group_id = group["id"]
    else:
        tg = TutorGroup(school=school_id, name=form, year_code=year, tutor_name=fields.pop("tutor_name", ""))
        await tg.save()
        group_id = tg.id
    count = await Pupil.count()
    pupil = Pupil(school=school_id, mis_id=f"T{count + 1}", upn=fields.pop("upn", f"X{count + 1:012d}"),
                  legal_first_name=first, legal_last_name=last, date_of_birth=fields.pop("dob", dt.date(2012, 3, 4)),
                  year_code=year, tutor_group=group_id, created_at=clock.now(), **fields)
    await pupil.save()
    await mark_changed(school_id)
    return pupil.id
