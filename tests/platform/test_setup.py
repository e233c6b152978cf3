"""`corridor setup`: a real school sets itself up (its trust, the school, its first admin) without the demo.

Run as a real process against the test database (SQLite or PostgreSQL), as an office would run it; the
prompts are answered through a real pseudo-terminal.
"""

import os
import pty
import re
import subprocess
import sys

import pytest

from app import clock
from app.domain.accounts.tables import EnrolmentToken, Passkey
from app.domain.audit.service import CLI
from app.domain.audit.tables import AuditEvent
from app.domain.incidents.tables import Category, Location
from app.domain.oncall import service as oncall
from app.domain.oncall.tables import OnCallReason, OnDuty, RotaOverride, RotaSlot
from app.domain.pupils.tables import Pupil
from app.domain.schools import service as schools
from app.domain.schools.tables import Membership, Person, School, Trust
from app.piccolo_app import TABLES
from tests.conftest import BASE_URL

SCHOOL = ["--school", "St Mary's C of E Primary", "--admin", "Head@StMarys.sch.uk", "--admin-name", "Hana Head"]


def corridor(*args: str, stdin=subprocess.DEVNULL, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True,
                          env=env or os.environ.copy(), stdin=stdin, timeout=60)


def link_in(output: str) -> str | None:
    found = re.search(r"(http://localhost:\d+/enrol/\S+)", output)
    return found.group(1) if found else None


async def rows_everywhere() -> dict[str, int]:
    return {table._meta.tablename: await table.count() for table in TABLES}


async def test_it_sets_up_the_trust_the_school_and_its_first_admin_with_a_working_link(client):
    result = corridor("setup", *SCHOOL, "--urn", "137452", "--laestab", "801/4001", "--phase", "All through")
    assert result.returncode == 0, result.stderr

    school = await School.select().first()
    trust = await Trust.select().where(Trust.id == school["trust"]).first()
    assert (school["name"], school["slug"], school["urn"]) == ("St Mary's C of E Primary", "st-marys-c-of-e-primary",
                                                               "137452")
    assert (school["la_code"], school["establishment_number"], school["phase"]) == ("801", "4001", "all-through")
    assert trust["name"] == "St Mary's C of E Primary"  # a school on its own is a trust of one
    admin = await Person.select().where(Person.email == "head@stmarys.sch.uk").first()
    assert admin["display_name"] == "Hana Head"
    assert await schools.roles_at(admin["id"], school["id"]) == {"admin", "staff"}
    trust_wide = await Membership.select(Membership.role).where(
        (Membership.person == admin["id"]) & Membership.school.is_null() & (Membership.trust == trust["id"]))
    assert [m["role"] for m in trust_wide] == ["admin"]
    # The school starts with the defaults a school needs, never with demo people.
    assert await Category.count().where(Category.school == school["id"]) > 0
    assert await Location.count().where(Location.school == school["id"]) > 0
    assert await OnCallReason.count().where(OnCallReason.school == school["id"]) > 0
    assert "school.set_up" in [a["action"] for a in await AuditEvent.select(AuditEvent.action)]

    link = link_in(result.stdout)
    assert link and link.startswith(BASE_URL + "/enrol/"), result.stdout
    page = await client.get(link.removeprefix(BASE_URL))
    assert page.status_code == 200 and "Welcome, Hana Head" in page.text


async def test_it_changes_nothing_when_run_twice_and_says_so():
    first = corridor("setup", *SCHOOL, "--urn", "137452")
    assert first.returncode == 0, first.stderr
    before = await rows_everywhere()

    again = corridor("setup", *SCHOOL, "--urn", "137452")
    assert again.returncode == 0, again.stderr
    assert "already set up" in again.stdout and "nothing was changed" in again.stdout
    after = await rows_everywhere()
    # Only the fresh link (while the admin has not signed in) is new: a token, and its audit entry.
    assert {k: v for k, v in after.items() if k not in ("enrolment_token", "audit_event")} == \
           {k: v for k, v in before.items() if k not in ("enrolment_token", "audit_event")}
    fresh = link_in(again.stdout)
    assert fresh and fresh != link_in(first.stdout)
    assert await EnrolmentToken.count().where(EnrolmentToken.revoked_at.is_null()) == 1  # the first stops working


