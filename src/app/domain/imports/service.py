"""MIS import: upload, a dry-run preview, then apply in one transaction. Admins (or the command line) only.

Upserts by MIS id, reports every bad row, applies nothing of a malformed upload, and never deletes: pupils
missing from a full (bulk) export are marked as left; a delta never marks anyone as left. A full export that
would mark more than a fifth of a school's pupils as left is applied only with a confirmation stating the number.

A OneRoster export names its schools in orgs.csv. A school's admin imports their own school's rows of it; a
trust admin (or the command line, for a trust) imports every school of it at once: each org is matched to a
school of the trust by URN, LAESTAB or the sourcedId an earlier import remembered, and the schools missing are
created when the import is applied.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Awaitable, Callable
from zoneinfo import ZoneInfo

import anyio.to_thread

from app import clock, db
from app.domain.audit import service as audit
from app.domain.audit.service import CLI, Origin
from app.domain.imports import formats
from app.domain.imports.formats import MAX_UPLOAD_BYTES, Dataset, Malformed, Problem, SchoolKeys, SchoolOrg
from app.domain.imports.tables import ImportBatch
from app.domain.pupils.service import mark_changed, prepare_photo
from app.domain.pupils.tables import Contact, Pupil, TutorGroup
from app.domain.schools import service as schools
from app.domain.schools.service import Actor
from app.domain.schools.tables import Membership, Person, School, Trust
from app.errors import BadRequest, CorridorError, NotFound

BATCH_HOURS = 24
LONDON = ZoneInfo("Europe/London")
NOT_HERE = "There is nothing here, or you do not have access to it."
FORMATS = {"corridor": "Corridor CSV set", "oneroster": "OneRoster 1.1 CSV"}
PUPIL_LABELS = {
    "mis_id": "MIS id", "upn": "UPN", "legal_first_name": "legal first name", "legal_last_name": "legal last name",
    "preferred_first_name": "preferred first name", "preferred_last_name": "preferred last name",
    "date_of_birth": "date of birth", "year_code": "year", "tutor_group": "tutor group", "family_key": "family",
    "sen_provision": "SEN provision", "sen_need": "SEN need", "medical_alert": "medical alert",
    "medical_action": "medical action", "allergies": "allergies", "house": "house", "keyworker": "keyworker",
    "attendance_percent": "attendance", "left_on": "back on roll",
    # One label for the MIS's three safeguarding statuses: the preview does not say which one changed.
    "child_protection": "safeguarding status", "child_in_need": "safeguarding status",
    "looked_after": "safeguarding status",
}
NEW_PUPIL_NEEDS = {"upn": "UPN", "legal_first_name": "first name", "legal_last_name": "last name",
                   "date_of_birth": "date of birth", "year_code": "year"}
CONTACT_LABELS = {"name": "name", "relationship": "relationship", "phone": "phone", "email": "email",
                  "priority": "priority", "parental_responsibility": "parental responsibility",
                  "no_contact": "no contact"}
GROUP_LABELS = {"name": "name", "year_code": "year", "tutor_name": "tutor"}
# A full export that would mark more than a fifth of a school's pupils on roll as left (and at least this many)
# is applied only with a confirmation stating the number: the export may have been filtered.
CONFIRM_LEFT_AT_LEAST = 10


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes
    photos_filename: str = ""
    photos: bytes | None = None
    delta: bool = False  # a Corridor CSV set of changes only (OneRoster says so in its manifest)


@dataclass(frozen=True)
class New:
    """A row this import adds: its id is known only once inserted."""

    mis_id: str


@dataclass
class Ops:
    new_groups: list[dict[str, Any]] = field(default_factory=list)
    group_updates: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    new_pupils: list[dict[str, Any]] = field(default_factory=list)
    pupil_updates: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    left: list[int] = field(default_factory=list)
    new_contacts: list[dict[str, Any]] = field(default_factory=list)
    contact_updates: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    new_people: list[tuple[str, str]] = field(default_factory=list)
    new_memberships: list[int] = field(default_factory=list)
    photos: list[tuple[int | New, bytes, bytes]] = field(default_factory=list)


@dataclass
class OrgLine:
    """A school org of a OneRoster export, and what the import does with it."""

    sourced_id: str
    name: str  # as orgs.csv gives it
    code: str  # its URN (6 digits) or LAESTAB (7 digits), or empty
    action: str  # "match" (a school Corridor has), "create" (a school the import adds) or "skip"
    school_id: int | None = None
    school_name: str = ""
    reason: str = ""  # why it is skipped
    line: int = 0

    @property
    def identifier(self) -> str:
        return {6: f"URN {self.code}", 7: f"LAESTAB {self.code}"}.get(len(self.code), "")

    @property
    def label(self) -> str:
        return (self.name or self.sourced_id) + (f" ({self.identifier})" if self.identifier else "")

    def describe(self, applied: bool = False) -> str:
        if self.action == "match":
            return f"matches {self.school_name}"
        if self.action == "create":
            return f"{'created' if applied else 'would create'} {self.school_name}"
        return f"skipped: {self.reason}"


@dataclass
class Plan:
    """What an import will do (the dry-run preview), and after applying, what it did.

    A trust import's plan holds one plan per school (parts); the others are one school's."""

    key: str = ""
    format: str = ""
    bulk: bool = False
    filename: str = ""
    photos_filename: str = ""
    files: list[str] = field(default_factory=list)
    fatal: list[Problem] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pupils_added: list[str] = field(default_factory=list)
    pupils_changed: list[tuple[str, list[str]]] = field(default_factory=list)
    pupils_left: list[str] = field(default_factory=list)
    pupils_unchanged: int = 0
    pupils_on_roll: int = 0  # in Corridor before the import, not yet left
    groups_added: list[str] = field(default_factory=list)
    groups_changed: list[tuple[str, list[str]]] = field(default_factory=list)
    groups_unchanged: int = 0
    contacts_added: int = 0
    contacts_changed: int = 0
    contacts_unchanged: int = 0
    staff_added: list[str] = field(default_factory=list)
    staff_unchanged: int = 0
    photos_added: int = 0
    photos_replaced: int = 0
    photos_unchanged: int = 0
    applied_at: dt.datetime | None = None
    school_id: int | None = None  # the school this plan is for (None: one this import would create)
    school_name: str = ""
    school_slug: str = ""
    new_school: bool = False  # a school this import creates
    trust: bool = False  # a trust import: parts holds each school's plan
    trust_part: bool = False  # one school's plan within a trust import
    orgs: list[OrgLine] = field(default_factory=list)  # a OneRoster export's school orgs
    parts: list[Plan] = field(default_factory=list)
    ops: Ops = field(default_factory=Ops, repr=False)
    photos_matched: set[str] = field(default_factory=set, repr=False)

    @property
    def can_apply(self) -> bool:
        return not self.fatal and self.applied_at is None

    @property
    def format_label(self) -> str:
        return FORMATS.get(self.format, "")

    @property
    def needs_confirmation(self) -> bool:
        """More than a fifth of the pupils on roll would be marked as left: the export may be incomplete, so
        it is applied only with a confirmation stating the number."""
        left = len(self.pupils_left)
        return left >= CONFIRM_LEFT_AT_LEAST and left * 5 > self.pupils_on_roll

    left_warning = needs_confirmation

    @property
    def confirmations(self) -> list[Plan]:
        """The plans (this one, or a trust import's schools) whose leavers must be confirmed."""
        return [p for p in (self.parts if self.trust else [self]) if p.needs_confirmation]

    @property
    def left_statement(self) -> str:
        where = f" at {self.school_name}" if self.trust_part else ""
        return (f"This import would mark {len(self.pupils_left):,} of {self.pupils_on_roll:,} pupils{where} as "
                "left.")

    @property
    def changes_anything(self) -> bool:
        return any(v for k, v in self.counts().items()
                   if k.endswith(("added", "changed", "left", "replaced")) and not k.endswith("unchanged"))

    def counts(self) -> dict[str, Any]:
        """Numbers only (no names): what the audit log and the result page keep. A trust import's are the
        sums over its schools."""
        if self.trust:
            totals = Plan(format=self.format, bulk=self.bulk).counts()
            for part in self.parts:
                for k, v in part.counts().items():
                    if k not in ("format", "mode"):
                        totals[k] += v
            totals["rows_skipped"] = len(self.errors)
            return totals
        return {
            "format": self.format, "mode": "bulk" if self.bulk else "delta",
            "pupils_added": len(self.pupils_added), "pupils_changed": len(self.pupils_changed),
            "pupils_left": len(self.pupils_left), "pupils_unchanged": self.pupils_unchanged,
            "tutor_groups_added": len(self.groups_added), "tutor_groups_changed": len(self.groups_changed),
            "tutor_groups_unchanged": self.groups_unchanged,
            "contacts_added": self.contacts_added, "contacts_changed": self.contacts_changed,
            "contacts_unchanged": self.contacts_unchanged,
            "staff_added": len(self.staff_added), "staff_unchanged": self.staff_unchanged,
            "photos_added": self.photos_added, "photos_replaced": self.photos_replaced,
            "photos_unchanged": self.photos_unchanged, "rows_skipped": len(self.errors),
        }


# Access -----------------------------------------------------------------------------------------------

def _school_of(actor: Actor | None, school_id: int | None) -> int:
    """The school an import is for: the admin's current school, or the one the command line named."""
    if actor is None:
        if school_id is None:
            raise NotFound(NOT_HERE)
        return school_id
    if actor.school_id is None or not actor.has("admin"):
        raise NotFound(NOT_HERE)
    return actor.school_id


@dataclass(frozen=True)
class Scope:
    """Where an import may write: one school, or (a trust import) every school of a trust."""

    school_id: int  # the school the upload belongs to (the admin's current school)
    trust_id: int | None = None  # a trust import: each school org of the export, creating the schools missing
    skip_reason: str = ""  # why a one-school import leaves the export's other schools alone


async def _scope(actor: Actor | None, school_id: int | None, trust_wide: bool) -> Scope:
    """A trust admin's import covers the trust; a school admin's only their school. The command line says."""
    school = _school_of(actor, school_id)
    if actor is not None:
        trust_wide = await schools.is_trust_admin(actor)
    if not trust_wide:
        return Scope(school, None, "only a trust admin imports other schools of the trust (or creates schools)"
                     if actor else "the command imports only the school --school names")
    row = await School.select(School.trust).where(School.id == school).first()
    if not row:
        raise NotFound(NOT_HERE)
    return Scope(school, row["trust"])


async def _batch(actor: Actor | None, key: str, school_id: int | None, *columns: Any) -> dict:
    """An upload of this school by this person (an admin never sees another admin's or school's upload)."""
    school = _school_of(actor, school_id)
    uploader = ImportBatch.uploaded_by.is_null() if actor is None else ImportBatch.uploaded_by == actor.person_id
    row = await ImportBatch.select(
        ImportBatch.id, ImportBatch.key, ImportBatch.filename, ImportBatch.photos_filename, ImportBatch.mode,
        ImportBatch.created_at, ImportBatch.applied_at, ImportBatch.result, *columns,
    ).where((ImportBatch.key == str(key)[:64]) & (ImportBatch.school == school) & uploader).first()
    if not row:
        raise NotFound(NOT_HERE)
    if row["applied_at"] is None and row["created_at"] < clock.now() - dt.timedelta(hours=BATCH_HOURS):
        raise NotFound("This upload has expired. Upload the file again.")
    return row


def _base(name: str) -> str:
    return PurePosixPath((name or "").replace("\\", "/")).name[:200]


class LeaversUnconfirmed(BadRequest):
    """A full export would mark more than a fifth of a school's pupils as left, and the confirmation stating
    the number was not given (or gave another number). Nothing was changed."""

    def __init__(self, plans: list[Plan]) -> None:
        self.plans = plans
        super().__init__(" ".join(p.left_statement for p in plans) + " Nothing was changed: tick the box that "
                         "states the number to confirm it, or upload the export again as changes only.")


# Upload, preview, apply -------------------------------------------------------------------------------

async def store_upload(actor: Actor | None, upload: Upload, *, school_id: int | None = None) -> str:
    """Keep an upload until it is previewed and applied; returns the random key that names it."""
    school = _school_of(actor, school_id)
    if not upload.data:
        raise BadRequest("Choose the file to import: a zip of CSV files, or one CSV file.")
    if len(upload.data) + len(upload.photos or b"") > MAX_UPLOAD_BYTES:
        raise BadRequest(f"The upload is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB. "
                         "Import the photos separately, in several smaller zips.")
    key = secrets.token_urlsafe(24)
    now = clock.now()
    async with schools.db().transaction():
        # Uploads hold pupil data: one never applied is removed after a day.
        await ImportBatch.delete().where(
            ImportBatch.applied_at.is_null() & (ImportBatch.created_at < now - dt.timedelta(hours=BATCH_HOURS)))
        await ImportBatch.insert(ImportBatch(
            key=key, school=school, uploaded_by=actor.person_id if actor else None, filename=_base(upload.filename),
            data=upload.data, photos_filename=_base(upload.photos_filename) if upload.photos else "",
            photos=upload.photos or None, mode="delta" if upload.delta else "bulk", created_at=now))
    return key


async def preview(actor: Actor | None, key: str, *, school_id: int | None = None, trust_wide: bool = False) -> Plan:
    """The dry run of a stored upload: what would be added, changed and marked as left, and every problem."""
    batch = await _batch(actor, key, school_id, ImportBatch.data, ImportBatch.photos, ImportBatch.school)
    if batch["applied_at"] is not None:
        return Plan(key=batch["key"], filename=batch["filename"], applied_at=batch["applied_at"])
    plan = await _dry_run(await _scope(actor, batch["school"] if actor is None else None, trust_wide),
                          _upload_of(batch))
    plan.key = batch["key"]
    return plan


async def preview_upload(actor: Actor | None, upload: Upload, *, school_id: int | None = None,
                         trust_wide: bool = False) -> Plan:
    """The dry run of an upload that is not kept (the command line without --apply)."""
    return await _dry_run(await _scope(actor, school_id, trust_wide), upload)


async def apply(actor: Actor | None, key: str, *, school_id: int | None = None, origin: Origin | None = None,
                trust_wide: bool = False, confirm_left: dict[int, int] | None = None,
                prepare: tuple[Callable[[int], Awaitable[None]], ...] = ()) -> Plan:
    """Apply a stored upload in one transaction (all or nothing) and audit it; returns what it did.

    `prepare` gives a school the import creates the features' defaults (categories, places, on-call reasons):
    the caller wires them in, so this service imports no feature above it.

    confirm_left maps a school's id to the number of its pupils the importer confirmed may be marked as left:
    needed where more than a fifth would be (LeaversUnconfirmed otherwise, and nothing changes)."""
    batch = await _batch(actor, key, school_id, ImportBatch.data, ImportBatch.photos, ImportBatch.school)
    if batch["applied_at"] is not None:
        raise BadRequest("This import has already been applied.")
    scope = await _scope(actor, batch["school"] if actor is None else None, trust_wide)
    # Reading the files and re-encoding photos happen before the transaction: it should hold the
    # database's write lock for as short a time as it can.
    prepared = await _prepare(scope, _upload_of(batch))
    if prepared.plan.fatal:
        raise BadRequest(f"This file cannot be imported, so nothing was changed. {prepared.plan.fatal[0]}")
    now = clock.now()
    writing = Writing(now=now, actor=actor, origin=origin or (actor.origin if actor else CLI), batch_id=batch["id"],
                      confirm=dict(confirm_left or {}), prepare=prepare)
    async with schools.db().transaction():
        # Claim the upload first: a second Apply (another tab, another server process) finds it taken.
        claimed = await ImportBatch.update({ImportBatch.applied_at: now}).where(
            (ImportBatch.id == batch["id"]) & ImportBatch.applied_at.is_null()).returning(ImportBatch.id)
        if not claimed:
            raise BadRequest("This import has already been applied.")
        if School._meta.db.engine_type != "sqlite":
            # Two imports for one school at once would both add the same new pupils (or, for a trust, the same
            # new school): they take turns. (On SQLite the claim above already holds the one write lock.)
            if scope.trust_id is not None:
                await Trust.select(Trust.id).where(Trust.id == scope.trust_id).lock_rows()
                await School.select(School.id).where(School.trust == scope.trust_id).order_by(School.id).lock_rows()
            else:
                await School.select(School.id).where(School.id == prepared.school_id).lock_rows()
        plan = await _run(scope, prepared, writing)
        if plan.fatal:
            raise BadRequest(f"This file cannot be imported, so nothing was changed. {plan.fatal[0]}")
        if writing.unconfirmed:
            raise LeaversUnconfirmed(writing.unconfirmed)
        counts = plan.counts()
        if plan.trust:
            counts["schools"] = [{"name": p.school_name, "created": p.new_school, "counts": p.counts()}
                                 for p in plan.parts]
        # The uploaded files hold pupil data: once applied, only the counts are kept.
        await ImportBatch.update({ImportBatch.result: json.dumps(counts), ImportBatch.data: None,
                                  ImportBatch.photos: None}).where(ImportBatch.id == batch["id"])
    plan.key, plan.applied_at = batch["key"], now
    plan.filename, plan.photos_filename = batch["filename"], batch["photos_filename"]
    # An import can change a school's shape a lot (a first import, a new year group): the query planners'
    # statistics should describe what is there now, not wait for the daily refresh.
    await db.refresh_statistics(schools.db())
    return plan


async def result(actor: Actor | None, key: str, *, school_id: int | None = None) -> dict:
    """What an applied import did (counts), for the page shown after Apply."""
    batch = await _batch(actor, key, school_id)
    if batch["applied_at"] is None:
        raise NotFound(NOT_HERE)
    counts = json.loads(batch["result"] or "{}")
    return {"key": batch["key"], "filename": batch["filename"], "applied_at": batch["applied_at"], "counts": counts,
            "format_label": FORMATS.get(counts.get("format", ""), ""), "schools": counts.get("schools", [])}


def _upload_of(batch: dict) -> Upload:
    return Upload(filename=batch["filename"], data=bytes(batch["data"] or b""),
                  photos_filename=batch["photos_filename"],
                  photos=bytes(batch["photos"]) if batch["photos"] else None, delta=batch["mode"] == "delta")


async def _school_keys(school_id: int) -> SchoolKeys:
    school = await School.select(School.name, School.urn, School.la_code, School.establishment_number,
                                 School.oneroster_sourced_id).where(School.id == school_id).first()
    if not school:
        raise NotFound(NOT_HERE)
    return SchoolKeys(name=school["name"], urn=school["urn"] or "", la_code=school["la_code"],
                      establishment_number=school["establishment_number"], sourced_id=school["oneroster_sourced_id"])


# Reading an upload, and running it (a dry run, or for real inside apply's transaction) --------------------

@dataclass
class Prepared:
    """An upload read and checked, before anything is compared with the database."""

    plan: Plan  # the file names, format, the export's own notes, and what makes it unusable
    school_id: int | None = None  # a one-school import: the school, and its records
    dataset: Dataset | None = None
    all_orgs: list[SchoolOrg] = field(default_factory=list)  # its export's school orgs, to list
    orgs: list[SchoolOrg] | None = None  # a trust import: the export's school orgs, and each one's records
    datasets: dict[str, Dataset] = field(default_factory=dict)
    photos: list = field(default_factory=list)


@dataclass
class Writing:
    """Apply, not a dry run: when, by whom, and the leavers the importer confirmed (school id: number)."""

    now: dt.datetime
    actor: Actor | None
    origin: Origin
    batch_id: int
    confirm: dict[int, int]
    prepare: tuple[Callable[[int], Awaitable[None]], ...] = ()
    unconfirmed: list[Plan] = field(default_factory=list)


async def _prepare(scope: Scope, upload: Upload) -> Prepared:
    plan = Plan(filename=_base(upload.filename), photos_filename=_base(upload.photos_filename))
    prepared = Prepared(plan)
    bulk = not upload.delta
    try:
        export = formats.read_export(upload.filename, upload.data)
        orgs = formats.school_orgs(export.oneroster) if export.oneroster else None
        if scope.trust_id is not None and orgs:
            prepared.orgs = orgs
            for org in orgs:
                prepared.datasets.setdefault(org.sourced_id, formats.parse_export(export, bulk=bulk,
                                                                                  org=org.sourced_id))
            first = prepared.datasets[orgs[0].sourced_id]
            plan.format, plan.bulk, plan.files = first.format, first.pupils_bulk, list(first.files)
            plan.notes = formats.export_notes(export, bulk=bulk)
        else:
            target = scope.school_id
            if scope.trust_id is not None and export.oneroster and orgs is None:
                # No orgs.csv (a delta): the school of the trust an earlier import matched the users' org to.
                source = export.oneroster
                org = formats.users_org(source.tables.get("users.csv"), source.manifest_name)
                found = await School.select(School.id).where(
                    (School.trust == scope.trust_id) & (School.oneroster_sourced_id == org)).first() if org else None
                target = found["id"] if found else target
            dataset = formats.parse_export(export, bulk=bulk, school=await _school_keys(target))
            if dataset.pupils_bulk and not dataset.on_roll:
                raise Malformed(Problem(plan.filename, None, formats.NO_PUPILS))
            await _check_users_org(target, dataset, export)
            prepared.school_id, prepared.dataset, prepared.all_orgs = target, dataset, orgs or []
            plan.format, plan.bulk, plan.files = dataset.format, dataset.pupils_bulk, list(dataset.files)
    except Malformed as exc:
        plan.fatal.append(exc.problem)
    try:
        prepared.photos = await _prepared_photos(upload)
    except Malformed as exc:
        plan.fatal.append(exc.problem)
    return prepared


async def _check_users_org(school_id: int, dataset: Dataset, export: formats.Export) -> None:
    """Without orgs.csv, a export whose users' org an earlier import matched to another school is that
    school's: imported here, it would add its pupils here and, in bulk, mark every pupil here as left."""
    if not (dataset.org_from_users and dataset.org):
        return
    here = await School.select(School.trust, School.oneroster_sourced_id).where(School.id == school_id).first()
    if here["oneroster_sourced_id"] == dataset.org:
        return
    other = await School.select(School.name).where(
        (School.trust == here["trust"]) & (School.oneroster_sourced_id == dataset.org)
        & (School.id != school_id)).first()
    if other:
        raise Malformed(Problem(export.oneroster.manifest_name, None,
                                f"This export is for another school: its users belong to the org {dataset.org}, "
                                f"which an earlier import matched to {other['name']}."))


async def _dry_run(scope: Scope, upload: Upload) -> Plan:
    prepared = await _prepare(scope, upload)
    if prepared.plan.fatal:
        return prepared.plan
    return await _run(scope, prepared, None)


async def _run(scope: Scope, prepared: Prepared, writing: Writing | None) -> Plan:
    """Compare the upload with the database and, when writing, apply it (inside the caller's transaction)."""
    if prepared.orgs is not None:
        return await _run_trust(scope, prepared, writing)
    school = await School.select(School.id, School.name, School.slug, School.trust, School.oneroster_sourced_id
                                 ).where(School.id == prepared.school_id).first()
    if not school:
        raise NotFound(NOT_HERE)
    dataset = prepared.dataset
    plan = await _plan(school["id"], dataset, prepared.photos, prepared.plan.photos_filename,
                       trust_id=school["trust"])
    plan.filename, plan.photos_filename = prepared.plan.filename, prepared.plan.photos_filename
    plan.school_id, plan.school_name, plan.school_slug = school["id"], school["name"], school["slug"]
    for org in prepared.all_orgs:
        if org.sourced_id == dataset.org:
            plan.orgs.append(OrgLine(org.sourced_id, org.name, org.code, "match", school["id"], school["name"],
                                     line=org.line))
        else:
            plan.orgs.append(OrgLine(org.sourced_id, org.name, org.code, "skip", reason=f"not imported or created: "
                                     f"{scope.skip_reason}", line=org.line))
    if writing is not None:
        await _apply_part(plan, school["trust"], dataset.org, writing, steal_org=False)
    return plan


async def _run_trust(scope: Scope, prepared: Prepared, writing: Writing | None) -> Plan:
    plan = prepared.plan
    plan.trust = True
    rows = await School.select(School.id, School.name, School.slug, School.urn, School.la_code,
                               School.establishment_number, School.oneroster_sourced_id
                               ).where(School.trust == scope.trust_id).order_by(School.id)
    orgs_file = next((f for f in plan.files if f.lower() == "orgs.csv"), "orgs.csv")
    plan.orgs, problems = _match_orgs(prepared.orgs, rows, orgs_file, scope.school_id)
    if problems:
        plan.fatal.extend(problems)
        return plan
    slugs = {r["id"]: r["slug"] for r in rows}
    errors: list[Problem] = list(plan.errors)
    for line in plan.orgs:
        if line.action == "skip":
            continue
        dataset = prepared.datasets[line.sourced_id]
        school_id = line.school_id
        if line.action == "create" and writing is not None:
            school_id, slug = await _create_school(scope.trust_id, line, writing)
            slugs[school_id] = slug
        # A school that would be created has no rows yet: its plan compares with nothing (id -1).
        part = await _plan(school_id if school_id is not None else -1, dataset, prepared.photos,
                           plan.photos_filename, trust_id=scope.trust_id, report_unmatched_photos=False)
        if dataset.pupils_bulk and not dataset.on_roll and part.pupils_on_roll:
            plan.fatal.append(Problem(orgs_file, line.line, f"This full export lists no pupils of "
                                      f"{line.school_name}: importing it would mark every pupil there as left. Check "
                                      "the export, or import it as changes only."))
            return plan
        part.school_id, part.school_name, part.school_slug = school_id, line.school_name, slugs.get(school_id, "")
        part.new_school, part.trust_part = line.action == "create", True
        if writing is not None:
            await _apply_part(part, scope.trust_id, line.sourced_id, writing, steal_org=True)
        plan.parts.append(part)
        plan.photos_matched |= part.photos_matched
        errors.extend(part.errors)
    photos_zip = plan.photos_filename or "photos.zip"
    errors.extend(Problem(photos_zip, None, f"{member}: no pupil has this UPN or MIS id")
                  for member, _, _ in prepared.photos if member not in plan.photos_matched)
    # A row both schools read (a parent's, say) is one problem, listed once.
    plan.errors = sorted(dict.fromkeys(errors), key=lambda p: (p.file, p.line or 0))
    return plan


def _match_orgs(orgs: list[SchoolOrg], rows: list[dict], orgs_file: str,
                home: int) -> tuple[list[OrgLine], list[Problem]]:
    """Each school org to a school of the trust: by URN or LAESTAB (the identifier), else by the sourcedId an
    earlier import remembered, else (an org without either) by its name, or, the only school org of the
    export, the importer's own school (home), as a one-school import takes it. An org that matches none is a
    school to create, when its identifier says which school it is and no school of the trust by its name lacks
    the URN and LAESTAB that would tell."""
    by_urn = {r["urn"]: r for r in rows if r["urn"]}
    by_laestab = {r["la_code"] + r["establishment_number"]: r for r in rows if r["la_code"]}
    by_sourced_id = {r["oneroster_sourced_id"]: r for r in rows if r["oneroster_sourced_id"]}
    by_name: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_name[" ".join(r["name"].split()).casefold()].append(r)
    lines: list[OrgLine] = []
    problems: list[Problem] = []
    taken: dict[int, SchoolOrg] = {}
    seen: dict[str, SchoolOrg] = {}
    creating: dict[str, SchoolOrg] = {}
    for org in orgs:
        if org.sourced_id in seen:
            problems.append(Problem(orgs_file, org.line, f"the sourcedId {org.sourced_id} is also on line "
                                                         f"{seen[org.sourced_id].line}"))
            continue
        seen[org.sourced_id] = org
        school = (by_urn if len(org.code) == 6 else by_laestab).get(org.code) if org.code else None
        school = school or by_sourced_id.get(org.sourced_id)
        if school is None and not org.code and len(by_name[org.name.casefold()]) == 1:
            school = by_name[org.name.casefold()][0]
        if school is None and not org.code and len(orgs) == 1:
            school = next((r for r in rows if r["id"] == home and not r["oneroster_sourced_id"]), None)
        unidentified = [r for r in by_name[org.name.casefold()] if not (r["urn"] or r["la_code"])]
        if school is not None:
            if school["id"] in taken:
                problems.append(Problem(orgs_file, org.line, f"{org.name} and {taken[school['id']].name} (line "
                                                             f"{taken[school['id']].line}) are both {school['name']}"))
                continue
            taken[school["id"]] = org
            lines.append(OrgLine(org.sourced_id, org.name, org.code, "match", school["id"], school["name"],
                                 line=org.line))
        elif not org.code:
            lines.append(OrgLine(org.sourced_id, org.name, org.code, "skip", line=org.line, reason=(
                "its identifier is not a URN or LAESTAB, so Corridor cannot tell which school it is, and no school of "
                "the trust has its name. Give the org its URN or LAESTAB in the MIS, or add the school under "
                "School details, then import again")))
        elif unidentified:
            lines.append(OrgLine(org.sourced_id, org.name, org.code, "skip", line=org.line, reason=(
                f"it may be {unidentified[0]['name']}, which has no URN or LAESTAB in Corridor to tell. Add them "
                "under School details, then import again")))
        elif not org.name or len(org.name) > 200:
            lines.append(OrgLine(org.sourced_id, org.name, org.code, "skip", line=org.line,
                                 reason="a new school needs a name of up to 200 characters"))
        elif org.code in creating:
            problems.append(Problem(orgs_file, org.line, f"the identifier {org.code} is also on line "
                                                         f"{creating[org.code].line}"))
        else:
            creating[org.code] = org
            lines.append(OrgLine(org.sourced_id, org.name, org.code, "create", None, org.name, line=org.line))
    return lines, problems


async def _create_school(trust_id: int, line: OrgLine, writing: Writing) -> tuple[int, str]:
    """A school of the trust for an org no school matched (time zone Europe/London, as every school), with
    the features' defaults, as a trust admin adding it under School details would; audited."""
    urn, la_code, establishment = (line.code, "", "") if len(line.code) == 6 else (None, line.code[:3], line.code[3:])
    base = schools.slugify(line.name, "school")
    taken = {r["slug"] for r in await School.select(School.slug).where(School.slug.like(f"{base}%"))}
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    school = School(trust=trust_id, name=line.name, slug=slug, urn=urn, la_code=la_code,
                    establishment_number=establishment, oneroster_sourced_id=line.sourced_id, created_at=writing.now)
    await school.save()
    for defaults in writing.prepare:
        await defaults(school.id)
    actor = writing.actor
    await audit.record("school.created", actor_id=actor.person_id if actor else None,
                       actor_label=actor.label if actor else "corridor command", school_id=school.id,
                       subject_type="school", subject_id=school.id, subject_label=line.name, origin=writing.origin,
                       detail={"name": line.name, "urn": urn, "la_code": la_code, "establishment_number": establishment,
                               "slug": slug, "oneroster_sourced_id": line.sourced_id, "by": "import"})
    return school.id, slug


async def _apply_part(plan: Plan, trust_id: int, org: str, writing: Writing, *, steal_org: bool) -> None:
    """Write one school's plan, remember the org it came from, and audit it."""
    if plan.needs_confirmation and writing.confirm.get(plan.school_id) != len(plan.pupils_left):
        writing.unconfirmed.append(plan)  # the caller refuses the whole import, after every school is checked
        return
    await _write(plan.school_id, plan.ops, writing.now)
    if org:
        await _remember_org(plan.school_id, trust_id, org, steal=steal_org)
    if plan.pupils_added or plan.pupils_changed or plan.pupils_left or plan.groups_added \
            or plan.groups_changed or plan.ops.photos:
        await mark_changed(plan.school_id)
    counts = plan.counts()
    if plan.trust_part:
        counts |= {"trust_import": True, "school_created": plan.new_school}
    actor = writing.actor
    await audit.record(
        "import.applied", actor_id=actor.person_id if actor else None,
        actor_label=actor.label if actor else "corridor command", school_id=plan.school_id, subject_type="import",
        subject_id=writing.batch_id, subject_label=f"{plan.format_label} ({counts['mode']})",
        origin=writing.origin, detail=counts)


async def _remember_org(school_id: int, trust_id: int, org: str, *, steal: bool) -> None:
    """Keep the org's sourcedId on the school, so later imports match it even if its identifier changes. A
    trust import moves it from a school that had it before; a school's own import never touches another's."""
    others = (School.trust == trust_id) & (School.oneroster_sourced_id == org) & (School.id != school_id)
    if steal:
        await School.update({School.oneroster_sourced_id: ""}).where(others)
    elif await School.exists().where(others):
        return
    await School.update({School.oneroster_sourced_id: org[:64]}).where(
        (School.id == school_id) & (School.oneroster_sourced_id != org[:64]))


async def _prepared_photos(upload: Upload) -> list[tuple[str, str, tuple[bytes, bytes] | str]]:
    """Every photo in the zip, checked and re-encoded (or why it cannot be used), off the event loop."""
    if not upload.photos:
        return []
    members = formats.read_photos(_base(upload.photos_filename) or "photos.zip", upload.photos)

    def prepare_all() -> list[tuple[str, str, tuple[bytes, bytes] | str]]:
        out: list[tuple[str, str, tuple[bytes, bytes] | str]] = []
        for member, stem, data in members:
            try:
                out.append((member, stem, prepare_photo(data)))
            except CorridorError as exc:
                out.append((member, stem, exc.message))
        return out

    return await anyio.to_thread.run_sync(prepare_all)


# Planning: compare what the files say with what Corridor holds ----------------------------------------

def _differs(current: Any, new: Any) -> bool:
    if isinstance(current, float) and isinstance(new, float):
        return abs(current - new) >= 0.05
    return current != new


def _pupil_label(fields: dict[str, Any]) -> str:
    first = fields.get("preferred_first_name") or fields.get("legal_first_name", "")
    year = fields.get("year_code", "")
    return f"{first} {fields.get('legal_last_name', '')}".strip() + (f" (year {year})" if year else "")


async def _plan(school_id: int, data: Dataset, photos: list, photos_filename: str, *, trust_id: int,
                report_unmatched_photos: bool = True) -> Plan:
    plan = Plan(format=data.format, bulk=data.pupils_bulk, files=list(data.files), errors=list(data.errors),
                notes=list(data.notes))
    ops = plan.ops

    # Tutor groups.
    groups = await TutorGroup.select(TutorGroup.id, TutorGroup.mis_id, TutorGroup.name, TutorGroup.year_code,
                                     TutorGroup.tutor_name).where(TutorGroup.school == school_id)
    group_by_mis = {g["mis_id"]: g for g in groups if g["mis_id"]}
    new_groups: set[str] = set()
    for rec in data.groups:
        current = group_by_mis.get(rec.mis_id)
        if current:
            diff = {k: v for k, v in rec.fields.items() if _differs(current[k], v)}
            if diff:
                ops.group_updates.append((current["id"], diff))
                plan.groups_changed.append((rec.fields.get("name", current["name"]),
                                            [label for k, label in GROUP_LABELS.items() if k in diff]))
            else:
                plan.groups_unchanged += 1
        else:
            ops.new_groups.append({"mis_id": rec.mis_id, "name": rec.fields.get("name", rec.mis_id),
                                   "year_code": rec.fields.get("year_code", ""),
                                   "tutor_name": rec.fields.get("tutor_name", "")})
            new_groups.add(rec.mis_id)
            plan.groups_added.append(rec.fields.get("name", rec.mis_id))

    # Pupils.
    columns = [Pupil.id, Pupil.mis_id, Pupil.left_on, *(getattr(Pupil, k) for k in PUPIL_LABELS
                                                          if k not in ("mis_id", "left_on"))]
    existing = await Pupil.select(*columns).where(Pupil.school == school_id)
    by_mis = {p["mis_id"]: p for p in existing}
    by_upn = {p["upn"]: p for p in existing if p["upn"]}
    named = data.on_roll | {r.mis_id for r in data.pupils}
    plan.pupils_on_roll = sum(1 for p in existing if p["left_on"] is None)
    pupil_ref: dict[str, int | New] = {p["mis_id"]: p["id"] for p in existing}
    claimed: dict[int, int] = {}  # existing pupil id -> line that matched it
    new_upns: dict[str, str] = {}
    for rec in data.pupils:
        fields = dict(rec.fields)
        if "tutor_group" in fields:
            ref = fields["tutor_group"]
            if not ref:
                fields["tutor_group"] = None
            elif ref in new_groups:
                fields["tutor_group"] = New(ref)
            elif ref in group_by_mis:
                fields["tutor_group"] = group_by_mis[ref]["id"]
            else:
                plan.errors.append(Problem(rec.file, rec.line, f"unknown tutor group id {ref}"))
                continue
        elif rec.group_candidates:
            kept = [c for c in rec.group_candidates if c in group_by_mis]
            if len(kept) == 1:
                fields["tutor_group"] = group_by_mis[kept[0]]["id"]
        current = by_mis.get(rec.mis_id)
        if current is None and "upn" in fields:
            same = by_upn.get(fields["upn"])
            # A MIS that renumbered its pupils: the UPN is national and permanent, so it is the same child.
            if same and same["mis_id"] not in named:
                current, fields["mis_id"] = same, rec.mis_id
        if current is not None and current["id"] in claimed:
            plan.errors.append(Problem(rec.file, rec.line, f"this is the same pupil (UPN {fields.get('upn')}) as "
                                                           f"line {claimed[current['id']]}"))
            continue
        upn = fields.get("upn")
        if upn and (upn in new_upns or (upn in by_upn and by_upn[upn] is not current)):
            owner = new_upns.get(upn) or by_upn[upn]["mis_id"]
            plan.errors.append(Problem(rec.file, rec.line,
                                       f"UPN {upn} already belongs to the pupil with MIS id {owner}"))
            continue
        if current is None:
            if not rec.on_roll:
                continue  # a date of birth or an enrolment for someone who is not a pupil here
            missing = [label for key, label in NEW_PUPIL_NEEDS.items() if key not in fields]
            if missing:
                plan.errors.append(Problem(rec.file, rec.line, f"a new pupil needs {', '.join(missing)}"))
                continue
            ops.new_pupils.append({"mis_id": rec.mis_id, **fields})
            pupil_ref[rec.mis_id] = New(rec.mis_id)
            new_upns[upn] = rec.mis_id
            plan.pupils_added.append(_pupil_label(fields))
            continue
        claimed[current["id"]] = rec.line
        pupil_ref[rec.mis_id] = current["id"]
        if rec.on_roll and current["left_on"] is not None:
            fields["left_on"] = None  # back on roll
        diff = {k: v for k, v in fields.items() if _differs(current[k], v)}
        if diff:
            ops.pupil_updates.append((current["id"], diff))
            plan.pupils_changed.append((_pupil_label({**current, **fields}),
                                        list(dict.fromkeys(label for k, label in PUPIL_LABELS.items()
                                                           if k in diff))))
        else:
            plan.pupils_unchanged += 1
    if data.pupils_bulk:
        for p in existing:
            if p["left_on"] is None and p["mis_id"] not in named and p["id"] not in claimed:
                ops.left.append(p["id"])
                plan.pupils_left.append(_pupil_label(p))

    # Family contacts, one row per contact per pupil, keyed by (pupil, contact MIS id).
    contacts = await Contact.select(
        Contact.id, Contact.pupil, Contact.mis_id, *(getattr(Contact, k) for k in CONTACT_LABELS),
    ).where(Contact.pupil.is_in(Pupil.select(Pupil.id).where(Pupil.school == school_id)))
    contact_by_key = {(c["pupil"], c["mis_id"]): c for c in contacts if c["mis_id"]}
    per_pupil: dict[int | New, int] = {}
    for c in contacts:
        per_pupil[c["pupil"]] = per_pupil.get(c["pupil"], 0) + 1
    for rec in data.contacts:
        ref = pupil_ref.get(rec.pupil_mis_id)
        if ref is None:
            if rec.pupil_mis_id in named:
                plan.errors.append(Problem(rec.file, rec.line,
                                           f"pupil {rec.pupil_mis_id} was skipped, so this contact is too"))
            elif not rec.soft:
                plan.errors.append(Problem(rec.file, rec.line, f"unknown pupil id {rec.pupil_mis_id} (not in Corridor, "
                                                               "and not added by this import)"))
            continue
        current = contact_by_key.get((ref, rec.mis_id)) if isinstance(ref, int) else None
        fields = dict(rec.fields)
        if current is None:
            per_pupil[ref] = per_pupil.get(ref, 0) + 1
            fields.setdefault("priority", per_pupil[ref])
            ops.new_contacts.append({"pupil": ref, "mis_id": rec.mis_id, **fields})
            plan.contacts_added += 1
            continue
        diff = {k: v for k, v in fields.items() if _differs(current[k], v)}
        if diff:
            ops.contact_updates.append((current["id"], diff))
            plan.contacts_changed += 1
        else:
            plan.contacts_unchanged += 1

    # Staff: a person by email, with a staff role at this school. Other roles are never touched here.
    if data.staff:
        school = {"trust": trust_id}
        emails = [r.email for r in data.staff]
        people: dict[str, int] = {}
        memberships: list[dict] = []
        for start in range(0, len(emails), 500):
            rows = await Person.select(Person.id, Person.email).where(Person.email.is_in(emails[start:start + 500]))
            people.update({r["email"]: r["id"] for r in rows})
        ids = list(people.values())
        for start in range(0, len(ids), 500):
            memberships += await Membership.select(
                Membership.person, Membership.trust, Membership.school, Membership.role,
            ).where(Membership.person.is_in(ids[start:start + 500]))
        for rec in data.staff:
            person_id = people.get(rec.email)
            if person_id is None:
                ops.new_people.append((rec.email, rec.name))
                plan.staff_added.append(rec.email)
                continue
            theirs = [m for m in memberships if m["person"] == person_id]
            if theirs and school["trust"] not in {m["trust"] for m in theirs}:
                plan.errors.append(Problem(rec.file, rec.line, f"{rec.email} belongs to someone at another trust"))
                continue
            if any(m["role"] == "staff" and (m["school"] == school_id or m["school"] is None) for m in theirs
                   if m["trust"] == school["trust"]):
                plan.staff_unchanged += 1
            else:
                ops.new_memberships.append(person_id)
                plan.staff_added.append(rec.email)

    # Photos, matched by UPN or MIS id (as the pupils will be once this import is applied).
    if photos:
        await _plan_photos(plan, photos, photos_filename or "photos.zip", existing, pupil_ref,
                           report_unmatched=report_unmatched_photos)
    plan.errors.sort(key=lambda p: (p.file, p.line or 0))
    return plan


async def _plan_photos(plan: Plan, photos: list, zip_name: str, existing: list[dict],
                       pupil_ref: dict[str, int | New], *, report_unmatched: bool) -> None:
    """Photos matched to pupils; a photo matching nobody here is a problem unless another school of a
    trust import may have the pupil (report_unmatched=False: the caller reports those no school matched)."""
    ops = plan.ops
    keys: dict[str, int | New] = {}
    for p in existing:
        keys[p["upn"].upper()] = p["id"]
        keys.setdefault(p["mis_id"].upper(), p["id"])
    for pupil_id, diff in ops.pupil_updates:
        if "upn" in diff:
            keys[diff["upn"].upper()] = pupil_id
    for mis_id, ref in pupil_ref.items():
        keys[mis_id.upper()] = ref
    for new in ops.new_pupils:
        keys[new["upn"].upper()] = New(new["mis_id"])
    matched: list[tuple[int | New, bytes, bytes]] = []
    taken: dict[int | New, str] = {}
    for member, stem, prepared in photos:
        ref = keys.get(stem.upper())
        if ref is not None:
            plan.photos_matched.add(member)
        if ref is None:
            if report_unmatched:
                plan.errors.append(Problem(zip_name, None, f"{member}: no pupil has this UPN or MIS id"))
        elif isinstance(prepared, str):
            plan.errors.append(Problem(zip_name, None, f"{member}: {prepared}"))
        elif ref in taken:
            plan.errors.append(Problem(zip_name, None, f"{member}: another photo ({taken[ref]}) is for the same pupil"))
        else:
            taken[ref] = member
            matched.append((ref, *prepared))
    current: dict[int, bytes | None] = {}
    ids = [ref for ref, _, _ in matched if isinstance(ref, int)]
    for start in range(0, len(ids), 200):
        for row in await Pupil.select(Pupil.id, Pupil.photo).where(Pupil.id.is_in(ids[start:start + 200])):
            current[row["id"]] = bytes(row["photo"]) if row["photo"] else None
    for ref, photo, thumb in matched:
        old = current.get(ref) if isinstance(ref, int) else None
        if old == photo:
            plan.photos_unchanged += 1
            continue
        if old is None:
            plan.photos_added += 1
        else:
            plan.photos_replaced += 1
        ops.photos.append((ref, photo, thumb))


# Writing ----------------------------------------------------------------------------------------------

async def _write(school_id: int, ops: Ops, now: dt.datetime) -> None:
    """Everything the plan says, inside the caller's transaction."""
    group_ids: dict[str, int] = {}
    if ops.new_groups:
        rows = [TutorGroup(school=school_id, **g) for g in ops.new_groups]
        for start in range(0, len(rows), 500):
            await TutorGroup.insert(*rows[start:start + 500])
        group_ids = {row.mis_id: row.id for row in rows}
    for group_id, values in ops.group_updates:
        await TutorGroup.update(values).where(TutorGroup.id == group_id)

    def resolved(values: dict[str, Any]) -> dict[str, Any]:
        group = values.get("tutor_group")
        return {**values, "tutor_group": group_ids[group.mis_id]} if isinstance(group, New) else values

    pupil_ids: dict[str, int] = {}
    if ops.new_pupils:
        rows = [Pupil(school=school_id, created_at=now, updated_at=now, **resolved(p)) for p in ops.new_pupils]
        for start in range(0, len(rows), 500):
            await Pupil.insert(*rows[start:start + 500])
        pupil_ids = {row.mis_id: row.id for row in rows}
    for pupil_id, values in ops.pupil_updates:
        await Pupil.update({**resolved(values), "updated_at": now}).where(Pupil.id == pupil_id)
    today = now.astimezone(LONDON).date()
    for start in range(0, len(ops.left), 500):
        await Pupil.update({Pupil.left_on: today, Pupil.updated_at: now}).where(
            Pupil.id.is_in(ops.left[start:start + 500]))

    def pupil_of(ref: int | New) -> int:
        return pupil_ids[ref.mis_id] if isinstance(ref, New) else ref

    if ops.new_contacts:
        rows = [Contact(**{**c, "pupil": pupil_of(c["pupil"])}) for c in ops.new_contacts]
        for start in range(0, len(rows), 500):
            await Contact.insert(*rows[start:start + 500])
    for contact_id, values in ops.contact_updates:
        await Contact.update(values).where(Contact.id == contact_id)

    if ops.new_people or ops.new_memberships:
        trust = (await School.select(School.trust).where(School.id == school_id).first())["trust"]
        people = [Person(email=email, display_name=name, user_handle=secrets.token_urlsafe(32), created_at=now)
                  for email, name in ops.new_people]
        for start in range(0, len(people), 500):
            await Person.insert(*people[start:start + 500])
        # A staff role only: no enrolment link is issued here (an admin sends links from Staff and roles).
        members = [Membership(person=pid, trust=trust, school=school_id, role="staff", created_at=now)
                   for pid in [p.id for p in people] + ops.new_memberships]
        for start in range(0, len(members), 500):
            await Membership.insert(*members[start:start + 500])

    for ref, photo, thumb in ops.photos:
        await Pupil.update({Pupil.photo: photo, Pupil.photo_thumb: thumb, Pupil.updated_at: now}).where(
            Pupil.id == pupil_of(ref))
