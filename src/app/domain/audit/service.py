"""The append-only audit log: services write it inside the same transaction as the change.

Each entry carries a SHA-256 hash over its own fields and the previous entry's hash, so an entry changed,
removed or slipped in behind the app's back breaks the chain, and `corridor audit verify` says where.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from piccolo.engine.postgres import PostgresEngine

from app import clock, db
from app.db import raw as raw_sql
from app.domain.audit.tables import AuditEvent
from app.errors import NotFound

if TYPE_CHECKING:
    from app.domain.schools.service import Actor

# What the first entry chains to.
GENESIS = "0" * 64
# The fields the hash covers, in this order. Changing the list or the serialisation breaks every stored
# chain: it needs a migration that re-chains (like the one that introduced it) and a note in the docs.
HASHED = ("at", "actor", "actor_label", "action", "school", "subject_type", "subject_id", "subject_label", "ip",
          "detail")


@dataclass(frozen=True)
class Origin:
    """Where a request came from, copied into the audit log."""

    ip: str = ""
    device: str = ""


CLI = Origin(ip="cli", device="corridor command")


def entry_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    """The chain hash of one entry: SHA-256 over the previous hash and the entry's fields, as a JSON array."""
    at = entry["at"]
    if isinstance(at, str):  # a raw SQLite row
        at = dt.datetime.fromisoformat(at)
    values = [prev_hash, at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")]
    values += [entry[name] for name in HASHED[1:]]
    canonical = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


async def _chain_head() -> str:
    """SQLite: the newest entry's hash. Write transactions already take turns (db.PooledSQLiteEngine, and BEGIN
    IMMEDIATE in db.atomic() across processes), so the head cannot move under us. (PostgreSQL: _UNSEALED_SQL.)"""
    rows = await raw_sql(AuditEvent, "SELECT entry_hash FROM audit_event ORDER BY id DESC LIMIT 1")
    return rows[0]["entry_hash"] if rows else GENESIS


# Written on nearly every request that changes or shows a record: one plain statement, not Piccolo's insert
# builder (which cost more CPU than the write itself; issue 12). Column for column what AuditEvent declares.
_INSERT_SQL = ("INSERT INTO audit_event (at, actor, actor_label, action, school, subject_type, subject_id, "
               "subject_label, ip, detail, prev_hash, entry_hash) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})")


def _values(event: Mapping[str, Any]) -> list[Any]:
    return [event[name] for name in HASHED]


# PostgreSQL: the entry goes into audit_unsealed, and the database chains it into audit_event as the transaction
# commits (a deferred trigger; see the migration corridor_2026_12_07t03_47_12_000000). The chain's lock, which
# every audited write of the install waits for, is taken there, at COMMIT, and held only to the COMMIT's end:
# taken here, it was held across the rest of the transaction's statements, each a round trip to the app.
_UNSEALED_SQL = ("INSERT INTO audit_unsealed (at, actor, actor_label, action, school, subject_type, subject_id, "
                 "subject_label, ip, detail) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {})")


async def _append(event: dict[str, Any]) -> None:
    if isinstance(AuditEvent._meta.db, PostgresEngine):
        await raw_sql(AuditEvent, _UNSEALED_SQL, *_values(event))
        return
    prev_hash = await _chain_head()
    await raw_sql(AuditEvent, _INSERT_SQL, *_values(event), prev_hash, entry_hash(prev_hash, event))


async def record(
    action: str,
    *,
    actor_id: int | None = None,
    actor_label: str = "",
    school_id: int | None = None,
    subject_type: str = "",
    subject_id: Any = "",
    subject_label: str = "",
    origin: Origin = Origin(),
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit event; call inside the transaction of the change it describes."""
    event = new_event(action, actor_id=actor_id, actor_label=actor_label, school_id=school_id,
                      subject_type=subject_type, subject_id=subject_id, subject_label=subject_label, origin=origin,
                      detail=detail)
    # SQLite: reading the head and appending must be one transaction, or two writers can chain to the same entry.
    # Some entries describe no change (a failed sign-in) and are written on their own: give them one. PostgreSQL
    # chains an entry as the transaction it was written in commits, its own statement's if there is no other.
    if AuditEvent._meta.db.transaction_exists() or isinstance(AuditEvent._meta.db, PostgresEngine):
        await _append(event)
    else:
        async with db.atomic():
            await _append(event)


def new_event(action: str, *, actor_id: int | None = None, actor_label: str = "", school_id: int | None = None,
              subject_type: str = "", subject_id: Any = "", subject_label: str = "", origin: Origin = Origin(),
              detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """An entry's columns (HASHED's), as a plain dict: a Piccolo row object cost more to build than the INSERT."""
    return {
        "at": clock.now(),
        "actor": actor_id,
        "actor_label": actor_label,
        "action": action,
        "school": school_id,
        "subject_type": subject_type,
        "subject_id": str(subject_id) if subject_id != "" else "",
        "subject_label": subject_label,
        "ip": origin.ip,
        "detail": json.dumps(detail, sort_keys=True) if detail else "",
    }


def postgres_entry(event: Mapping[str, Any], *, subject_id_sql: str, source: str) -> tuple[str, list[Any]]:
    """PostgreSQL: `event` as an INSERT into audit_unsealed for a hot path's one-statement write (a data-modifying
    WITH), whose subject id is only known inside that statement: `subject_id_sql` is its SQL expression (a column
    of `source`, the WITH query that makes the record). The entry is chained as the statement commits, as
    `record` would chain it. Returns the INSERT, with `{}` placeholders, and its values in their order."""
    columns = ", ".join(HASHED)
    values = ", ".join(subject_id_sql if name == "subject_id" else "{}::" + _PG_TYPES[name] for name in HASHED)
    return (f"INSERT INTO audit_unsealed ({columns}) SELECT {values} FROM {source}",  # nosec B608  # constants only
            [event[name] for name in HASHED if name != "subject_id"])


_PG_TYPES = {"at": "timestamptz", "actor": "integer", "actor_label": "varchar", "action": "varchar",
             "school": "integer", "subject_type": "varchar", "subject_label": "varchar", "ip": "varchar",
             "detail": "text"}


# PostgreSQL chains entries in batches (migration corridor_2026_12_07t13_00_00_000000): an entry committed while
# another transaction held the chain waits in audit_unsealed, for the next holder or a sweeper, usually for well
# under a second. What must see an entry as soon as its change is committed reads both tables (find) or sweeps first.
_FINDABLE = frozenset(HASHED)


async def find(where: Mapping[str, Any], *, columns: tuple[str, ...] = ("subject_id",),
               since: dt.datetime | None = None, limit: int = 1) -> list[dict]:
    """At most `limit` entries, newest first, whose columns equal `where`'s values (and written after `since`),
    chained or, on PostgreSQL, still waiting to be chained: a failed sign-in counts at once, under any load."""
    names = [*where, *columns]
    if not names or not _FINDABLE.issuperset(names):
        raise ValueError(f"not an audit entry's columns: {sorted(set(names) - _FINDABLE)}")
    conditions = [f"{name} = {{}}" for name in where]
    values: list[Any] = [str(v) if name == "subject_id" else v for name, v in where.items()]
    if since is not None:
        conditions.append("at > {}")
        values.append(since)
    select, match = ", ".join(columns), " AND ".join(conditions) or "TRUE"
    # Names checked against HASHED above, values bound: nothing from a request is formatted into the SQL.
    chained = f"SELECT {select}, id FROM audit_event WHERE {match} ORDER BY id DESC LIMIT {int(limit)}"  # nosec B608
    if not isinstance(AuditEvent._meta.db, PostgresEngine):
        rows = await raw_sql(AuditEvent, chained, *values)
    else:
        waiting = f"SELECT {select}, id FROM audit_unsealed WHERE {match} ORDER BY id DESC LIMIT {int(limit)}"  # nosec B608
        sql = (f"SELECT {select} FROM ((SELECT *, 1 AS waiting FROM ({waiting}) w) UNION ALL "  # nosec B608
               f"(SELECT *, 0 FROM ({chained}) c)) e ORDER BY waiting DESC, id DESC LIMIT {int(limit)}")
        rows = await raw_sql(AuditEvent, sql, *values, *values)
    return [{name: row[name] for name in columns} for row in rows]


async def sweep() -> int:
    """PostgreSQL: chain every committed entry still waiting, now (waiting for the chain's lock if it is held).
    Returns how many. SQLite chains each entry as it is written: nothing ever waits."""
    if not isinstance(AuditEvent._meta.db, PostgresEngine):
        return 0
    rows = await raw_sql(AuditEvent, "SELECT corridor_audit_sweep() AS n")
    return rows[0]["n"]


SWEEP_SECONDS = 1.0


async def sweep_forever(every: float = SWEEP_SECONDS) -> None:
    """Each app process on PostgreSQL: chain what a busy moment left waiting. One cheap look a second when nothing
    waits; when the whole install is quiet, nothing waits."""
    import logging

    while True:
        await asyncio.sleep(every)
        try:
            await sweep()
        except Exception:
            logging.getLogger("corridor").warning("chaining waiting audit entries failed", exc_info=True)


@dataclass(frozen=True)
class ChainReport:
    """What `verify_chain` found: how many entries it checked and, if the chain is broken, where first."""

    count: int
    head: str
    broken: dict | None = None  # id, at, action and why, of the first entry that does not check out
    anchor_found: bool = False


async def verify_chain(*, anchor: str | None = None, batch: int = 1000) -> ChainReport:
    """Walk the whole log, oldest first, and report the first entry whose hash or link does not check out,
    and whether an entry has the `anchor` hash (one recorded earlier, kept outside the database). On PostgreSQL,
    entries waiting to be chained are chained first, so that every committed entry is checked."""
    await sweep()
    previous, count, last_id, found = GENESIS, 0, 0, False
    columns = [AuditEvent.id, AuditEvent.prev_hash, AuditEvent.entry_hash] + [getattr(AuditEvent, n) for n in HASHED]
    while True:
        rows = await AuditEvent.select(*columns).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        for row in rows:
            if row["prev_hash"] != previous:
                why = ("it does not follow the entry before it: an entry was removed before it, "
                       "or it was inserted behind the app's back")
            elif row["entry_hash"] != entry_hash(row["prev_hash"], row):
                why = "its contents do not match its hash: it was changed after it was written"
            else:
                why = ""
            if why:
                return ChainReport(count=count, head=previous, anchor_found=found, broken={
                    "id": row["id"], "at": row["at"], "action": row["action"], "why": why})
            previous, count = row["entry_hash"], count + 1
            found = found or previous == anchor
        if len(rows) < batch:
            return ChainReport(count=count, head=previous, anchor_found=found)
        last_id = rows[-1]["id"]


async def _is_trust_admin(actor: Actor) -> bool:
    from app.domain.schools.tables import Membership

    return await Membership.exists().where(
        (Membership.person == actor.person_id) & (Membership.trust == actor.trust_id)
        & Membership.school.is_null() & (Membership.role == "admin"))


async def list_events(actor: Actor, *, limit: int = 200, before_id: int | None = None) -> list[dict]:
    """Newest first, what this admin may read: events of their school, and the school-less ones (sign-ins,
    sessions, passkeys) of people who work there. A trust-level admin reads every school of the trust."""
    from app.domain.schools.tables import Membership, School

    if actor.school_id is None or actor.trust_id is None or not actor.has("admin"):
        raise NotFound()
    if await _is_trust_admin(actor):
        schools = School.select(School.id).where(School.trust == actor.trust_id)
        people = Membership.select(Membership.person).where(Membership.trust == actor.trust_id)
        scope = AuditEvent.school.is_in(schools)
    else:
        # A school admin may not read the sign-ins and addresses of colleagues at the trust's other schools;
        # trust-wide people work at every school, so theirs are read here too.
        people = Membership.select(Membership.person).where(
            (Membership.school == actor.school_id)
            | ((Membership.trust == actor.trust_id) & Membership.school.is_null()))
        scope = AuditEvent.school == actor.school_id
    await sweep()  # every committed entry is in the log the admin reads, none left waiting
    query = AuditEvent.select(
        AuditEvent.id, AuditEvent.at, AuditEvent.actor_label, AuditEvent.action, AuditEvent.subject_type,
        AuditEvent.subject_id, AuditEvent.subject_label, AuditEvent.ip, AuditEvent.detail,
    ).where(scope | (AuditEvent.school.is_null() & AuditEvent.actor.is_in(people)))
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    return await query.order_by(AuditEvent.id, ascending=False).limit(limit)
