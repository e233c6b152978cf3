"""Attendance: session marks imported from the MIS, and the figures drawn from them (issue 15, points 1 and 2).

The import copies the pupil import's shape: an upload, a dry-run preview with every bad row by line, then Apply in
one transaction, audited. Bad rows are skipped (the preview lists them); a file that cannot be read as a whole
changes nothing. A mark is unique per pupil, day and session: the same mark again changes nothing, another code
for it updates the mark and keeps the old one in AttendanceMarkChange. Nothing is ever deleted.

The figures are read with SQL aggregates (a year of one pupil's marks is never walked in Python). School days are
the days on which the school has a mark that counts, so holidays and closures (#) never count in a rolling window.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import secrets
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from app import clock, db
from app.domain.attendance.tables import AttendanceImport, AttendanceMark, AttendanceSettings
from app.domain.audit import service as audit
from app.domain.audit.service import CLI, Origin
from app.domain.imports import formats
from app.domain.imports.formats import MAX_UPLOAD_BYTES, Malformed, Problem
from app.domain.pupils.tables import Pupil
from app.domain.schools import service as schools
from app.domain.schools.service import Actor
from app.errors import BadRequest, NotFound, ValidationFailed

LONDON = ZoneInfo("Europe/London")
NOT_HERE = "There is nothing here, or you do not have access to it."
BATCH_HOURS = 24

# The DfE's national attendance codes, 2024 set (../shared/reference/attendance_codes.csv): code -> (meaning,
# group, statistical). A code that is not statistical is not a possible session: it counts for nothing.
CODES: dict[str, tuple[str, str, bool]] = {
    "/": ("Present (morning session)", "present", True),
    "\\": ("Present (afternoon session)", "present", True),
    "L": ("Late: arrived before the register closed", "present", True),
    "K": ("Attending education provision arranged by the local authority", "attending_approved_place", True),
    "V": ("Attending an educational visit or trip", "attending_approved_place", True),
    "P": ("Participating in an approved sporting activity", "attending_approved_place", True),
    "W": ("Attending work experience", "attending_approved_place", True),
    "B": ("Attending any other approved educational activity", "attending_approved_place", True),
    "D": ("Dual registered: attending the other school", "attending_approved_place", False),
    "C1": ("Leave of absence: regulated performance or regulated employment abroad", "authorised_leave", True),
    "M": ("Leave of absence: medical or dental appointment", "authorised_leave", True),
    "J1": ("Leave of absence: interview for employment or admission to another institution", "authorised_leave",
           True),
    "S": ("Leave of absence: study leave", "authorised_leave", True),
    "X": ("Non-compulsory-school-age pupil not required to attend", "authorised_leave", False),
    "C2": ("Leave of absence: compulsory-school-age pupil on a part-time timetable", "authorised_leave", True),
    "C": ("Leave of absence: exceptional circumstances", "authorised_leave", True),
    "T": ("Parent travelling for occupational purposes", "authorised_other", True),
    "R": ("Religious observance", "authorised_other", True),
    "I": ("Illness (not medical or dental appointment)", "authorised_other", True),
    "E": ("Suspended or permanently excluded and no alternative provision made", "authorised_other", True),
    "Q": ("Unable to attend: lack of access arrangements", "unable_to_attend", False),
    "Y1": ("Unable to attend: transport normally provided not available", "unable_to_attend", False),
    "Y2": ("Unable to attend: widespread disruption to travel", "unable_to_attend", False),
    "Y3": ("Unable to attend: part of the school premises closed", "unable_to_attend", False),
    "Y4": ("Unable to attend: whole school site unexpectedly closed", "unable_to_attend", False),
    "Y5": ("Unable to attend: pupil in criminal justice detention", "unable_to_attend", False),
    "Y6": ("Unable to attend: in accordance with public health guidance or law", "unable_to_attend", False),
    "Y7": ("Unable to attend: any other unavoidable cause", "unable_to_attend", False),
    "G": ("Unauthorised: holiday not granted by the school", "unauthorised", True),
    "N": ("Unauthorised: reason not yet established", "unauthorised", True),
    "O": ("Unauthorised: other or unknown circumstances", "unauthorised", True),
    "U": ("Unauthorised: arrived after registration closed", "unauthorised", True),
    "Z": ("Prospective pupil not on admission register", "administrative", False),
    "#": ("Planned whole-school closure", "administrative", False),
}
CANONICAL = {c: c for c in CODES}
STATISTICAL = tuple(c for c, (_, _, counts) in CODES.items() if counts)
ATTENDED = tuple(c for c in STATISTICAL if CODES[c][1] in ("present", "attending_approved_place"))
AUTHORISED = tuple(c for c in STATISTICAL if CODES[c][1] in ("authorised_leave", "authorised_other"))
UNAUTHORISED = tuple(c for c in STATISTICAL if CODES[c][1] == "unauthorised")
ABSENT = AUTHORISED + UNAUTHORISED
PENALTY = ("G", "N", "O", "U")  # the national penalty framework's sessions (10 in any rolling 10 school weeks)
PENALTY_SESSIONS, PENALTY_WEEKS = 10, 10
UNEXPLAINED = ("N", "O")  # absence with no reason known: what the missing-education clock counts
CLOCK_PROMPT_DAYS, CLOCK_CHECKLIST_DAYS = 10, 20
NO_MARK = ("", "-")  # SIMS writes "-" for a session with no mark yet: nothing to import
MAX_MINUTES_LATE = 300
SESSIONS = {"AM": "AM", "PM": "PM", "A": "AM", "P": "PM", "MORNING": "AM", "AFTERNOON": "PM"}
COLUMNS = ["upn", "mis_id", "date", "session", "code", "minutes_late"]
DEFAULT_BANDS = {"expected_from": 96.0, "persistent_below": 90.0, "severe_at_or_below": 50.0}


# Access -----------------------------------------------------------------------------------------------------

def _school_of(actor: Actor | None, school_id: int | None) -> int:
    """The school an import is for: the admin's current school, or the one the command line named."""
    if actor is None:
        if school_id is None:
            raise NotFound(NOT_HERE)
        return school_id
    if actor.school_id is None or not actor.has("admin"):
        raise NotFound(NOT_HERE)
    return actor.school_id