async def test_it_prints_no_new_link_once_the_admin_has_a_passkey():
    assert corridor("setup", *SCHOOL).returncode == 0
    admin = await Person.select(Person.id).first()
    await Passkey.insert(Passkey(person=admin["id"], credential_id="cred", public_key="key", name="Phone",
                                 created_at=clock.now()))
    tokens = await EnrolmentToken.count()

    again = corridor("setup", *SCHOOL)
    assert again.returncode == 0, again.stderr
    assert link_in(again.stdout) is None and "corridor invite head@stmarys.sch.uk" in again.stdout
    assert await EnrolmentToken.count() == tokens


@pytest.mark.parametrize("args, field", [
    (["--school", "   ", "--admin", "head@school.sch.uk"], "--school"),
    (["--school", "Northbridge Academy", "--admin", "head.school.sch.uk"], "--admin"),
    (["--school", "Northbridge Academy", "--admin", "head@school"], "--admin"),
    (["--school", "Northbridge Academy", "--admin", "head@school.sch.uk", "--admin-name", ""], "--admin-name"),
    (["--school", "Northbridge Academy", "--admin", "head@school.sch.uk", "--trust", " "], "--trust"),
    (["--school", "Northbridge Academy", "--admin", "head@school.sch.uk", "--urn", "13745"], "--urn"),
    (["--school", "Northbridge Academy", "--admin", "head@school.sch.uk", "--urn", "13745X"], "--urn"),
    (["--school", "Northbridge Academy", "--admin", "head@school.sch.uk", "--laestab", "801400"], "--laestab"),
    (["--school", "Northbridge Academy", "--admin", "head@school.sch.uk", "--laestab", "801/40011"], "--laestab"),
    (["--school", "Northbridge Academy", "--admin", "head@school.sch.uk", "--phase", "college"], "--phase"),
    (["--school", "N" * 201, "--admin", "head@school.sch.uk"], "--school"),
])
async def test_it_refuses_bad_input_naming_the_field_and_writes_nothing(args, field):
    result = corridor("setup", *args)
    assert result.returncode != 0
    assert f"{field}:" in result.stderr and "nothing was changed" in result.stderr
    assert set((await rows_everywhere()).values()) == {0}


async def test_it_names_every_bad_field_at_once():
    result = corridor("setup", "--school", "", "--admin", "nobody", "--urn", "1", "--laestab", "2", "--phase", "x")
    assert result.returncode != 0
    for field in ("--school", "--admin", "--urn", "--laestab", "--phase"):
        assert f"{field}:" in result.stderr
    assert set((await rows_everywhere()).values()) == {0}


async def test_it_asks_for_nothing_without_a_terminal_and_names_the_missing_flags():
    result = corridor("setup", "--urn", "137452")
    assert result.returncode != 0
    assert "--school" in result.stderr and "--admin" in result.stderr
    assert set((await rows_everywhere()).values()) == {0}


async def test_it_leaves_nothing_behind_when_a_step_fails_midway():
    async def broken_defaults(school_id: int) -> None:
        raise RuntimeError("the disk is full")

    with pytest.raises(RuntimeError):
        await schools.set_up_school(school="Northbridge Academy", admin="head@northbridge.sch.uk", origin=CLI,
                                    defaults=(broken_defaults,))
    assert set((await rows_everywhere()).values()) == {0}


