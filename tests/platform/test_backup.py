"""`corridor backup` and `corridor restore` (issue 17, point 3), run as commands against the database the tests use
(SQLite or PostgreSQL): a backup taken while incidents are being written restores into a new database holding every
incident acknowledged before the backup began, with an intact audit chain and a passkey sign-in that works; a
damaged, cut or wrongly keyed archive restores nothing; restore never overwrites a database; old archives are pruned.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from app import backup
from app.domain.accounts import service as accounts
from app.domain.audit.service import Origin
from tests.conftest import enrol, passkey_sign_in
from tests.outbox.conftest import incident, new_key, replay_post
from tests.incidents.conftest import school  # noqa: F401  (the cast's school with categories and pupils)


def _corridor(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=300)


async def _corridor_async(*args: str, **env: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "app.cli", *args, env={**os.environ, **env},
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    return proc.returncode, out.decode()


@pytest.fixture
def new_database():
    """The URL of a new, empty database of the kind the tests use (dropped afterwards)."""
    url = os.environ["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        folder = Path(tempfile.mkdtemp(prefix="corridor-restore-"))
        yield f"sqlite:///{folder / 'restored.sqlite3'}"
        return
    name = f"corridor_restore_{secrets.token_hex(4)}"
    env = {**os.environ, "PGDATABASE": "postgres"}
    parts = urlsplit(url)
    for var, value in (("PGHOST", parts.hostname), ("PGPORT", parts.port), ("PGUSER", parts.username),
                       ("PGPASSWORD", parts.password)):
        if value:
            env[var] = str(value)
    subprocess.run(["psql", "-XAtq", "-c", f'CREATE DATABASE "{name}"'], env=env, check=True, capture_output=True)
    yield parts._replace(path="/" + name).geturl()
    subprocess.run(["psql", "-XAtq", "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], env=env,
                   capture_output=True)


@pytest.fixture
def key_file(tmp_path) -> Path:
    path = tmp_path / "backup.key"
    backup.new_key(path)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(proc: subprocess.Popen, port: int, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def _rows(url: str, sql: str) -> list[str]:
    """One column of a query on another database than the one the tests are bound to."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as con:
            return [str(r[0]) for r in con.execute(sql)]
    done = subprocess.run(["psql", url, "-XAtq", "-c", sql], capture_output=True, text=True, check=True)
    return done.stdout.split()