SEES_ATTENDANCE = ("pastoral", "head_of_year", "dsl")  # DESIGN.md: not staff, guests, responders or admins


def can_see_attendance(actor: Actor) -> bool:
    return actor.school_id is not None and actor.has(*SEES_ATTENDANCE)


async def _pupil_for(actor: Actor, pupil_id: int) -> dict:
    """A pupil of the actor's school whose attendance this actor may see (a head of year: their years only)."""
    if not can_see_attendance(actor):
        raise NotFound(NOT_HERE)
    row = await Pupil.select(Pupil.id, Pupil.year_code).where(
        (Pupil.id == pupil_id) & (Pupil.school == actor.school_id)).first()
    if not row:
        raise NotFound(NOT_HERE)
    if not actor.has("pastoral", "dsl") and not await schools.leads_year(actor, row["year_code"]):
        raise NotFound(NOT_HERE)
    return row


# Reading a file of marks ------------------------------------------------------------------------------------

@dataclass
class Parsed:
    """A file of marks read and checked against the school's pupils, before anything is compared with stored
    marks. rows: (pupil id, day, session, code, minutes late)."""

    filename: str = ""
    rows: list[tuple[int, dt.date, str, str, int | None]] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    fatal: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    no_mark: int = 0
    first_day: dt.date | None = None
    last_day: dt.date | None = None


def _date(raw: str) -> dt.date | None:
    """YYYY-MM-DD, or DD/MM/YYYY as UK spreadsheets write it."""
    raw = raw.strip()
    try:
        if "/" in raw:
            d, m, y = raw.split("/")
            if len(y) != 4:
                return None
            value = dt.date(int(y), int(m), int(d))
        else:
            value = dt.date.fromisoformat(raw)
    except ValueError:
        return None
    return value if clock.EARLIEST_DATE <= value <= clock.LATEST_DATE else None


def _text(filename: str, data: bytes) -> tuple[str, str]:
    """The one CSV file of an upload (a CSV, or a zip holding one), as text."""
    files, _ = formats.read_files(filename, data)
    if len(files) != 1:
        raise Malformed(Problem(filename or "upload", None, "Upload one CSV file of marks (a zip may hold only one)."
                                if files else "The zip holds no CSV file."))
    return next(iter(files.values()))


