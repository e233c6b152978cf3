"""The README's "Installing Corridor for your school", run as a school would on a fresh SQLite database:
migrate, setup, import a OneRoster 1.1 export (accented and apostrophised names), invite a DSL and a teacher,
serve on a port of its own (no PUBLIC_URL: the links follow the port), then on a 390x844 phone the first
admin enrols with the printed link, finds a pupil typed without accents and sees the invited people."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import BIN, ROOT, SHOTS, Authenticator, _free_port, enrol, wait_until_healthy
from tests.imports.files import oneroster_zip, upn, user

PHONE = {"width": 390, "height": 844}


def export_with_irish_and_diacritic_names() -> bytes:
    """A synthetic OneRoster 1.1 bulk export of one school (DfE number 801/4001): never real pupils."""
    return oneroster_zip(
        orgs=[["ORG1", "", "", "Northbridge Academy", "school", "8014001", ""]],
        users=[
            user("S1", "student", "Siobhán", "Ní Bhriain", ident=upn(1), grades="07"),
            user("S2", "student", "Liam", "O'Connor", ident=upn(2), grades="07"),
            user("S3", "student", "Zoë", "Brontë", ident=upn(3), grades="09"),
            user("T1", "teacher", "Tess", "Tutor", email="tess.tutor@northbridge.sch.uk"),
        ],
        classes=[["K7A", "", "", "Form 7A", "07", "", "7A", "homeroom", "", "ORG1", "", "", "", ""],
                 ["K9B", "", "", "Form 9B", "09", "", "9B", "homeroom", "", "ORG1", "", "", "", ""]],
        enrollments=[["E1", "", "", "K7A", "ORG1", "S1", "student", "", "", ""],
                     ["E2", "", "", "K7A", "ORG1", "S2", "student", "", "", ""],
                     ["E3", "", "", "K9B", "ORG1", "S3", "student", "", "", ""]],
        demographics=[["S1", "", "", "2014-10-02", "female"], ["S2", "", "", "2014-03-11", "male"],
                      ["S3", "", "", "2012-05-12", "female"]],
    )


class FreshInstall:
    def __init__(self) -> None:
        # Under the browser tests' folder with this prefix, so the CSP check reads this server's log too.
        self.data_dir = Path(tempfile.mkdtemp(prefix="corridor-e2e-fresh-"))
        self.port = _free_port()
        self.url = f"http://localhost:{self.port}"
        # Only what the README's commands set: no SECRET_KEY (made once in the data folder), no PUBLIC_URL.
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
                    "LANG": "C.UTF-8", "TMPDIR": str(self.data_dir), "CORRIDOR_DATA_DIR": str(self.data_dir),
                    "DATABASE_URL": f"sqlite:///{self.data_dir / 'corridor.sqlite3'}"}

    def corridor(self, *args: str, **env: str) -> str:
        done = subprocess.run([str(BIN / "corridor"), *args], env={**self.env, **env}, cwd=ROOT, capture_output=True,
                              text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, f"corridor {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout


@pytest.fixture
def fresh():
    install = FreshInstall()
    yield install
    shutil.rmtree(install.data_dir, ignore_errors=True)


def test_it_goes_from_a_fresh_install_to_a_signed_in_admin_with_pupils(fresh: FreshInstall, browser: Browser):
    port = str(fresh.port)
    fresh.corridor("migrate")
    set_up = fresh.corridor("setup", "--school", "Northbridge Academy", "--admin", "head@northbridge.sch.uk",
                            "--admin-name", "Hana Head", "--urn", "137452", "--laestab", "801/4001",
                            "--phase", "secondary", PORT=port)
    admin_link = re.search(r"(http://localhost:\d+/enrol/\S+)", set_up).group(1)
    assert admin_link.startswith(fresh.url + "/enrol/"), set_up

    export = fresh.data_dir / "oneroster.zip"
    export.write_bytes(export_with_irish_and_diacritic_names())
    dry_run = fresh.corridor("import", str(export))
    assert "Dry run: nothing has changed" in dry_run and "3 added" in dry_run, dry_run
    applied = fresh.corridor("import", str(export), "--apply")
    assert "Applied:" in applied and "3 added" in applied, applied

    for email, roles, name in (("dsl@northbridge.sch.uk", ("dsl", "staff"), "Dee Lead"),
                               ("teacher@northbridge.sch.uk", ("staff",), "Tara Teacher")):
        link = fresh.corridor("invite", email, *[a for r in roles for a in ("--role", r)], "--name", name,
                              PORT=port).strip()
        assert link.startswith(fresh.url + "/enrol/"), link

    # `corridor serve --port` alone: neither PORT nor PUBLIC_URL, yet passkeys are made for this origin.
    log = open(fresh.data_dir / "server.log", "w")
    server = subprocess.Popen([str(BIN / "corridor"), "serve", "--port", port], env=fresh.env, cwd=ROOT,
                              stdout=log, stderr=subprocess.STDOUT)
    context = None
    try:
        assert wait_until_healthy(server, fresh.port), (fresh.data_dir / "server.log").read_text()
        context = browser.new_context(viewport=PHONE)
        page = context.new_page()
        Authenticator(page)

        enrol(page, admin_link, "Hana Head")

        page.goto(fresh.url + "/pupils/")
        page.get_by_label("Name, form, year or UPN").press_sequentially("siobhan ni bh", delay=30)
        found = page.locator("#result-list").get_by_role("link", name=re.compile("Siobhán Ní Bhriain"))
        expect(found).to_be_visible()
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "fresh-install-lookup.png"), full_page=True)
        found.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Siobhán Ní Bhriain")

        page.goto(fresh.url + "/pupils/")
        page.get_by_label("Name, form, year or UPN").press_sequentially("oconnor", delay=30)
        expect(page.locator("#result-list").get_by_role("link", name=re.compile("Liam O'Connor"))).to_be_visible()

        page.goto(fresh.url + "/admin/people")
        people = page.locator("#people")
        for name in ("Hana Head", "Dee Lead", "Tara Teacher"):
            expect(people.get_by_role("link", name=name)).to_be_visible()
        page.screenshot(path=str(SHOTS / "fresh-install-people.png"), full_page=True)
    finally:
        if context is not None:
            context.close()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
