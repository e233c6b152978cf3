"""`corridor backup` and `corridor restore`: an encrypted, digest-checked archive of the whole database.

SQLite is copied through its online backup API (a consistent snapshot in one step while the app keeps serving: WAL
lets writers go on), then compressed; PostgreSQL through `pg_dump --format=custom`, restored with `pg_restore`.
Either way the bytes are encrypted before they touch the destination folder, which may be another disk or a
mounted off-site share that others can read.

The archive (`corridor-<engine>-<UTC time>.cbk`):

    MAGIC | header length (4 bytes) | header (JSON) | nonce prefix (8 bytes) | chunk...

and each chunk is `length (4 bytes) | last flag (1 byte) | AES-256-GCM ciphertext` with the nonce
`prefix | chunk number` and the header plus the flag as associated data: a chunk changed, moved, dropped or
added, a header altered or an archive cut short all fail to decrypt, so restore never builds a database from a
damaged archive. Beside it, `<archive>.sha256` in `sha256sum` format lets anyone (without the key) check a copy.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import sqlite3
import subprocess  # nosec B404  # pg_dump, pg_restore, psql: fixed arguments, never a shell
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"CORRIDOR-BACKUP\x01"
CHUNK = 1 << 20  # bytes of plaintext per chunk
FORMAT = 1
NAME = re.compile(r"^corridor-(sqlite|postgres)-(\d{8}T\d{6}Z)\.cbk$")


class BackupError(Exception):
    """Something a person can act on; the message says what."""


# --- the key ------------------------------------------------------------------------------------------------

def new_key(path: Path) -> None:
    """Write a fresh 256-bit key to PATH (readable by its owner only); never overwrite one."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BackupError(f"{path} already exists: a key is never overwritten (archives made with it would be "
                          "lost). Choose another path.") from None
    except OSError as exc:
        raise BackupError(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as f:
        f.write(base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode() + "\n")


def read_key(path: Path | None) -> bytes:
    if path is None:
        raise BackupError("no key: give --key-file PATH or set BACKUP_KEY_FILE (make one with "
                          "`corridor backup --new-key PATH`, and keep a copy away from the archives).")
    try:
        text = Path(path).read_text().strip()
    except OSError as exc:
        raise BackupError(f"the key file {path} cannot be read: {exc.strerror}") from None
    try:
        key = base64.urlsafe_b64decode(text.encode())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise BackupError(f"{path} is not a Corridor backup key (one line: 32 bytes in base64, as "
                          "`corridor backup --new-key` writes).")
    return key


# --- sealing and opening ------------------------------------------------------------------------------------

class _Sealer:
    """Encrypts a stream into the archive format, chunk by chunk, hashing what it writes."""

    def __init__(self, out: BinaryIO, key: bytes, header: dict) -> None:
        self.out, self.aead, self.digest = out, AESGCM(key), hashlib.sha256()
        self.header = json.dumps(header, sort_keys=True).encode()
        self.prefix = os.urandom(8)
        self.number = 0
        self.pending = bytearray()
        self._write(MAGIC + len(self.header).to_bytes(4, "big") + self.header + self.prefix)

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.digest.update(data)

    def _seal(self, plain: bytes, last: bool) -> None:
        flag = b"\x01" if last else b"\x00"
        nonce = self.prefix + self.number.to_bytes(4, "big")
        sealed = self.aead.encrypt(nonce, plain, self.header + flag)
        self._write(len(sealed).to_bytes(4, "big") + flag + sealed)
        self.number += 1

    def write(self, data: bytes) -> None:
        self.pending += data
        while len(self.pending) >= CHUNK:
            self._seal(bytes(self.pending[:CHUNK]), last=False)
            del self.pending[:CHUNK]

    def close(self) -> str:
        # Always a final chunk, flagged, even if empty: without it an archive cut at a chunk boundary would pass.
        self._seal(bytes(self.pending), last=True)
        self.pending.clear()
        return self.digest.hexdigest()


def _read_exact(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise BackupError("the archive is cut short or damaged.")
    return data


def _open(f: BinaryIO, key: bytes) -> tuple[dict, Iterator[bytes]]:
    if f.read(len(MAGIC)) != MAGIC:
        raise BackupError("this is not a Corridor backup archive.")
    header_bytes = _read_exact(f, int.from_bytes(_read_exact(f, 4), "big"))
    try:
        header = json.loads(header_bytes)
    except ValueError:
        raise BackupError("the archive's header is damaged.") from None
    if header.get("format") != FORMAT:
        raise BackupError(f"archive format {header.get('format')!r} is not one this version of Corridor reads.")
    prefix = _read_exact(f, 8)
    aead = AESGCM(key)

    def chunks() -> Iterator[bytes]:
        number = 0
        while True:
            size = f.read(4)
            if len(size) != 4:
                raise BackupError("the archive is cut short (its last part is missing).")
            flag = _read_exact(f, 1)
            sealed = _read_exact(f, int.from_bytes(size, "big"))
            try:
                yield aead.decrypt(prefix + number.to_bytes(4, "big"), sealed, header_bytes + flag)
            except InvalidTag:
                raise BackupError("the archive does not open with this key, or it has been altered.") from None
            number += 1
            if flag == b"\x01":
                if f.read(1):
                    raise BackupError("the archive has data after its end: it has been altered.")
                return

    return header, chunks()


def _sidecar(archive: Path) -> Path:
    return archive.with_name(archive.name + ".sha256")


def check_digest(archive: Path) -> str:
    """Compare the archive with the digest written beside it; the hex digest, or BackupError."""
    side = _sidecar(archive)
    try:
        expected = side.read_text().split()[0].lower()
    except (OSError, IndexError):
        raise BackupError(f"{side.name} is missing or empty: the archive cannot be checked.") from None
    h = hashlib.sha256()
    with archive.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    if h.hexdigest() != expected:
        raise BackupError(f"{archive.name} does not match its digest: the copy is damaged.")
    return expected


# --- the databases ------------------------------------------------------------------------------------------

def _sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def _pg_env(url: str) -> dict[str, str]:
    """libpq environment for a postgres:// URL, so no password appears in a process list."""
    parts = urlsplit(url)
    env = {**os.environ, "PGDATABASE": unquote(parts.path.lstrip("/"))}
    for name, value in (("PGHOST", parts.hostname), ("PGPORT", parts.port), ("PGUSER", parts.username),
                        ("PGPASSWORD", parts.password)):
        if value:
            env[name] = unquote(str(value))
    for key, value in parse_qs(parts.query).items():
        if key == "sslmode":
            env["PGSSLMODE"] = value[-1]
    return env


def _schema_head(url: str) -> str:
    """The newest migration the database has run (recorded in the header: restore says what to run next)."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(_sqlite_path(url)) as con:
            row = con.execute("SELECT name FROM migration ORDER BY id DESC LIMIT 1").fetchone()
    else:
        out = subprocess.run(["psql", "-XAtq", "-c", "SELECT name FROM migration ORDER BY id DESC LIMIT 1"],  # nosec B603 B607  # fixed arguments
                             env=_pg_env(url), capture_output=True, text=True, timeout=60)
        if out.returncode:
            raise BackupError(f"cannot read the database: {out.stderr.strip()}")
        row = (out.stdout.strip(),)
    return row[0] if row and row[0] else ""


def _sqlite_chunks(url: str, work: Path) -> Iterator[bytes]:
    source = _sqlite_path(url)
    if not source.exists():
        raise BackupError(f"there is no database at {source}.")
    copy = work / "snapshot.sqlite3"
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(copy)
    try:
        src.backup(dst)  # one step: a consistent snapshot, while writers carry on in the WAL
    finally:
        dst.close()
        src.close()
    squash = zlib.compressobj(6)
    with copy.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            yield squash.compress(block)
    yield squash.flush()


def _postgres_chunks(url: str, work: Path) -> Iterator[bytes]:
    errors = (work / "pg_dump.err").open("w+")
    proc = subprocess.Popen(["pg_dump", "--format=custom", "--no-owner", "--no-privileges"],  # nosec B603 B607  # fixed arguments
                            env=_pg_env(url), stdout=subprocess.PIPE, stderr=errors)
    try:
        for block in iter(lambda: proc.stdout.read(CHUNK), b""):
            yield block
    finally:
        proc.stdout.close()
        code = proc.wait()
        errors.seek(0)
        message = errors.read().strip()
        errors.close()
    if code:
        raise BackupError(f"pg_dump failed: {message or f'exit {code}'}")


# --- the commands -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Made:
    path: Path
    size: int
    sha256: str
    pruned: tuple[Path, ...]


def backup(database_url: str, *, to: Path, key: bytes, keep_days: int, now: dt.datetime,
           work_dir: Path) -> Made:
    """Write one archive of the database into TO, then prune archives there older than KEEP_DAYS (0: keep all)."""
    engine = "postgres" if database_url.startswith(("postgres://", "postgresql://")) else "sqlite"
    try:
        to.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot use {to}: {exc.strerror}") from None
    stamp = now.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    final = to / f"corridor-{engine}-{stamp}.cbk"
    if final.exists():
        raise BackupError(f"{final.name} already exists: one archive per second.")
    header = {"format": FORMAT, "engine": engine, "made_at": now.astimezone(dt.timezone.utc).isoformat(),
              "schema": _schema_head(database_url),
              "content": "sqlite-zlib" if engine == "sqlite" else "pg_dump-custom"}
    partial = to / f".{final.name}.partial"
    # The plaintext snapshot (SQLite) stays beside the database it copies, never in the destination folder.
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="backup-") as tmp:
        try:
            with partial.open("wb") as out:
                sealer = _Sealer(out, key, header)
                source = _sqlite_chunks if engine == "sqlite" else _postgres_chunks
                for block in source(database_url, Path(tmp)):
                    sealer.write(block)
                digest = sealer.close()
                out.flush()
                os.fsync(out.fileno())
            partial.rename(final)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    _sidecar(final).write_text(f"{digest}  {final.name}\n")
    return Made(final, final.stat().st_size, digest, tuple(prune(to, keep_days=keep_days, now=now, keep=final)))


def prune(folder: Path, *, keep_days: int, now: dt.datetime, keep: Path) -> list[Path]:
    """Delete archives (and their digests) made more than KEEP_DAYS before NOW; never KEEP, never at 0 days."""
    if keep_days <= 0:
        return []
    cutoff = now.astimezone(dt.timezone.utc) - dt.timedelta(days=keep_days)
    gone = []
    for path in sorted(folder.iterdir()):
        match = NAME.match(path.name)
        if not match or path == keep:
            continue
        made = dt.datetime.strptime(match.group(2), "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
        if made < cutoff:
            path.unlink(missing_ok=True)
            _sidecar(path).unlink(missing_ok=True)
            gone.append(path)
    return gone


def _sqlite_is_empty(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return True
    with sqlite3.connect(path) as con:
        return con.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] == 0


def _postgres_is_empty(url: str) -> bool:
    out = subprocess.run(["psql", "-XAtq", "-c", "SELECT count(*) FROM information_schema.tables "  # nosec B603 B607  # fixed arguments
                          "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"],
                         env=_pg_env(url), capture_output=True, text=True, timeout=60)
    if out.returncode:
        raise BackupError(f"cannot reach the database to restore into: {out.stderr.strip()}")
    return out.stdout.strip() == "0"


def restore(archive: Path, *, key: bytes, database_url: str, work_dir: Path) -> dict:
    """Rebuild the database at DATABASE_URL, which must be empty, from ARCHIVE; returns the archive's header."""
    if not archive.is_file():
        raise BackupError(f"there is no archive at {archive}.")
    check_digest(archive)
    engine = "postgres" if database_url.startswith(("postgres://", "postgresql://")) else "sqlite"
    with archive.open("rb") as f:
        header, chunks = _open(f, key)
        if header.get("engine") != engine:
            raise BackupError(f"this archive holds a {header.get('engine')} database; DATABASE_URL names {engine}. "
                              "Restore into the same kind of database.")
        if engine == "sqlite":
            _restore_sqlite(chunks, _sqlite_path(database_url), work_dir)
        else:
            _restore_postgres(chunks, database_url, work_dir)
    return header


def _restore_sqlite(chunks: Iterator[bytes], target: Path, work_dir: Path) -> None:
    if not _sqlite_is_empty(target):
        raise BackupError(f"{target} already holds a database: restore only into a new one (move it aside first).")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=".restore-", suffix=".sqlite3")
    temp = Path(name)
    try:
        unsquash = zlib.decompressobj()
        with os.fdopen(fd, "wb") as out:
            for block in chunks:
                out.write(unsquash.decompress(block))
            out.write(unsquash.flush())
            if not unsquash.eof:
                raise BackupError("the archive's database is incomplete.")
            out.flush()
            os.fsync(out.fileno())
        with sqlite3.connect(temp) as con:
            verdict = con.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            raise BackupError(f"the restored database fails SQLite's integrity check: {verdict}")
        for stale in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
            stale.unlink(missing_ok=True)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def _restore_postgres(chunks: Iterator[bytes], url: str, work_dir: Path) -> None:
    if not _postgres_is_empty(url):
        raise BackupError("the database DATABASE_URL names already has tables: restore only into a new, empty "
                          "database (createdb NAME, then point DATABASE_URL at it).")
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=work_dir) as errors:
        # One transaction: a restore that fails part-way leaves the database empty, not half-built.
        proc = subprocess.Popen(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",  # nosec B603 B607  # fixed arguments
                                 "--single-transaction", "--dbname", _pg_env(url)["PGDATABASE"]],
                                env=_pg_env(url), stdin=subprocess.PIPE, stderr=errors, stdout=subprocess.DEVNULL)
        try:
            for block in chunks:
                proc.stdin.write(block)
            proc.stdin.close()
        except BrokenPipeError:
            pass
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        code = proc.wait()
        errors.seek(0)
        message = errors.read().decode(errors="replace").strip()
    if code:
        raise BackupError(f"pg_restore failed: {message or f'exit {code}'}")