def read_marks(filename: str, data: bytes, pupils_by_upn: dict[str, int], pupils_by_mis: dict[str, int],
               today: dt.date) -> Parsed:
    """Every row checked: the pupil (by MIS id, else UPN, at this school only), the date, the session, the code
    (2024 set) and the minutes late. A bad row is reported by line and skipped."""
    parsed = Parsed(filename=filename)
    try:
        name, text = _text(filename, data)
    except Malformed as exc:
        parsed.fatal.append(exc.problem)
        return parsed
    parsed.filename = name
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        parsed.fatal.append(Problem(name, 1, "The file is empty: it needs a header row naming its columns."))
        return parsed
    except csv.Error as exc:
        parsed.fatal.append(Problem(name, 1, f"This is not a CSV file Corridor can read ({exc})."))
        return parsed
    columns = [h.strip().lstrip("\ufeff").lower() for h in header]
    missing = [c for c in ("date", "session", "code") if c not in columns]
    if "upn" not in columns and "mis_id" not in columns:
        missing.insert(0, "upn or mis_id")
    if missing:
        parsed.fatal.append(Problem(name, 1, f"Missing required column{'s' if len(missing) > 1 else ''}: "
                                             f"{', '.join(missing)}."))
        return parsed
    repeated = sorted({c for c in columns if c and columns.count(c) > 1})
    if repeated:
        parsed.fatal.append(Problem(name, 1, f"The column {repeated[0]} appears twice."))
        return parsed
    unknown = [h.strip() for h, c in zip(header, columns) if c and c not in COLUMNS]
    if unknown:
        parsed.notes.append(f"Columns Corridor does not use were ignored: {', '.join(unknown)}.")
    width = len(columns)
    at = {c: i for i, c in enumerate(columns)}
    i_upn, i_mis, i_date, i_session, i_code = (at.get("upn"), at.get("mis_id"), at["date"], at["session"],
                                                at["code"])
    i_minutes = at.get("minutes_late")
    dates: dict[str, dt.date | None] = {}
    seen: set[int] = set()  # pupil, day and session packed in one int: a year's million keys in far less memory
    rows, errors = parsed.rows, parsed.errors
    line = reader.line_num
    try:
        for values in reader:
            start, line = line + 1, reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) > width and any(v.strip() for v in values[width:]):
                errors.append(Problem(name, start, f"this row has {len(values)} values but the header names "
                                                   f"{width} columns"))
                continue
            if len(values) < width:
                values = values + [""] * (width - len(values))
            code = values[i_code].strip().upper()
            if code in NO_MARK:
                parsed.no_mark += 1
                continue
            mis = values[i_mis].strip() if i_mis is not None else ""
            upn = values[i_upn].strip().upper() if i_upn is not None else ""
            if mis:
                pupil = pupils_by_mis.get(mis)
                if pupil is None:
                    errors.append(Problem(name, start, f"No pupil at this school has MIS id {mis[:64]}."))
                    continue
            elif upn:
                pupil = pupils_by_upn.get(upn)
                if pupil is None:
                    errors.append(Problem(name, start, f"No pupil at this school has UPN {upn[:13]}."))
                    continue
            else:
                errors.append(Problem(name, start, "The pupil is missing: give their UPN or MIS id."))
                continue
            raw_date = values[i_date]
            if raw_date not in dates:
                dates[raw_date] = _date(raw_date)
            day = dates[raw_date]
            if day is None:
                errors.append(Problem(name, start, f"The date {raw_date.strip()[:20]!r} is not a date: write "
                                                   "YYYY-MM-DD (or DD/MM/YYYY)."))
                continue
            if day > today:
                errors.append(Problem(name, start, f"The date {day.isoformat()} is in the future."))
                continue
            session = SESSIONS.get(values[i_session].strip().upper())
            if session is None:
                errors.append(Problem(name, start, f"The session {values[i_session].strip()[:20]!r} is not AM or "
                                                   "PM."))
                continue
            if code not in CODES:
                errors.append(Problem(name, start, f"{code[:10]!r} is not a DfE attendance code (2024 set)."))
                continue
            minutes: int | None = None
            raw_minutes = values[i_minutes].strip() if i_minutes is not None else ""
            if raw_minutes:
                if not raw_minutes.isascii() or not raw_minutes.isdigit() or int(raw_minutes) > MAX_MINUTES_LATE:
                    errors.append(Problem(name, start, f"Minutes late {raw_minutes[:20]!r} is not a whole number "
                                                       f"from 0 to {MAX_MINUTES_LATE}."))
                    continue
                minutes = int(raw_minutes)
            key = (pupil * 4_000_000 + day.toordinal()) * 2 + (session == "PM")
            if key in seen:
                errors.append(Problem(name, start, f"A second mark for the same pupil on {day.isoformat()} "
                                                   f"{session}: only the first is imported."))
                continue
            seen.add(key)
            rows.append((pupil, day, session, CANONICAL[code], minutes))  # one str object per code, not per row
    except csv.Error as exc:
        parsed.fatal.append(Problem(name, reader.line_num, f"The file cannot be read as CSV from here ({exc})."))
        return parsed
    if rows:
        days = [d for d in dates.values() if d is not None]
        parsed.first_day, parsed.last_day = min(days), max(days)
    return parsed


# Upload, preview, apply -------------------------------------------------------------------------------------

@dataclass
class Plan:
    """What an import will do (the dry run), and once applied, what it did. Counts only: no names."""

    key: str = ""
    filename: str = ""
    fatal: list[Problem] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    marks_added: int = 0
    marks_changed: int = 0
    marks_unchanged: int = 0
    no_mark: int = 0
    pupils: int = 0
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    applied_at: dt.datetime | None = None

    def counts(self) -> dict[str, Any]:
        return {"marks_added": self.marks_added, "marks_changed": self.marks_changed,
                "marks_unchanged": self.marks_unchanged, "rows_skipped": len(self.errors), "no_mark": self.no_mark,
                "pupils": self.pupils, "first_day": self.first_day.isoformat() if self.first_day else "",
                "last_day": self.last_day.isoformat() if self.last_day else ""}


def today() -> dt.date:
    return clock.now().astimezone(LONDON).date()


def _base(name: str) -> str:
    return PurePosixPath((name or "").replace("\\", "/")).name[:200]


