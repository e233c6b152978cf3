"""The database engine, chosen by DATABASE_URL, and the forward-only migration runner."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from functools import cache, lru_cache
from typing import Any, Coroutine, TypeVar
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosqlite

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, dict_factory
from piccolo.querystring import QueryString

os.environ.setdefault("PICCOLO_CONF", "app.piccolo_conf")

# Piccolo's Serial ids (and the foreign keys to them) are INTEGER on PostgreSQL: 32 bits, whatever SQLite allows.
MAX_ID = 2**31 - 1


def parse_id(raw: Any) -> int | None:
    """A database id from a form field, a query string or a header: ASCII digits only, 1..MAX_ID; else None."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw if 1 <= raw <= MAX_ID else None
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    # Checked before int(): a huge string of digits must not be converted at all.
    if not text or len(text) > 20 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


T = TypeVar("T")


async def finish_even_if_cancelled(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` to its end as its own task, whatever happens to the caller: a cancelled caller gets its
    cancellation at once, the work goes on, and its outcome is still collected (never "exception was never
    retrieved"). For clean-ups that must not stop halfway: a pooled query, a LISTEN/UNLISTEN."""
    task = asyncio.ensure_future(work)
    task.add_done_callback(lambda done: done.cancelled() or done.exception())
    return await asyncio.shield(task)


def _run_to_end(conn: sqlite3.Connection, query: str, args: Any) -> list:
    """One statement on aiosqlite's thread, start to finish: executed, every row read, cursor closed, and
    committed when it opened an implicit transaction. One hand-off to the thread instead of four (execute,
    fetchall, close, commit), each of which costs a future, a queue put and a wake-up of the event loop."""
    cursor = conn.execute(query, args)
    try:
        return cursor.fetchall()
    finally:
        cursor.close()
        if conn.in_transaction and conn.isolation_level is not None:
            conn.commit()


def _is_read(query: str) -> bool:
    """A statement that cannot write (SQLite's SELECT): it never waits for a lock in WAL mode and never syncs."""
    return query.lstrip()[:6].upper() == "SELECT"


async def _open(engine: SQLiteEngine, **extra: Any) -> aiosqlite.Connection:
    """A connection set up once for its whole life: foreign keys on, and synchronous=FULL, so a commit is on
    disk (the WAL fsynced) before the answer that says "saved" (after which the outbox deletes its copy)."""
    connection = aiosqlite.connect(**engine.connection_kwargs, **extra)
    # A daemon thread: a process that forgets close_pool() still exits (aiosqlite's default thread would keep
    # it alive for ever).
    connection._thread.daemon = True
    await connection
    await connection.execute("PRAGMA foreign_keys = 1")
    await connection.execute("PRAGMA synchronous = FULL")
    connection.row_factory = dict_factory
    return connection


class PooledSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine with changes the benchmark showed were worth it (bench/README.md):

    - queries outside a transaction share a few long-lived connections per event loop, instead of opening
      a connection (and its thread) for every query: about 3x the requests per second;
    - outermost transactions in one process take turns on an asyncio lock, instead of on SQLite's busy
      handler, which sleeps in steps of up to 100 ms while another connection holds the write lock; and since
      they take turns, they all use one long-lived writer connection per event loop instead of opening one
      (and its thread) per transaction;
    - a statement that may wait (for another process's write lock) or sync to disk (a write outside a
      transaction; BEGIN; COMMIT) goes to aiosqlite's thread once (run, read, close, commit in one call);
      one that can do neither (a SELECT; any statement inside a transaction that already holds the write
      lock) runs at once on the event loop's thread: a hand-off to another thread and back cost more CPU
      than the statement itself;
    - the `PRAGMA foreign_keys = 1` Piccolo sends before every statement is sent once per connection instead.
    """

    POOL_SIZE = 4

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._pools: dict[int, asyncio.Queue] = {}
        self._write_locks: dict[int, asyncio.Lock] = {}
        self._writers: dict[int, aiosqlite.Connection] = {}
        self._readers: dict[int, sqlite3.Connection] = {}
        self._batches: dict[int, _Batch] = {}

    def _reader(self) -> sqlite3.Connection:
        """This loop's connection for reads run on the loop's own thread (see the class's notes)."""
        loop = id(asyncio.get_running_loop())
        connection = self._readers.get(loop)
        if connection is None:
            connection = sqlite3.connect(**self.connection_kwargs)
            connection.execute("PRAGMA foreign_keys = 1")
            connection.row_factory = dict_factory
            self._readers[loop] = connection
        return connection

    async def _pool(self) -> asyncio.Queue:
        loop = id(asyncio.get_running_loop())
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = asyncio.Queue()
            for _ in range(self.POOL_SIZE):
                pool.put_nowait(await _open(self))
        return pool

    async def _run_in_new_connection(self, query, args=None, query_type="generic", table=None):
        if _is_read(query):
            return _run_to_end(self._reader(), query, args or [])
        pool = await self._pool()
        connection = await pool.get()
        # Once sent, a query runs to its end (rows read, cursor closed, committed) before its connection goes
        # back to the pool, even when its caller is cancelled (a page that goes away cancels its live stream,
        # sometimes in the middle of the stream's session check). aiosqlite's thread runs the query whatever
        # happens to the caller; a connection given back early still held that query's open statement, so the
        # next query on it read the database as it was then (a session created since was "no session"), and a
        # write there stayed uncommitted, holding SQLite's write lock until the next query on it.
        return await finish_even_if_cancelled(self._query_to_end(pool, connection, query, args))

    @staticmethod
    async def _query_to_end(pool: asyncio.Queue, connection, query, args):
        try:
            return await connection._execute(_run_to_end, connection._conn, query, args or [])
        finally:
            pool.put_nowait(connection)

    async def _run_in_existing_connection(self, connection, query, args=None, query_type="generic", table=None):
        # The connection is this loop's writer, set up once (foreign keys on): no PRAGMA per statement. Its
        # transaction began IMMEDIATE and holds the write lock: nothing in it waits or syncs until COMMIT.
        return _run_to_end(connection._conn, query, args or [])

    async def writer(self) -> aiosqlite.Connection:
        """This loop's connection for transactions (they take turns on write_lock, so one is enough)."""
        loop = id(asyncio.get_running_loop())
        connection = self._writers.get(loop)
        if connection is None:
            # Used from the loop's thread too, only ever by the one transaction holding write_lock.
            connection = self._writers[loop] = await _open(self, check_same_thread=False)
        return connection

    async def drop_writer(self) -> None:
        """Close this loop's writer after a failure that may have left it in an unknown state; the next
        transaction opens a fresh one."""
        connection = self._writers.pop(id(asyncio.get_running_loop()), None)
        if connection is not None:
            with contextlib.suppress(Exception):  # it is being thrown away; a fresh one replaces it
                await connection.close()

    async def close_pool(self) -> None:
        """Close this event loop's connections (their threads would otherwise keep the process alive)."""
        pool = self._pools.pop(id(asyncio.get_running_loop()), None)
        while pool is not None and not pool.empty():
            await pool.get_nowait().close()
        writer = self._writers.pop(id(asyncio.get_running_loop()), None)
        if writer is not None:
            await writer.close()
        reader = self._readers.pop(id(asyncio.get_running_loop()), None)
        if reader is not None:
            reader.close()

    def open_batch(self) -> "_Batch | None":
        return self._batches.get(id(asyncio.get_running_loop()))

    def start_batch(self) -> "_Batch":
        batch = self._batches[id(asyncio.get_running_loop())] = _Batch()
        return batch

    def fail_batch(self, exc: BaseException) -> None:
        """The open batch's transaction is lost: every caller waiting on it gets the error."""
        batch = self._batches.pop(id(asyncio.get_running_loop()), None)
        if batch is not None and not batch.done.done():
            batch.done.set_exception(exc)

    async def commit_batch(self) -> None:
        """COMMIT the open batch (the caller holds write_lock): one sync to disk for all its transactions."""
        batch = self._batches.pop(id(asyncio.get_running_loop()), None)
        if batch is None:
            return
        try:
            writer = await self.writer()
            if not writer._conn.in_transaction:
                raise sqlite3.OperationalError("the batch's transaction was rolled back by SQLite")
            await writer._execute(_run_to_end, writer._conn, "COMMIT", [])
        except BaseException as exc:
            if not batch.done.done():
                batch.done.set_exception(exc)
            await self.drop_writer()
            return
        if not batch.done.done():
            batch.done.set_result(None)

    async def end_turn(self, lock: asyncio.Lock, *, wait: bool = False, failed: bool = False):
        """A transaction's turn ends. If other writers are waiting and the batch has room, the batch stays open
        for them (a committer queued behind them makes sure it is committed); otherwise it is committed now.
        Returns the batch's future for a caller whose writes it holds, when it was not committed now."""
        try:
            batch = self.open_batch()
            if batch is None:
                return None
            waiting = any(not w.cancelled() for w in (getattr(lock, "_waiters", None) or ()))
            if waiting and batch.count < _Batch.MAX and not failed:
                if batch.committer is None:
                    batch.committer = asyncio.ensure_future(self._commit_when_free(batch))
                return batch.done if wait else None
            await self.commit_batch()
            if wait:
                batch.done.result()  # raises if the COMMIT failed
            return None
        finally:
            if lock.locked():
                lock.release()

    async def _commit_when_free(self, batch: "_Batch") -> None:
        lock = self.turn_lock()
        async with lock:
            if self.open_batch() is batch:
                await self.commit_batch()

    def turn_lock(self) -> asyncio.Lock:
        """The turn of this loop's writers: held by one transaction (or write_lock() holder) at a time."""
        loop = id(asyncio.get_running_loop())
        return self._write_locks.setdefault(loop, asyncio.Lock())

    def write_lock(self) -> "_WriteTurn":
        """A turn for a write outside a transaction (a pooled statement): the open batch is committed first, so
        the statement does not wait in SQLite's busy handler for a transaction that is waiting for it."""
        return _WriteTurn(self)

    def transaction(self, transaction_type=None, allow_nested: bool = True):
        from piccolo.engine.sqlite import TransactionType

        return _TakingTurns(engine=self, transaction_type=transaction_type or TransactionType.deferred,
                            allow_nested=allow_nested)


class _Batch:
    """Transactions committed together (group commit): each ran in a savepoint of its own on the writer, and one
    COMMIT, one sync to disk, makes them all durable. `done` resolves when that COMMIT has returned."""

    MAX = 64

    def __init__(self) -> None:
        self.done: asyncio.Future = asyncio.get_running_loop().create_future()
        self.done.add_done_callback(lambda f: f.cancelled() or f.exception())  # a failure nobody awaited
        self.count = 0
        self.committer: asyncio.Task | None = None


class _WriteTurn:
    def __init__(self, engine: "PooledSQLiteEngine") -> None:
        self.engine = engine

    def locked(self) -> bool:
        return self.engine.turn_lock().locked()

    async def __aenter__(self) -> None:
        lock = self.engine.turn_lock()
        await lock.acquire()
        try:
            await finish_even_if_cancelled(self.engine.commit_batch())
        except BaseException:
            lock.release()
            raise

    async def __aexit__(self, *exc) -> None:
        self.engine.turn_lock().release()


class _TakingTurns(SQLiteTransaction):
    """An outermost SQLite transaction: it waits for the process's other writers, then runs on the loop's writer
    connection inside BEGIN IMMEDIATE (so nothing in it waits for a lock or syncs until COMMIT).

    Group commit: when a transaction ends and others are already waiting for their turn, it does not commit at
    once. It releases its savepoint, hands the open transaction to the next writer, and its caller waits until
    the COMMIT that ends the batch has returned: "saved" still means on disk, but a burst of writes (250 staff
    saving at a lesson change) syncs the disk once per batch instead of once per write. A transaction that fails
    is rolled back to its own savepoint and takes nobody else's writes with it; a batch whose COMMIT fails fails
    every caller in it (the outbox sends again, and the idempotency receipt, in the same transaction, was not
    kept either). The batch is committed by the last writer in it, or, if the writers it was handed to are
    cancelled before their turn, by a committer queued behind them.
    """

    async def __aenter__(self):
        if self._parent is not None:
            return await super().__aenter__()
        engine: PooledSQLiteEngine = self.engine
        lock = engine.turn_lock()
        await lock.acquire()
        self.connection = None
        self._held = lock
        self._batch = None
        try:
            self.connection = await engine.writer()
            batch = engine.open_batch()
            if batch is None:
                await self.connection._execute(_run_to_end, self.connection._conn, "BEGIN IMMEDIATE", [])
                batch = engine.start_batch()
            batch.count += 1
            self._savepoint = f"corridor_write_{batch.count}"
            _run_to_end(self.connection._conn, f"SAVEPOINT {self._savepoint}", [])
            self._batch = batch
        except BaseException:
            self._held = None
            await finish_even_if_cancelled(engine.end_turn(lock, failed=True))
            raise
        self.context = engine.current_transaction.set(self)
        return self

    async def commit(self):
        """Nothing to do now: the batch's COMMIT makes this transaction durable when it ends."""
        self._committed = True

    async def rollback(self):
        _run_to_end(self.connection._conn, f"ROLLBACK TO {self._savepoint}", [])
        self._rolled_back = True

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        if self._parent is not None:
            return exception is None
        try:
            # Runs to its end even if the caller is cancelled now: the savepoint released or undone, the turn
            # handed on, the lock released only after that.
            durable = await finish_even_if_cancelled(self._end(exception))
        finally:
            self.engine.current_transaction.reset(self.context)
        if durable is not None:
            await asyncio.shield(durable)  # raises if the batch's COMMIT failed
        return exception is None

    async def _end(self, exception) -> asyncio.Future | None:
        """Release or undo this transaction's savepoint and end its turn; the future to wait for, if its writes
        are to be committed with a batch still open."""
        engine: PooledSQLiteEngine = self.engine
        lock, self._held = self._held, None
        conn = self.connection._conn
        try:
            if exception is not None and not self._rolled_back:
                _run_to_end(conn, f"ROLLBACK TO {self._savepoint}", [])
            _run_to_end(conn, f"RELEASE {self._savepoint}", [])
        except BaseException as exc:
            # The savepoint could not be undone or released: the batch's transaction is in doubt. End it.
            engine.fail_batch(exc)
            await engine.end_turn(lock, failed=True)
            raise
        kept = exception is None and not self._rolled_back
        return await engine.end_turn(lock, wait=kept)


async def _nothing_to_reset(connection: Any) -> None:
    """A pooled connection given back has nothing to undo but an open transaction (see start_connection_pool)."""


class CorridorPostgresEngine(PostgresEngine):
    """Piccolo's PostgreSQL engine, whose pool gives a connection back without a round trip to the server."""

    async def start_connection_pool(self, **kwargs: Any) -> None:
        """asyncpg's pool resets every connection given back with `SELECT pg_advisory_unlock_all(); CLOSE ALL;
        UNLISTEN *; RESET ALL`: a round trip after every pooled statement and every transaction, which on the home
        page doubled the round trips of its one statement. Nothing here leaves such state on a pooled connection:
        advisory locks are transaction-level (the audit chain's), no cursor outlives its transaction, LISTEN runs
        on the live backend's own connections, and no session setting is changed after connecting. asyncpg still
        rolls back a transaction left open before a connection goes back (Connection._reset)."""
        kwargs.setdefault("reset", _nothing_to_reset)
        await super().start_connection_pool(**kwargs)

    async def _run_in_pool(self, query: str, args: Any = None) -> Any:
        # As on SQLite (finish_even_if_cancelled): a statement outside a transaction, once begun, runs to its end
        # even if its caller is cancelled (a page that goes away), so a write is either wholly done or not sent.
        return await finish_even_if_cancelled(super()._run_in_pool(query, args))


@cache
def engine_for(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        # A busy writer should make others wait, not fail; see tune_sqlite for WAL.
        return PooledSQLiteEngine(path=str(path), timeout=15)
    parts = urlsplit(url)
    return CorridorPostgresEngine(
        config={
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 5432,
            "user": unquote(parts.username or "postgres"),
            "password": unquote(parts.password or "") or None,
            "database": parts.path.lstrip("/") or "corridor",
            # "Saved" means on disk: a commit waits for its WAL flush whatever the server's default says.
            "server_settings": {"synchronous_commit": "on"},
        }
    )


def bind(url: str) -> Engine:
    """Point every table at the engine for `url` (the one source of truth is the settings object)."""
    from app.piccolo_app import TABLES

    engine = engine_for(url)
    for table in TABLES:
        table._meta.db = engine
    return engine


async def tune_sqlite(engine: Engine) -> None:
    # WAL lets readers go on while one writer commits; it is a property of the file, so once is enough.
    if isinstance(engine, SQLiteEngine):
        await engine.run_ddl("PRAGMA journal_mode=WAL;")


async def migrate(url: str) -> tuple[int, int]:
    """Run every migration not yet applied, forward only. Returns (how many ran now, how many the database has).

    Piccolo's own progress lines (with emoji, and a count it calls "already complete" that is really the
    number it knows of) are kept out of the terminal; they are shown only when a migration fails."""
    import contextlib
    import io

    from piccolo.apps.migrations.commands.forwards import run_forwards
    from piccolo.apps.migrations.tables import Migration
    engine = bind(url)
    await tune_sqlite(engine)
    # Piccolo's migration manager asks piccolo_conf for its engine; make sure it is this one.
    import app.piccolo_conf as conf

    conf.DB = engine
    Migration._meta.db = engine
    said = io.StringIO()
    try:
        before = (len(await Migration.get_migrations_which_ran(app_name="corridor"))
                  if await Migration.table_exists().run() else 0)
        with contextlib.redirect_stdout(said):
            result = await run_forwards(app_name="corridor")
        after = len(await Migration.get_migrations_which_ran(app_name="corridor"))
    finally:
        await close(engine)
    if not result.success:
        raise RuntimeError(f"migration failed: {result.message}\n{said.getvalue()}")
    return after - before, after


async def close(engine: Engine) -> None:
    """Release what the engine holds for this event loop (call before the loop ends)."""
    if isinstance(engine, PooledSQLiteEngine):
        await engine.close_pool()


async def database_answers(timeout: float = 2.0) -> bool:
    """True when the database answers a trivial query within the timeout."""
    import asyncio

    from app.domain.schools.tables import Trust

    try:
        await asyncio.wait_for(Trust._meta.db.run_ddl("SELECT 1"), timeout)
        return True
    except Exception:
        return False


def atomic():
    """A write transaction. On SQLite it takes the write lock at BEGIN (IMMEDIATE), so two writers queue
    for it instead of one failing when a read turns into a write; PostgreSQL needs nothing special."""
    from piccolo.engine.sqlite import TransactionType

    from app.domain.schools.tables import Trust

    engine = Trust._meta.db
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


@lru_cache(maxsize=1024)
def _compiled(sql: str, postgres: bool) -> str:
    """A `{}`-placeholder statement in the driver's own placeholders: `?` (sqlite3) or `$1, $2, ...` (asyncpg)."""
    parts = sql.split("{}")
    if not postgres:
        return "?".join(parts)
    return parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], start=1))


class _Statement(QueryString):
    """A fixed statement with plain values for its `{}` placeholders, compiled once per text (see `raw`)."""

    def __init__(self, sql: str, args: tuple) -> None:  # noqa: super().__init__ is what this skips
        self.template = sql
        self.args = args
        self.columns = []
        self.query_type = "generic"
        self.table = None
        self._frozen_compiled_strings = None
        self._alias = None

    def compile_string(self, engine_type: str = "postgres") -> tuple[str, list[Any]]:
        return _compiled(self.template, engine_type in ("postgres", "cockroach")), list(self.args)


async def raw(table: type, sql: str, *args: Any) -> list[dict]:
    """`table.raw(sql, *args)` for a hot path's fixed statement, without Piccolo's query building (issue 12).

    Every value a `{}` placeholder, never a column or a fragment. It goes through the engine's run_querystring
    like any Piccolo query (the current transaction's connection, else the pool's; the same driver and type
    conversions; rows as dicts), so what counts or watches statements there sees it. What it skips is per call:
    Piccolo parses the template and checks every argument (an abstract-class isinstance each); on the incident
    POST, 10 statements with about 120 values, that cost more CPU than SQLite's own work for most of them."""
    engine = table._meta.db
    rows = await engine.run_querystring(_Statement(sql, args))
    return engine.transform_response_to_dicts(rows) if rows else []


def _integers_read_directly() -> None:
    """Piccolo converts every INTEGER value SQLite returns through `convert_int_out` (bytes decoded to text, then
    `int(Decimal(text))`, behind a wrapper that checks the type): about 1 µs a value, 160 values on an incident
    POST. `int()` reads the bytes of an integer directly; anything else (a real, text that SQLite's INTEGER
    affinity could not make a number) still goes to Piccolo's converter, so every value comes out as before."""
    from piccolo.engine.sqlite import convert_int_out

    def int_out(value: bytes) -> int:
        try:
            return int(value)
        except ValueError:
            return convert_int_out(value)

    sqlite3.register_converter("INTEGER", int_out)


_integers_read_directly()

PICCOLO_COPIED_FROM = "1.38.0"


def _foreign_key_lookup_without_dir() -> None:
    """Piccolo 1.38's `ForeignKey.__getattribute__` calls `dir(self)` on every public attribute access, to
    set up a lazy table reference's proxy columns the first time. Building one query with a join reads such
    attributes dozens of times, and the `dir()` calls were about a fifth of the CPU of building it (a profile of
    3 typical queries: 104,772 `dir` calls for 2,050 builds). This is the same method with the checks in the
    other order: the cheap ones (is the reference lazy and not yet set up?) first, `dir()` only when they hold.
    Same behaviour, same SQL (tests/platform/test_piccolo_speedup.py); worth offering upstream."""
    from piccolo.columns.base import Column, ForeignKeyMeta
    from piccolo.columns.column_types import ForeignKey, LazyTableReference

    import piccolo

    if getattr(ForeignKey.__getattribute__, "corridor_speedup", False) or piccolo.__VERSION__ != PICCOLO_COPIED_FROM:
        return  # another Piccolo: its own method stands until this copy is checked against it
    original = ForeignKey.__getattribute__

    def __getattribute__(self, name: str):
        if not name.startswith("_"):
            try:
                meta = object.__getattribute__(self, "_foreign_key_meta")
            except AttributeError:
                meta = None
            if (meta is not None and meta.proxy_columns == [] and isinstance(meta.references, LazyTableReference)
                    and name not in dir(self)):
                object.__getattribute__(self, "set_proxy_columns")()

        value = object.__getattribute__(self, name)
        if name.startswith("_"):
            return value

        foreignkey_class = object.__getattribute__(self, "__class__")
        if isinstance(value, foreignkey_class):  # i.e. a ForeignKey: copied with the join recorded
            new_column = value.copy()
            new_column._meta.call_chain.append(self)
            if len(new_column._meta.call_chain) >= 10:
                raise Exception("Call chain too long!")
            foreign_key_meta: ForeignKeyMeta = object.__getattribute__(new_column, "_foreign_key_meta")
            for proxy_column in foreign_key_meta.proxy_columns:
                with contextlib.suppress(Exception):  # as Piccolo does
                    delattr(new_column, proxy_column._meta.name)
            foreign_key_meta.proxy_columns = []
            for column in value._foreign_key_meta.resolved_references._meta.columns:
                _column = column.copy()
                _column._meta.call_chain = list(new_column._meta.call_chain)
                setattr(new_column, _column._meta.name, _column)
                foreign_key_meta.proxy_columns.append(_column)
            return new_column
        if issubclass(type(value), Column):
            new_column = value.copy()
            column_meta = object.__getattribute__(self, "_meta")
            new_column._meta.call_chain = column_meta.call_chain.copy()
            new_column._meta.call_chain.append(self)
            return new_column
        return value

    __getattribute__.corridor_speedup = True  # type: ignore[attr-defined]
    __getattribute__.piccolo_original = original  # type: ignore[attr-defined]
    ForeignKey.__getattribute__ = __getattribute__  # type: ignore[method-assign]


_foreign_key_lookup_without_dir()


ANALYZE_LOCK = 7_362_031  # the advisory lock key held by the PostgreSQL ANALYZE under way (refresh_statistics)


async def refresh_statistics(engine: Engine, *, if_free: bool = False) -> bool:
    """ANALYZE: fresh statistics for the query planners, after an import and once a day (main.py). Without them
    SQLite guesses, and a guess read a school's whole audit log for "recently viewed" (65 ms at 300,000 rows,
    0.03 ms after ANALYZE). On PostgreSQL one runs at a time for the install; with `if_free` (the schedule) a
    process that finds one under way skips its turn and returns False, without it (after an import, whose rows
    the one under way may not have seen) it waits and runs its own."""
    if isinstance(engine, SQLiteEngine):
        from piccolo.engine.sqlite import TransactionType

        # Sampled, not read whole (SQLite's advice for PRAGMA optimize): milliseconds for a million-row table, so
        # the write lock it needs is held only that long. Both statements must run on one connection.
        async with engine.transaction(transaction_type=TransactionType.immediate):
            await engine.run_ddl("PRAGMA analysis_limit = 1000")
            await engine.run_ddl("ANALYZE")
    else:
        # Every worker of `corridor serve --workers N` starts the schedule, and N whole-database ANALYZEs at once
        # (2.4 s of PostgreSQL's CPU each on the benchmark's trust, at every restart) bought nothing the first did
        # not. The lock is a session's, on a connection of its own that is closed whatever happens (a task cancelled
        # mid-ANALYZE included), so the lock always goes with it and no pooled connection is held. ANALYZE runs
        # outside a transaction block, as before: each table's lock is held only while that table is sampled.
        connection = await engine.get_new_connection()
        try:
            lock = "pg_try_advisory_lock" if if_free else "pg_advisory_lock"
            if await connection.fetchval(f"SELECT {lock}({ANALYZE_LOCK})") is False:
                return False
            await connection.execute("ANALYZE")
        finally:
            try:
                await connection.close(timeout=5)
            except BaseException:
                connection.terminate()
                raise
    return True
