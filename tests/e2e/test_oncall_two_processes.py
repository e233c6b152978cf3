"""Two `corridor serve` processes on one PostgreSQL database: an on-call raised through one reaches a board
connected to the other (live updates over PostgreSQL LISTEN/NOTIFY)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import BIN, ROOT, SHOTS, Authenticator, _free_port, enrol, shard_database, wait_until_healthy
from tests.e2e.test_accessibility import PHONE

PG_URL = shard_database(os.environ.get("PG_E2E_URL", "postgres://postgres@127.0.0.1:5432/corridor_e2e_mp"))


@pytest.fixture(scope="module")
def two_servers():
    # A fresh database each run (this also tells whether PostgreSQL is there at all).
    fresh = subprocess.run([str(BIN / "python"), str(ROOT / "tools/pg_test_db.py"), PG_URL], capture_output=True,
                           text=True)
    if fresh.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is required under CI=true for the two-process on-call test: " + fresh.stderr)
        pytest.skip("PostgreSQL is not reachable: the two-process on-call test did not run (" + fresh.stderr.strip() + ")")
    ports = [_free_port(), _free_port()]
    data_dir = Path(tempfile.mkdtemp(prefix="corridor-e2e-mp-"))
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8", "CORRIDOR_DATA_DIR": str(data_dir), "DATABASE_URL": PG_URL,
            "SECRET_KEY": secrets.token_urlsafe(36), "LIVE_BACKEND": "postgres", "HOST": "127.0.0.1"}
    # Both answer to the first address for passkeys; cookies on localhost are shared across ports.
    env = {**base, "PUBLIC_URL": f"http://localhost:{ports[0]}"}
    subprocess.run([str(BIN / "corridor"), "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run([str(BIN / "corridor"), "seed-demo", "--pupils", "20"], env=env, cwd=ROOT, check=True,
                   capture_output=True)
    procs = []
    for port in ports:
        log = open(data_dir / f"server-{port}.log", "w")
        procs.append(subprocess.Popen([str(BIN / "corridor"), "serve", "--port", str(port)], env=env, cwd=ROOT,
                                      stdout=log, stderr=subprocess.STDOUT))
    for proc, port in zip(procs, ports):
        assert wait_until_healthy(proc, port), (data_dir / f"server-{port}.log").read_text()

    def invite(email: str, *roles: str, name: str) -> str:
        args = [a for r in roles for a in ("--role", r)]
        done = subprocess.run([str(BIN / "corridor"), "invite", email, *args, "--name", name], env=env, cwd=ROOT,
                              capture_output=True, text=True, check=True)
        return done.stdout.strip()

    try:
        yield [f"http://localhost:{p}" for p in ports], invite
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def responder_and_teacher(browser: Browser, first: str, invite) -> dict:
    """A responder and a teacher, each enrolled with a passkey in their own phone-sized browser."""
    pages = {}
    for who, roles in (("responder", ("staff", "responder")), ("teacher", ("staff",))):
        context = browser.new_context(base_url=first, viewport=PHONE)
        page = context.new_page()
        Authenticator(page)
        name = f"{who.title()} {uuid.uuid4().hex[:6].upper()}"
        enrol(page, invite(f"{who}-{uuid.uuid4().hex[:8]}@oakfield.example", *roles, name=name), name)
        pages[who] = page
    return pages


def test_a_request_raised_on_one_process_reaches_a_board_on_the_other(browser: Browser, two_servers):
    (first, second), invite = two_servers
    pages = responder_and_teacher(browser, first, invite)

    board = pages["responder"]
    board.goto(f"{first}/oncall/board")  # connected to process one
    board.wait_for_timeout(500)
    teacher = pages["teacher"]
    teacher.goto(f"{second}/oncall/new")  # raising through process two
    teacher.get_by_label("Where you are").select_option(index=1)
    teacher.get_by_role("button", name="Safeguarding").click()
    expect(teacher.get_by_role("heading", name="On-call request")).to_be_visible()
    assert teacher.url.startswith(second)
    request_id = re.search(r"/oncall/(\d+)$", teacher.url).group(1)
    expect(board.locator(f"#oncall-{request_id}")).to_be_visible(timeout=10_000)


def test_a_board_reopened_on_the_other_process_stays_live(browser: Browser, two_servers):
    """Reloading a board (and the "I'm on duty now" tap, which reloads it) on process B must not stop process B
    from delivering requests raised on process A: the replaced stream's clean-up must not undo the new one's."""
    (first, second), invite = two_servers
    pages = responder_and_teacher(browser, first, invite)

    board = pages["responder"]
    errors = []
    board.on("console", lambda message: message.type == "error" and errors.append(message.text))
    board.goto(f"{second}/oncall/board")
    board.wait_for_timeout(500)
    board.reload()
    board.wait_for_timeout(500)
    on_duty = board.get_by_role("button", name=re.compile("on duty now", re.I))
    if on_duty.count():
        on_duty.first.click()
        board.wait_for_load_state()
    board.wait_for_timeout(500)
    assert board.url.startswith(second)
    teacher = pages["teacher"]
    for round_ in range(2):
        teacher.goto(f"{first}/oncall/new")
        teacher.get_by_label("Where you are").select_option(index=1 + round_)
        teacher.get_by_role("button", name="Safeguarding").click()
        expect(teacher.get_by_role("heading", name="On-call request")).to_be_visible()
        request_id = re.search(r"/oncall/(\d+)$", teacher.url).group(1)
        expect(board.locator(f"#oncall-{request_id}")).to_be_visible(timeout=10_000)
        board.reload()  # and once more after a reload
        board.wait_for_timeout(500)
    # A board reloaded and not yet tapped does not try to vibrate (the browser refuses, with a console error).
    assert errors == []


def test_a_claim_on_one_process_and_a_cancel_on_the_other_show_live_across_them(browser: Browser, two_servers):
    """The steps of a request (each one statement on PostgreSQL) reach the other process's open pages: a claim made
    on process B shows on the teacher's page on A, and the teacher's cancel on A on the responder's page on B."""
    (first, second), invite = two_servers
    pages = responder_and_teacher(browser, first, invite)
    teacher, responder = pages["teacher"], pages["responder"]
    teacher.goto(f"{first}/oncall/new")
    teacher.get_by_label("Where you are").select_option(index=1)
    teacher.get_by_role("button", name="Safeguarding").click()
    expect(teacher.get_by_role("heading", name="On-call request")).to_be_visible()
    request_id = re.search(r"/oncall/(\d+)$", teacher.url).group(1)
    teacher.wait_for_timeout(500)  # its stream connected to process A

    responder.goto(f"{second}/oncall/{request_id}")
    responder.get_by_role("button", name="I'll take it").click()
    expect(responder.locator(f"#oncall-{request_id} .state")).to_contain_text("claimed")
    assert responder.url.startswith(second)
    expect(teacher.locator(f"#oncall-{request_id} .state")).to_contain_text("claimed", timeout=10_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    teacher.screenshot(path=str(SHOTS / "oncall-two-processes-claimed.png"), full_page=True)

    responder.wait_for_timeout(500)  # the responder's page, reloaded by the claim, streams from process B again
    teacher.get_by_role("button", name="Sorted: no longer needed").click()
    expect(teacher.locator(f"#oncall-{request_id} .state")).to_have_text("Cancelled")
    assert teacher.url.startswith(first)
    expect(responder.locator(f"#oncall-{request_id} .state")).to_have_text("Cancelled", timeout=10_000)
    responder.screenshot(path=str(SHOTS / "oncall-two-processes-cancelled.png"), full_page=True)