async def store_upload(actor: Actor | None, filename: str, data: bytes, *, school_id: int | None = None) -> str:
    """Keep an upload until it is previewed and applied; returns the random key that names it."""
    school = _school_of(actor, school_id)
    if not data:
        raise BadRequest("Choose the file of attendance marks to import (a CSV file).")
    if len(data) > MAX_UPLOAD_BYTES:
        raise BadRequest(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB: import the year in "
                         "parts (a term at a time).")
    key = secrets.token_urlsafe(24)
    now = clock.now()
    async with schools.db().transaction():
        # Uploads hold pupil data: one never applied is removed after a day.
        await AttendanceImport.delete().where(
            AttendanceImport.applied_at.is_null()
            & (AttendanceImport.created_at < now - dt.timedelta(hours=BATCH_HOURS)))
        await AttendanceImport.insert(AttendanceImport(
            key=key, school=school, uploaded_by=actor.person_id if actor else None, filename=_base(filename),
            data=data, created_at=now))
    return key


async def _batch(actor: Actor | None, key: str, school_id: int | None, *columns: Any) -> dict:
    """An upload of this school by this person (an admin never sees another admin's or school's upload)."""
    school = _school_of(actor, school_id)
    uploader = (AttendanceImport.uploaded_by.is_null() if actor is None
                else AttendanceImport.uploaded_by == actor.person_id)
    row = await AttendanceImport.select(
        AttendanceImport.id, AttendanceImport.key, AttendanceImport.school, AttendanceImport.filename,
        AttendanceImport.created_at, AttendanceImport.applied_at, AttendanceImport.result, *columns,
    ).where((AttendanceImport.key == str(key)[:64]) & (AttendanceImport.school == school) & uploader).first()
    if not row:
        raise NotFound(NOT_HERE)
    if row["applied_at"] is None and row["created_at"] < clock.now() - dt.timedelta(hours=BATCH_HOURS):
        raise NotFound("This upload has expired. Upload the file again.")
    return row


async def _read(school_id: int, filename: str, data: bytes) -> Parsed:
    # Every pupil of the school, those who have left too (their earlier marks still count); no other school's.
    pupils = await Pupil.select(Pupil.id, Pupil.upn, Pupil.mis_id).where(Pupil.school == school_id)
    by_upn = {p["upn"].upper(): p["id"] for p in pupils if p["upn"]}
    by_mis = {p["mis_id"]: p["id"] for p in pupils if p["mis_id"]}
    return read_marks(filename, data, by_upn, by_mis, today())


async def preview(actor: Actor | None, key: str, *, school_id: int | None = None) -> Plan:
    """The dry run of a stored upload: how many marks would be added, changed and left as they are, and every
    bad row. Nothing is written."""
    batch = await _batch(actor, key, school_id, AttendanceImport.data)
    if batch["applied_at"] is not None:
        return Plan(key=batch["key"], filename=batch["filename"], applied_at=batch["applied_at"])
    plan = await _dry_run(batch["school"], batch["filename"], bytes(batch["data"] or b""))
    plan.key = batch["key"]
    return plan


async def preview_upload(filename: str, data: bytes, *, school_id: int) -> Plan:
    """The dry run of a file that is not kept (the command line without --apply)."""
    return await _dry_run(school_id, filename, data)


class _DryRun(Exception):
    """Ends a dry run's transaction: everything it staged is rolled back."""


async def _dry_run(school_id: int, filename: str, data: bytes) -> Plan:
    parsed = await _read(school_id, filename, data)
    plan = _plan_of(parsed)
    if plan.fatal or not parsed.rows:
        return plan
    try:
        async with schools.db().transaction():
            await _stage(parsed.rows)
            await _count(plan, len(parsed.rows))
            raise _DryRun()
    except _DryRun:
        pass
    return plan


def _plan_of(parsed: Parsed) -> Plan:
    return Plan(filename=parsed.filename, fatal=parsed.fatal, errors=parsed.errors, notes=parsed.notes,
                no_mark=parsed.no_mark, pupils=len({r[0] for r in parsed.rows}), first_day=parsed.first_day,
                last_day=parsed.last_day)