async def test_a_backup_taken_while_writing_restores_every_acknowledged_record_and_a_working_sign_in(
        client, settings, school, authenticator, key_file, tmp_path, new_database):
    link = await accounts.issue_enrolment(settings, school.teacher.id, by=None, origin=Origin())
    assert (await enrol(client, authenticator, link)).status_code == 200  # signed in, with a passkey on file

    acknowledged: list[tuple[float, str]] = []
    stop = asyncio.Event()

    async def keep_logging() -> None:
        while not stop.is_set():
            key = new_key()
            response = await replay_post(client, "/incidents/", incident(school), key=key, person=school.teacher.id)
            assert response.status_code == 303, response.text
            acknowledged.append((time.monotonic(), key))
            await asyncio.sleep(0)

    writer = asyncio.create_task(keep_logging())
    while len(acknowledged) < 20:
        await asyncio.sleep(0.01)
    began = time.monotonic()
    code, out = await _corridor_async("backup", "--to", str(tmp_path / "archives"), BACKUP_KEY_FILE=str(key_file))
    deadline = time.monotonic() + 10
    while sum(at > began for at, _ in acknowledged) < 5 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)  # the writes carry on after the backup began
    stop.set()
    await writer
    assert code == 0, out
    [archive] = (tmp_path / "archives").glob("corridor-*.cbk")
    assert (tmp_path / "archives" / (archive.name + ".sha256")).read_text().split()[0] in out

    before = {key for at, key in acknowledged if at < began}
    assert len(before) >= 20 and any(at > began for at, _ in acknowledged)

    restored = _corridor("restore", str(archive), DATABASE_URL=new_database, BACKUP_KEY_FILE=str(key_file))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    keys = set(_rows(new_database, "SELECT key FROM idempotency_receipt"))
    assert before <= keys, f"{len(before - keys)} acknowledged incidents missing from the restored database"
    assert int(_rows(new_database, "SELECT count(*) FROM incident")[0]) >= len(before)
    assert _rows(new_database, "SELECT action FROM audit_event ORDER BY id DESC LIMIT 1") == ["backup.restored"]
    verified = _corridor("audit", "verify", DATABASE_URL=new_database)
    assert verified.returncode == 0 and verified.stdout.startswith("OK:"), verified.stdout + verified.stderr

    # Sign in to the restored copy with the passkey enrolled before the backup.
    port = _free_port()
    log = tmp_path / "restored-server.log"
    with log.open("w") as out_file:
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                                env={**os.environ, "DATABASE_URL": new_database, "PUBLIC_URL": "http://localhost:8000"},
                                stdout=out_file, stderr=subprocess.STDOUT)
        try:
            assert _healthy(proc, port), log.read_text()
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as there:
                signed_in = await passkey_sign_in(there, authenticator)
                assert signed_in.status_code == 200, signed_in.text
                assert "Hello, Tara Teacher" in (await there.get("/")).text
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def _sqlite_with_rows(path: Path) -> str:
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE migration (id INTEGER PRIMARY KEY, name TEXT)")
        con.execute("INSERT INTO migration (name) VALUES ('m1')")
        con.execute("CREATE TABLE note (body TEXT)")
        con.executemany("INSERT INTO note VALUES (?)", [(f"synthetic note {i}",) for i in range(5000)])
    return f"sqlite:///{path}"


def _made(tmp_path: Path, key: bytes) -> Path:
    source = _sqlite_with_rows(tmp_path / "source.sqlite3")
    made = backup.backup(source, to=tmp_path / "out", key=key, keep_days=0, now=dt.datetime.now(dt.timezone.utc),
                         work_dir=tmp_path / "work")
    return made.path


def _restore(archive: Path, key: bytes, tmp_path: Path) -> Path:
    target = tmp_path / f"target-{secrets.token_hex(3)}.sqlite3"
    backup.restore(archive, key=key, database_url=f"sqlite:///{target}", work_dir=tmp_path / "work")
    return target


def test_an_archive_round_trips_and_holds_no_plain_text(tmp_path):
    key = backup.read_key(_key(tmp_path))
    archive = _made(tmp_path, key)
    assert b"synthetic note" not in archive.read_bytes()
    assert not list((tmp_path / "work").iterdir()), "the plaintext snapshot was left behind"
    target = _restore(archive, key, tmp_path)
    with sqlite3.connect(target) as con:
        assert con.execute("SELECT count(*) FROM note").fetchone()[0] == 5000


def _key(tmp_path: Path) -> Path:
    path = tmp_path / f"k-{secrets.token_hex(3)}"
    backup.new_key(path)
    return path


def _rewrite_digest(archive: Path) -> None:
    import hashlib

    (archive.parent / (archive.name + ".sha256")).write_text(
        f"{hashlib.sha256(archive.read_bytes()).hexdigest()}  {archive.name}\n")


@pytest.mark.parametrize("damage, message", [
    ("flip", "does not match its digest"),
    ("flip and re-digest", "altered"),
    ("cut and re-digest", "cut short"),
    ("wrong key", "does not open with this key"),
    ("no digest", "missing"),
])
def test_a_damaged_or_wrongly_keyed_archive_restores_nothing(tmp_path, damage, message):
    key = backup.read_key(_key(tmp_path))
    archive = _made(tmp_path, key)
    data = bytearray(archive.read_bytes())
    if damage.startswith("flip"):
        data[len(data) // 2] ^= 0x01
        archive.write_bytes(bytes(data))
    elif damage.startswith("cut"):
        archive.write_bytes(bytes(data[: len(data) - 40]))
    elif damage == "wrong key":
        key = backup.read_key(_key(tmp_path))
    elif damage == "no digest":
        (archive.parent / (archive.name + ".sha256")).unlink()
    if "re-digest" in damage:
        _rewrite_digest(archive)
    target = tmp_path / "target.sqlite3"
    with pytest.raises(backup.BackupError, match=message):
        backup.restore(archive, key=key, database_url=f"sqlite:///{target}", work_dir=tmp_path / "work")
    assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".restore-")], "a half-restored file was left"


