"""The `corridor` command, run as a real process against the test database."""

import os
import subprocess
import sys

from app.domain.accounts.tables import EnrolmentToken, Session
from app.domain.schools.service import roles_at
from app.domain.schools.tables import Person
from tests.conftest import sign_in


def corridor(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=60)


def test_help_explains_every_command():
    out = corridor("--help").stdout
    for command in ("serve", "migrate", "seed-demo", "setup", "invite", "revoke-sessions", "import", "purge",
                    "audit"):
        assert command in out
    assert "--port" in corridor("serve", "--help").stdout
    invite_help = " ".join(corridor("invite", "--help").stdout.split())
    assert "enrolment URL" in invite_help and "--school" in invite_help


async def test_invite_prints_a_single_use_link(cast, client):
    result = corridor("invite", "New.Person@northbridge.example", "--role", "staff", "--role", "responder",
                      "--school", "northbridge", "--name", "New Person")
    assert result.returncode == 0, result.stderr
    link = result.stdout.strip()
    assert link.startswith("http://localhost:8000/enrol/")
    person = await Person.select().where(Person.email == "new.person@northbridge.example").first()
    assert await roles_at(person["id"], cast.school_id) == {"staff", "responder"}
    assert await EnrolmentToken.count().where(EnrolmentToken.person == person["id"]) == 1
    page = await client.get(link.removeprefix("http://localhost:8000"))
    assert "Welcome, New Person" in page.text


async def test_invite_refuses_bad_input_and_changes_nothing(cast):
    before = await Person.count()
    assert corridor("invite", "x@northbridge.example", "--role", "wizard").returncode != 0
    no_school = corridor("invite", "x@northbridge.example", "--role", "staff")  # two schools: say which
    assert no_school.returncode != 0 and "--school" in no_school.stderr
    unknown = corridor("invite", "x@northbridge.example", "--role", "staff", "--school", "atlantis")
    assert unknown.returncode != 0 and "atlantis" in unknown.stderr
    assert await Person.count() == before


async def test_revoke_sessions_ends_every_session(cast, client, settings):
    await sign_in(client, settings, cast.teacher)
    result = corridor("revoke-sessions", cast.teacher.email)
    assert result.returncode == 0 and "Ended 1 session" in result.stdout
    assert await Session.count().where(Session.ended_at.is_null()) == 0
    assert corridor("revoke-sessions", "nobody@nowhere.example").returncode != 0


def test_migrate_on_a_fresh_database_says_plainly_what_it_did(tmp_path):
    """Piccolo's own lines ("👍 12 migrations already complete" on an empty database) are not shown."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}", "CORRIDOR_DATA_DIR": str(tmp_path)}
    first = subprocess.run([sys.executable, "-m", "app.cli", "migrate"], capture_output=True, text=True, env=env,
                           timeout=120)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Database updated: ") and "migrations applied" in first.stdout
    assert "already complete" not in first.stdout and first.stdout.isascii()
    again = subprocess.run([sys.executable, "-m", "app.cli", "migrate"], capture_output=True, text=True, env=env,
                           timeout=120)
    assert again.returncode == 0 and again.stdout.startswith("Database is already up to date") and "nothing to do" in again.stdout
    assert again.stdout.isascii()


def test_a_bad_setting_stops_the_command_naming_the_variable():
    env = {**os.environ, "SESSION_IDLE_MINUTES": "soon"}
    result = subprocess.run([sys.executable, "-m", "app.cli", "migrate"], capture_output=True, text=True, env=env)
    assert result.returncode != 0 and "SESSION_IDLE_MINUTES" in result.stderr