async def apply(actor: Actor | None, key: str, *, school_id: int | None = None,
                origin: Origin | None = None) -> Plan:
    """Apply a stored upload in one transaction and audit it; returns what it did. Bad rows are skipped, as the
    preview said; a file that cannot be read changes nothing."""
    batch = await _batch(actor, key, school_id, AttendanceImport.data)
    if batch["applied_at"] is not None:
        raise BadRequest("This import has already been applied.")
    # Reading the file happens before the transaction: it should hold the write lock as briefly as it can.
    parsed = await _read(batch["school"], batch["filename"], bytes(batch["data"] or b""))
    plan = _plan_of(parsed)
    if plan.fatal:
        raise BadRequest(f"This file cannot be imported, so nothing was changed. {plan.fatal[0]}")
    now = clock.now()
    async with schools.db().transaction():
        # Claim the upload first: a second Apply (another tab, another server process) finds it taken.
        claimed = await AttendanceImport.update({AttendanceImport.applied_at: now}).where(
            (AttendanceImport.id == batch["id"]) & AttendanceImport.applied_at.is_null()).returning(
            AttendanceImport.id)
        if not claimed:
            raise BadRequest("This import has already been applied.")
        if parsed.rows:
            await _stage(parsed.rows)
            plan.marks_changed, plan.marks_added = await _write(batch["school"], batch["id"], now)
            plan.marks_unchanged = len(parsed.rows) - plan.marks_added - plan.marks_changed
        counts = plan.counts()
        # The file holds pupil data: once applied, only the counts are kept.
        await AttendanceImport.update({AttendanceImport.result: json.dumps(counts),
                                       AttendanceImport.data: None}).where(AttendanceImport.id == batch["id"])
        await audit.record("attendance.imported", actor_id=actor.person_id if actor else None,
                           actor_label=actor.label if actor else "corridor command", school_id=batch["school"],
                           subject_type="attendance_import", subject_id=batch["id"],
                           origin=origin or (actor.origin if actor else CLI), detail=counts)
    plan.key, plan.applied_at = batch["key"], now
    if plan.marks_added > 10_000:
        # A term or a year at once changes the table's shape: the planners' statistics should say so now.
        await db.refresh_statistics(schools.db())
    return plan


async def import_file(filename: str, data: bytes, *, school_id: int, origin: Origin = CLI) -> Plan:
    """The command line's --apply: store, apply, and return what it did."""
    key = await store_upload(None, filename, data, school_id=school_id)
    return await apply(None, key, school_id=school_id, origin=origin)


async def result(actor: Actor | None, key: str, *, school_id: int | None = None) -> dict:
    """What an applied import did (counts), for the page shown after Apply."""
    batch = await _batch(actor, key, school_id)
    if batch["applied_at"] is None:
        raise NotFound(NOT_HERE)
    return {"key": batch["key"], "filename": batch["filename"], "applied_at": batch["applied_at"],
            "counts": json.loads(batch["result"] or "{}")}


# The set-based part: the file's marks go into a temporary table in one batch, then a handful of statements
# compare, keep history, update and insert (a year for a school is about a million marks; row by row it would be
# a million round trips).

def _is_sqlite() -> bool:
    return AttendanceMark._meta.db.engine_type == "sqlite"


async def _stage(rows: list[tuple[int, dt.date, str, str, int | None]]) -> None:
    engine = AttendanceMark._meta.db
    transaction = engine.current_transaction.get()
    connection = transaction.connection
    if _is_sqlite():
        await connection.execute("DROP TABLE IF EXISTS temp.attendance_incoming")
        await connection.execute("CREATE TEMP TABLE attendance_incoming (pupil INTEGER NOT NULL, day TEXT NOT NULL, "
                                 "session TEXT NOT NULL, code TEXT NOT NULL, minutes_late INTEGER, counts INTEGER)")
        statistical = set(STATISTICAL)
        await connection.executemany(
            "INSERT INTO attendance_incoming VALUES (?, ?, ?, ?, ?, ?)",
            ((p, d.isoformat(), s, c, m, 1 if c in statistical else 0) for p, d, s, c, m in rows))
        await connection.execute("CREATE UNIQUE INDEX temp.attendance_incoming_key "
                                 "ON attendance_incoming (pupil, day, session)")
    else:
        await connection.execute("CREATE TEMP TABLE attendance_incoming (pupil INTEGER NOT NULL, day DATE NOT NULL, "
                                 "session TEXT NOT NULL, code TEXT NOT NULL, minutes_late INTEGER, counts INTEGER) "
                                 "ON COMMIT DROP")
        statistical = set(STATISTICAL)
        await connection.copy_records_to_table(
            "attendance_incoming", records=((p, d, s, c, m, 1 if c in statistical else 0) for p, d, s, c, m in rows),
            columns=["pupil", "day", "session", "code", "minutes_late", "counts"])
        await connection.execute("ANALYZE attendance_incoming")


_SAME_SESSION = "m.pupil = i.pupil AND m.day = i.day AND m.session = i.session"
_DIFFERS = "(m.code <> i.code OR COALESCE(m.minutes_late, -1) <> COALESCE(i.minutes_late, -1))"


async def _count(plan: Plan, total: int) -> None:
    added = await AttendanceMark.raw(
        f"SELECT COUNT(*) AS n FROM attendance_incoming i WHERE NOT EXISTS "  # nosec B608  # constants only
        f"(SELECT 1 FROM attendance_mark m WHERE {_SAME_SESSION})")
    changed = await AttendanceMark.raw(
        f"SELECT COUNT(*) AS n FROM attendance_incoming i JOIN attendance_mark m ON {_SAME_SESSION} "  # nosec B608
        f"WHERE {_DIFFERS}")
    plan.marks_added, plan.marks_changed = int(added[0]["n"]), int(changed[0]["n"])
    plan.marks_unchanged = total - plan.marks_added - plan.marks_changed