def test_restore_never_overwrites_a_database(tmp_path):
    key = backup.read_key(_key(tmp_path))
    archive = _made(tmp_path, key)
    existing = tmp_path / "existing.sqlite3"
    with sqlite3.connect(existing) as con:
        con.execute("CREATE TABLE kept (x)")
    with pytest.raises(backup.BackupError, match="already holds a database"):
        backup.restore(archive, key=key, database_url=f"sqlite:///{existing}", work_dir=tmp_path / "work")
    with sqlite3.connect(existing) as con:
        assert [r[0] for r in con.execute("SELECT name FROM sqlite_master")] == ["kept"]


def test_the_command_refuses_without_a_key_and_says_how_to_make_one(tmp_path):
    done = _corridor("backup", "--to", str(tmp_path / "out"), BACKUP_KEY_FILE="")
    assert done.returncode != 0
    assert "corridor backup --new-key" in done.stderr and not (tmp_path / "out").exists()
    again = _corridor("backup", "--new-key", str(tmp_path / "k"))
    assert again.returncode == 0 and oct((tmp_path / "k").stat().st_mode)[-3:] == "600"
    first = (tmp_path / "k").read_text()
    refused = _corridor("backup", "--new-key", str(tmp_path / "k"))
    assert refused.returncode != 0 and "never overwritten" in refused.stderr
    assert (tmp_path / "k").read_text() == first
    (tmp_path / "bad").write_text("not a key\n")
    bad = _corridor("backup", "--to", str(tmp_path / "out"), "--key-file", str(tmp_path / "bad"))
    assert bad.returncode != 0 and "is not a Corridor backup key" in bad.stderr


def test_archives_older_than_the_retention_are_pruned_and_no_others(tmp_path):
    key = backup.read_key(_key(tmp_path))
    out = tmp_path / "out"
    out.mkdir()
    now = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.timezone.utc)
    names = {age: f"corridor-sqlite-{(now - dt.timedelta(days=age)):%Y%m%dT%H%M%SZ}.cbk" for age in (1, 29, 31, 90)}
    for name in names.values():
        (out / name).write_bytes(b"old")
        (out / (name + ".sha256")).write_text("x")
    (out / "holiday-photos.zip").write_bytes(b"not ours")
    source = _sqlite_with_rows(tmp_path / "s.sqlite3")

    made = backup.backup(source, to=out, key=key, keep_days=30, now=now, work_dir=tmp_path / "work")

    assert sorted(p.name for p in made.pruned) == sorted([names[31], names[90]])
    left = {p.name for p in out.iterdir()}
    assert {names[1], names[29], made.path.name, "holiday-photos.zip"} <= left
    assert not {names[31], names[90], names[31] + ".sha256", names[90] + ".sha256"} & left
    kept_all = backup.backup(source, to=out, key=key, keep_days=0, now=now + dt.timedelta(days=400),
                             work_dir=tmp_path / "work")
    assert kept_all.pruned == ()


def test_the_command_names_no_pupil_in_its_output(tmp_path, key_file):
    done = _corridor("backup", "--to", str(tmp_path / "a"), BACKUP_KEY_FILE=str(key_file))
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"Backed up to \S+corridor-(sqlite|postgres)-\d{8}T\d{6}Z\.cbk \([\d,]+ bytes\), SHA-256 "
                        r"[0-9a-f]{64}\n", done.stdout), done.stdout