async def test_it_asks_at_a_terminal_for_what_the_flags_did_not_give():
    controller, terminal = pty.openpty()
    answers = ["Northbridge Academy", "not-an-email", "head@northbridge.sch.uk", "Hana Head", "", "12345", "137452",
               ""]
    try:
        os.write(controller, "".join(a + "\n" for a in answers).encode())
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "setup", "--phase", "secondary"], stdin=terminal,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(terminal)
        os.close(controller)
    assert proc.returncode == 0, err
    assert "The school's name:" in out and "The first admin's email address:" in out
    assert "Enter an email address like" in out and "A URN is 6 digits" in out  # asked again, not refused
    assert "The phase" not in out  # given as a flag
    school = await School.select().first()
    assert (school["name"], school["urn"], school["la_code"], school["phase"]) == (
        "Northbridge Academy", "137452", "", "secondary")
    assert (await Trust.select(Trust.name).first())["name"] == "Northbridge Academy"
    assert (await Person.select(Person.display_name).first())["display_name"] == "Hana Head"
    assert link_in(out)


async def test_a_fresh_setup_has_no_person_but_the_admin_and_no_rota():
    assert corridor("setup", *SCHOOL, "--urn", "137452").returncode == 0
    school = await School.select(School.id).first()
    assert [p["email"] for p in await Person.select(Person.email)] == ["head@stmarys.sch.uk"]
    assert await Pupil.count() == 0
    for table in (RotaSlot, RotaOverride, OnDuty):
        assert await table.count() == 0, table
    # Nobody to alert until the school names its responders: no fake responder fills the gap.
    assert await oncall.on_call(school["id"], None) == set()
    assert not await Membership.exists().where(Membership.role.is_in(["dsl", "responder", "pastoral",
                                                                      "head_of_year"]))


async def test_the_demo_is_only_there_when_seeded():
    assert corridor("setup", *SCHOOL).returncode == 0
    assert await Person.count() == 1
    assert corridor("seed-demo", "--pupils", "5").returncode == 0
    assert await Person.count() > 1 and await RotaSlot.count() > 0  # the demo's people and rota, on request


async def test_it_refuses_another_admin_for_a_school_already_set_up():
    assert corridor("setup", *SCHOOL, "--urn", "137452").returncode == 0
    before = await rows_everywhere()
    other = corridor("setup", "--school", "St Mary's C of E Primary", "--admin", "someone@else.sch.uk",
                     "--urn", "137452")
    assert other.returncode != 0 and "--admin:" in other.stderr and "already set up" in other.stderr
    assert link_in(other.stdout) is None
    assert await rows_everywhere() == before


async def test_a_second_school_is_its_own_trust_and_the_first_admin_has_no_role_there():
    assert corridor("setup", *SCHOOL, "--urn", "137452", "--trust", "Lakeside Trust").returncode == 0
    # Another school of the same name elsewhere (many St Mary's): its own URN, its own trust and admin.
    second = corridor("setup", "--school", "St Mary's C of E Primary", "--admin", "head@stmarys-two.sch.uk",
                      "--urn", "100001")
    assert second.returncode == 0, second.stderr
    slugs = sorted(s["slug"] for s in await School.select(School.slug))
    assert slugs == ["st-marys-c-of-e-primary", "st-marys-c-of-e-primary-2"]
    first_admin = await Person.select(Person.id).where(Person.email == "head@stmarys.sch.uk").first()
    other_school = await School.select(School.id).where(School.urn == "100001").first()
    assert await schools.roles_at(first_admin["id"], other_school["id"]) == frozenset()


async def test_it_refuses_an_existing_trusts_name_or_another_trusts_admin():
    assert corridor("setup", *SCHOOL, "--urn", "137452", "--trust", "Lakeside Trust").returncode == 0
    before = await rows_everywhere()
    same_trust = corridor("setup", "--school", "Lakeside High", "--admin", "head@lakeside.sch.uk",
                          "--trust", "lakeside trust")
    assert same_trust.returncode != 0 and "--trust:" in same_trust.stderr
    their_admin = corridor("setup", "--school", "Elsewhere High", "--admin", "head@stmarys.sch.uk")
    assert their_admin.returncode != 0 and "--admin:" in their_admin.stderr
    assert await rows_everywhere() == before