async def _execute(sql: str, *args: Any) -> int:
    """One statement on the transaction's connection ({} placeholders); returns how many rows it wrote."""
    connection = AttendanceMark._meta.db.current_transaction.get().connection
    if _is_sqlite():
        cursor = await connection.execute(sql.replace("{}", "?"), args)
        return cursor.rowcount
    parts = sql.split("{}")
    numbered = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], start=1))
    status = await connection.execute(numbered, *args)
    return int(status.rsplit(" ", 1)[-1]) if status and status.rsplit(" ", 1)[-1].isdigit() else 0


async def _write(school_id: int, batch_id: int, now: dt.datetime) -> tuple[int, int]:
    """Keep the old marks' history, update them, insert the new ones; returns (changed, added)."""
    changed = await _execute(
        "INSERT INTO attendance_mark_change (mark, school, old_code, new_code, old_minutes_late, new_minutes_late, "
        "changed_at, import_batch) SELECT m.id, m.school, m.code, i.code, m.minutes_late, i.minutes_late, {}, {} "
        f"FROM attendance_incoming i JOIN attendance_mark m ON {_SAME_SESSION} WHERE {_DIFFERS}",  # nosec B608
        now, batch_id)
    if changed:
        await _execute(
            "UPDATE attendance_mark AS m SET code = i.code, minutes_late = i.minutes_late, updated_at = {} "
            f"FROM attendance_incoming i WHERE {_SAME_SESSION} AND {_DIFFERS}", now)  # nosec B608
    # In the unique index's order: a year's marks go into it one page after another, not all over it.
    added = await _execute(
        "INSERT INTO attendance_mark (school, pupil, day, session, code, minutes_late, created_at) "
        "SELECT CAST({} AS INTEGER), i.pupil, i.day, i.session, i.code, i.minutes_late, {} FROM attendance_incoming i "
        f"WHERE NOT EXISTS (SELECT 1 FROM attendance_mark m WHERE {_SAME_SESSION}) "  # nosec B608
        # Another import adding the same mark at the same moment (PostgreSQL) wins; this one counts it unchanged.
        "ORDER BY i.pupil, i.day, i.session ON CONFLICT (pupil, day, session) DO NOTHING", school_id, now)
    # The school's days: a day with a mark that counts (a closure, #, is not a school day).
    await _execute(
        "INSERT INTO attendance_school_day (school, day) SELECT CAST({} AS INTEGER), i.day FROM "
        "(SELECT DISTINCT day FROM attendance_incoming WHERE counts = 1) i WHERE NOT EXISTS "
        "(SELECT 1 FROM attendance_school_day d WHERE d.school = {} AND d.day = i.day) "
        "ON CONFLICT (school, day) DO NOTHING", school_id, school_id)
    if _is_sqlite():
        await _execute("DROP TABLE temp.attendance_incoming")
    return changed, added


# The bands a school sets ------------------------------------------------------------------------------------

async def bands_of(school_id: int) -> dict[str, float]:
    row = await AttendanceSettings.select(AttendanceSettings.expected_from, AttendanceSettings.persistent_below,
                                          AttendanceSettings.severe_at_or_below).where(
        AttendanceSettings.school == school_id).first()
    return dict(row) if row else dict(DEFAULT_BANDS)


async def bands_for_admin(actor: Actor) -> dict[str, float]:
    return await bands_of(_school_of(actor, None))


def _percent_field(raw: Any) -> float | None:
    text = str(raw or "").strip().rstrip("%").strip()
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0 <= value <= 100 and value == value else None


async def set_bands(actor: Actor, form: dict[str, Any]) -> dict[str, float]:
    """The school's bands, checked (severe < persistent <= expected) and audited with the old and new values."""
    school = _school_of(actor, None)
    labels = {"expected_from": "Expected attendance from", "persistent_below": "Persistent absence below",
              "severe_at_or_below": "Severe absence at or below"}
    values: dict[str, float] = {}
    errors: dict[str, str] = {}
    for name, label in labels.items():
        value = _percent_field(form.get(name))
        if value is None:
            errors[name] = f"{label}: give a percentage from 0 to 100."
        else:
            values[name] = round(value, 1)
    if not errors:
        if not values["severe_at_or_below"] < values["persistent_below"]:
            errors["severe_at_or_below"] = "Severe absence must start below persistent absence."
        if not values["persistent_below"] <= values["expected_from"]:
            errors["expected_from"] = "Expected attendance must start at or above where persistent absence ends."
    if errors:
        raise ValidationFailed(errors)
    old = await bands_of(school)
    now = clock.now()
    async with schools.db().transaction():
        if await AttendanceSettings.exists().where(AttendanceSettings.school == school):
            await AttendanceSettings.update({**{getattr(AttendanceSettings, k): v for k, v in values.items()},
                                             AttendanceSettings.updated_at: now}).where(
                AttendanceSettings.school == school)
        else:
            await AttendanceSettings.insert(AttendanceSettings(school=school, updated_at=now, **values))
        await audit.record("attendance.bands_changed", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=school, subject_type="school", subject_id=school, origin=actor.origin,
                           detail={"before": old, "after": values})
    return values


def band_of(percent: float | None, bands: dict[str, float]) -> tuple[str, str]:
    """(key, words) of the band a percentage falls in."""
    if percent is None:
        return "none", "No sessions yet"
    if percent <= bands["severe_at_or_below"]:
        return "severe", f"Severe absence ({bands['severe_at_or_below']:g}% or under)"
    if percent < bands["persistent_below"]:
        return "persistent", f"Persistent absence (under {bands['persistent_below']:g}%)"
    if percent >= bands["expected_from"]:
        return "expected", f"Expected ({bands['expected_from']:g}% and over)"
    return "at_risk", f"At risk ({bands['persistent_below']:g}% to under {bands['expected_from']:g}%)"


# The figures ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """One pupil's figures over a period (year to date, or the last 4 school weeks). Sessions, except minutes."""

    label: str
    start: dt.date
    end: dt.date
    possible: int = 0  # sessions with a statistical code
    attended: int = 0  # present (/, \\, L) or at an approved educational activity (K, V, P, W, B)
    authorised: int = 0
    unauthorised: int = 0  # G, N, O and U (U: arrived after the register closed, an absence in law)
    spells: int = 0  # runs of consecutive absent sessions
    longest_spell: int = 0  # sessions
    late_before_close: int = 0  # L
    late_after_close: int = 0  # U
    minutes_late: int = 0
    percent: float | None = None  # attended / possible
    band: str = "none"
    band_words: str = "No sessions yet"


@dataclass(frozen=True)
class PenaltyWatch:
    """10 sessions of G, N, O or U in any rolling 10 school weeks (the national penalty framework)."""

    fired: bool = False
    most: int = 0  # the most such sessions in any 10 school weeks of the year so far
    window_start: dt.date | None = None  # the first 10-week window that reached the threshold
    window_end: dt.date | None = None
    last_10_weeks: int = 0  # in the 10 school weeks up to the date of the figures


@dataclass(frozen=True)
class MissingClock:
    """Consecutive school days of unexplained absence (every session that counts is N or O) up to today."""

    days: int = 0
    since: dt.date | None = None
    level: str = ""  # "", "prompt" (10 days) or "checklist" (20 days)


@dataclass(frozen=True)
class PupilAttendance:
    pupil_id: int
    as_of: dt.date
    year_start: dt.date
    year: Period
    recent: Period
    penalty: PenaltyWatch
    clock: MissingClock
    bands: dict[str, float]
    has_marks: bool


def year_start(day: dt.date) -> dt.date:
    """The academic year runs from 1 September."""
    return dt.date(day.year if day.month >= 9 else day.year - 1, 9, 1)


def _placeholders(values: Iterable[Any]) -> str:
    return ", ".join("{}" for _ in values)


_SPELLS = """
WITH s AS (
  SELECT CASE WHEN code IN ({absent}) THEN 1 ELSE 0 END AS absent, ROW_NUMBER() OVER (ORDER BY day, session) AS n
  FROM attendance_mark WHERE pupil = {{}} AND day >= {{}} AND day <= {{}} AND code IN ({statistical})
), a AS (
  SELECT n - ROW_NUMBER() OVER (ORDER BY n) AS grp FROM s WHERE absent = 1
)
SELECT COUNT(*) AS spells, COALESCE(MAX(len), 0) AS longest FROM (SELECT grp, COUNT(*) AS len FROM a GROUP BY grp) g
""".format(absent=_placeholders(ABSENT), statistical=_placeholders(STATISTICAL))  # nosec B608  # placeholders only

_BY_CODE = """
SELECT code, CASE WHEN day >= {} THEN 1 ELSE 0 END AS recent, COUNT(*) AS n, COALESCE(SUM(minutes_late), 0) AS minutes
FROM attendance_mark WHERE pupil = {} AND day >= {} AND day <= {} GROUP BY code, recent
"""

_BY_DAY = """
SELECT day, SUM(CASE WHEN code IN ({penalty}) THEN 1 ELSE 0 END) AS penalty,
       SUM(CASE WHEN code IN ({unexplained}) THEN 1 ELSE 0 END) AS unexplained,
       SUM(CASE WHEN code IN ({statistical}) THEN 1 ELSE 0 END) AS counted
FROM attendance_mark WHERE pupil = {{}} AND day >= {{}} AND day <= {{}} GROUP BY day
""".format(penalty=_placeholders(PENALTY), unexplained=_placeholders(UNEXPLAINED),  # nosec B608  # placeholders
           statistical=_placeholders(STATISTICAL))


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


async def _spells(pupil_id: int, start: dt.date, end: dt.date) -> tuple[int, int]:
    rows = await AttendanceMark.raw(_SPELLS, *ABSENT, pupil_id, start, end, *STATISTICAL)  # nosec B608
    return int(rows[0]["spells"]), int(rows[0]["longest"])


def _period(label: str, start: dt.date, end: dt.date, counts: dict[str, tuple[int, int]], spells: tuple[int, int],
            bands: dict[str, float]) -> Period:
    def total(codes: Iterable[str]) -> int:
        return sum(counts.get(c, (0, 0))[0] for c in codes)

    possible, attended = total(STATISTICAL), total(ATTENDED)
    percent = round(100 * attended / possible, 1) if possible else None
    band, words = band_of(100 * attended / possible if possible else None, bands)
    return Period(label=label, start=start, end=end, possible=possible, attended=attended,
                  authorised=total(AUTHORISED), unauthorised=total(UNAUTHORISED), spells=spells[0],
                  longest_spell=spells[1], late_before_close=total(("L",)), late_after_close=total(("U",)),
                  minutes_late=sum(m for _, m in counts.values()), percent=percent, band=band, band_words=words)


async def figures(school_id: int, pupil_id: int, as_of: dt.date | None = None) -> PupilAttendance:
    """One pupil's figures on a date (today by default): year to date from 1 September, the last 4 school weeks,
    the penalty-threshold watcher and the missing-education clock. The caller has checked access."""
    as_of = as_of or today()
    start = year_start(as_of)
    bands = await bands_of(school_id)
    days = [_as_date(r["day"]) for r in await AttendanceMark.raw(
        "SELECT day FROM attendance_school_day WHERE school = {} AND day >= {} AND day <= {} ORDER BY day",
        school_id, start, as_of)]
    # School weeks: Monday-to-Sunday weeks with at least one school day (a holiday week is not one).
    mondays = sorted({d - dt.timedelta(days=d.weekday()) for d in days})
    recent_start = max(start, mondays[-4]) if len(mondays) >= 4 else start
    by_code = await AttendanceMark.raw(_BY_CODE, recent_start, pupil_id, start, as_of)
    year_counts: dict[str, tuple[int, int]] = {}
    recent_counts: dict[str, tuple[int, int]] = {}
    for r in by_code:
        n, minutes = int(r["n"]), int(r["minutes"] or 0)
        old = year_counts.get(r["code"], (0, 0))
        year_counts[r["code"]] = (old[0] + n, old[1] + minutes)
        if int(r["recent"]):
            recent_counts[r["code"]] = (n, minutes)
    has_marks = bool(year_counts)
    year = _period("Year to date", start, as_of, year_counts,
                   await _spells(pupil_id, start, as_of) if has_marks else (0, 0), bands)
    recent = _period("Last 4 school weeks", recent_start, as_of, recent_counts,
                     await _spells(pupil_id, recent_start, as_of) if recent_counts else (0, 0), bands)
    per_day = {_as_date(r["day"]): r for r in await AttendanceMark.raw(
        _BY_DAY, *PENALTY, *UNEXPLAINED, *STATISTICAL, pupil_id, start, as_of)} if has_marks else {}  # nosec B608
    return PupilAttendance(pupil_id=pupil_id, as_of=as_of, year_start=start, year=year, recent=recent,
                           penalty=_penalty(days, mondays, per_day), clock=_clock(days, per_day), bands=bands,
                           has_marks=has_marks)


def _penalty(days: list[dt.date], mondays: list[dt.date], per_day: dict[dt.date, Any]) -> PenaltyWatch:
    week_of = {m: i for i, m in enumerate(mondays)}
    weekly = [0] * len(mondays)
    for day, r in per_day.items():
        index = week_of.get(day - dt.timedelta(days=day.weekday()))
        if index is not None:
            weekly[index] += int(r["penalty"] or 0)
    most, fired_at = 0, None
    for end in range(len(weekly)):
        begin = max(0, end - PENALTY_WEEKS + 1)
        total = sum(weekly[begin:end + 1])
        most = max(most, total)
        if fired_at is None and total >= PENALTY_SESSIONS:
            fired_at = (begin, end)
    last = sum(weekly[-PENALTY_WEEKS:])
    if fired_at is None:
        return PenaltyWatch(most=most, last_10_weeks=last)
    # From the Monday of its first school week to the last school day of its last.
    last_monday = mondays[fired_at[1]]
    end = max(d for d in days if last_monday <= d < last_monday + dt.timedelta(days=7))
    return PenaltyWatch(fired=True, most=most, window_start=mondays[fired_at[0]], window_end=end, last_10_weeks=last)


def _clock(days: list[dt.date], per_day: dict[dt.date, Any]) -> MissingClock:
    count, since = 0, None
    for day in reversed(days):
        r = per_day.get(day)
        counted = int(r["counted"] or 0) if r else 0
        if not counted or int(r["unexplained"] or 0) != counted:
            break
        count, since = count + 1, day
    level = "checklist" if count >= CLOCK_CHECKLIST_DAYS else "prompt" if count >= CLOCK_PROMPT_DAYS else ""
    return MissingClock(days=count, since=since, level=level)


async def pupil_attendance(actor: Actor, pupil_id: int, as_of: dt.date | None = None) -> PupilAttendance:
    """The Attendance panel of a pupil's profile, for those who see attendance (404 for anyone else)."""
    await _pupil_for(actor, pupil_id)
    return await figures(actor.school_id, pupil_id, as_of)
