"""The `corridor` command: serve, migrate, seed-demo, setup, invite, revoke-sessions, import, import-attendance,
purge, retention, audit verify, backup, restore."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from app.settings import Settings, SettingsError

HELP = """Corridor: the pastoral app for schools. The database comes from DATABASE_URL (default: an SQLite
file under var/). Every setting is an environment variable; see the README's configuration table."""


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        sys.exit(f"corridor: configuration error: {exc}")


async def _with_db(settings: Settings, work):
    from app import db

    engine = db.bind(settings.database_url)
    pooled = settings.is_postgres
    if pooled:
        await engine.start_connection_pool(min_size=1, max_size=4)
    try:
        return await work()
    finally:
        if pooled:
            await engine.close_connection_pool()
        await db.close(engine)


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from app.logs import uvicorn_log_config
    from app.server import GRACE_SECONDS, HTTP, LOOP

    if args.port:
        # Before any settings are read (here, and by create_app in uvicorn): without PUBLIC_URL the public URL
        # follows PORT, so passkeys are made for the origin the app really answers on.
        os.environ["PORT"] = str(args.port)
    settings = _settings()
    host = args.host or settings.host
    port = settings.port
    workers = args.workers
    if workers < 1:
        sys.exit("corridor: --workers must be 1 or more.")
    if workers > 1 and not settings.is_postgres:
        # One SQLite file takes one writer at a time, and what one process keeps in memory (the lookup index, the
        # live channels) would not reach another. Not measured safe: refused rather than served wrongly.
        sys.exit("corridor: --workers above 1 needs PostgreSQL (DATABASE_URL=postgres://...). On SQLite Corridor "
                 "serves from one process: run `corridor serve` without --workers.")
    if workers > 1 and settings.live_backend == "memory":
        sys.exit("corridor: --workers above 1 needs live updates that cross processes: LIVE_BACKEND=postgres "
                 "(the default on PostgreSQL) or redis, not memory.")
    print(f"Corridor serving {settings.public_url} (listening on {host}:{port}, "
          f"database: {'PostgreSQL' if settings.is_postgres else 'SQLite'}"
          f"{f', {workers} workers' if workers > 1 else ''})", flush=True)
    # Access logs are off: URLs must never carry pupil data, but the log should not be where we find out.
    # The database drivers' loggers are pinned at WARNING before the app even loads (app/logs.py).
    # Each worker is its own process with its own app (create_app runs in each), database pool and LISTEN
    # connection; the escalation timer runs in each, and its conditional update lets exactly one escalate.
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, access_log=False, workers=workers,
                loop=LOOP, http=HTTP, timeout_graceful_shutdown=GRACE_SECONDS,
                # Forwarded headers are read by the app, from TRUSTED_PROXIES only (uvicorn's default trusts
                # any local process, which could then forge its address).
                proxy_headers=False, log_level=settings.log_level.lower(),
                log_config=uvicorn_log_config(with_pid=workers > 1))


def cmd_migrate(args: argparse.Namespace) -> None:
    from app import db

    settings = _settings()
    ran, total = asyncio.run(db.migrate(settings.database_url))
    if ran:
        print(f"Database updated: {ran} migration{'s' if ran != 1 else ''} applied; "
              f"it is up to date ({total} in all).")
    else:
        print(f"Database is already up to date ({total} migrations); nothing to do.")


def cmd_seed_demo(args: argparse.Namespace) -> None:
    from app.domain.accounts.service import issue_enrolment
    from app.domain.audit.service import CLI
    from app.domain.demo.service import seed_demo

    settings = _settings()

    async def work():
        created, admin_id = await seed_demo(args.pupils, incidents=not args.no_incidents)
        link = await issue_enrolment(settings, admin_id, by=None, origin=CLI)
        return created, link

    created, link = asyncio.run(_with_db(settings, work))
    print("Seeded the demo trust and school." if created else "The demo school is already there; nothing seeded.")
    print(f"\nDemo admin enrolment link (single use, {settings.enrolment_link_hours} hours):\n  {link}\n")


SETUP_QUESTIONS = [  # (field, the flag's attribute, question, required)
    ("school", "school", "The school's name", True),
    ("admin", "admin", "The first admin's email address", True),
    ("admin-name", "admin_name", "The admin's name, as colleagues know it (Enter: the email's local part)", False),
    ("trust", "trust", "The trust's name (Enter: the school's name, for a school on its own)", False),
    ("urn", "urn", "The school's URN, 6 digits (Enter to skip)", False),
    ("laestab", "laestab", "The school's LAESTAB (DfE number), 7 digits like 8014001 (Enter to skip)", False),
    ("phase", "phase", "The phase: nursery, primary, middle, secondary, all-through, 16 plus, alternative "
                       "provision or special (Enter to skip)", False),
]


def _ask_for_missing(args: argparse.Namespace) -> None:
    """At a terminal, ask for each field the flags did not give, again until the answer can be used."""
    from app.domain.schools import service as schools
    from app.errors import BadRequest

    checks = {"school": lambda v: schools.clean_name(v, "school's name"), "admin": schools._clean_email,
              "admin-name": lambda v: schools.clean_name(v, "admin's name") if v else None,
              "trust": lambda v: schools.clean_name(v, "trust's name") if v else None,
              "urn": schools.clean_urn, "laestab": schools.clean_laestab, "phase": schools.clean_phase}
    for field, attr, question, required in SETUP_QUESTIONS:
        if getattr(args, attr) is not None:
            continue
        while True:
            try:
                answer = input(f"{question}: ").strip()
            except EOFError:
                sys.exit(f"\ncorridor: setup stopped before --{field} was given; nothing was changed.")
            if not answer and not required:
                break
            try:
                checks[field](answer)
            except BadRequest as exc:
                print(f"  {exc.message}")
                continue
            setattr(args, attr, answer)
            break


def cmd_setup(args: argparse.Namespace) -> None:
    from app.domain.accounts.service import issue_enrolment
    from app.domain.audit.service import CLI
    from app.domain.incidents.service import ensure_defaults as incident_defaults
    from app.domain.oncall.service import ensure_defaults as oncall_defaults
    from app.domain.schools import service as schools
    from app.errors import CorridorError

    if sys.stdin.isatty():
        _ask_for_missing(args)
    missing = [f"--{field}" for field, attr, _, required in SETUP_QUESTIONS if required and getattr(args, attr) is None]
    if missing:
        sys.exit(f"corridor: setup needs {' and '.join(missing)} (or run it at a terminal to be asked); "
                 "nothing was changed.")
    settings = _settings()

    async def work():
        done = await schools.set_up_school(
            school=args.school, admin=args.admin, admin_name=args.admin_name, trust=args.trust, urn=args.urn,
            laestab=args.laestab, phase=args.phase, origin=CLI, defaults=(incident_defaults, oncall_defaults))
        # Rerun, a fresh link only while the admin has none working yet: an admin who has signed in gets a
        # recovery link from `corridor invite`, on purpose, never as a side effect of re-running setup.
        link = None if done.admin_enrolled else await issue_enrolment(settings, done.admin_id, by=None, origin=CLI)
        return done, link

    try:
        done, link = asyncio.run(_with_db(settings, work))
    except schools.SetupInvalid as exc:
        lines = "\n".join(f"  --{field}: {message}" for field, message in exc.errors.items())
        sys.exit(f"corridor: setup cannot use this; nothing was changed.\n{lines}")
    except CorridorError as exc:
        sys.exit(f"corridor: {exc.message}")
    if done.created:
        print(f"Set up {done.school_name} (school {done.school_slug}) in the trust {done.trust_name}, with "
              f"{done.admin_email} as its admin (admin of the school and of the trust).")
    else:
        print(f"{done.school_name} (school {done.school_slug}) is already set up with {done.admin_email} as an "
              "admin; nothing was changed.")
    if link:
        print(f"\nThe admin's enrolment link (single use, {settings.enrolment_link_hours} hours"
              f"{'; any earlier link no longer works' if not done.created else ''}):\n  {link}\n")
        print("Open it on the admin's phone or computer to create a passkey. Next: `corridor import` the MIS "
              "export, and `corridor invite` colleagues.")
    else:
        print(f"{done.admin_email} has already signed in with a passkey, so no new link was made. For a lost "
              f"phone: corridor invite {done.admin_email} --role admin --school {done.school_slug}")


def cmd_invite(args: argparse.Namespace) -> None:
    from app.domain.accounts.service import issue_enrolment
    from app.domain.audit.service import CLI
    from app.domain.schools import service as schools
    from app.domain.schools.tables import School
    from app.errors import CorridorError

    settings = _settings()

    async def work():
        if args.school:
            school = await schools.school_by_slug(args.school)
        else:
            all_schools = await School.select(School.id, School.slug)
            if len(all_schools) != 1:
                raise CorridorError("Say which school with --school SLUG (there are "
                                    f"{len(all_schools)}: {', '.join(s['slug'] for s in all_schools) or 'none'}).")
            school = all_schools[0]
        person_id = await schools.add_person(email=args.email, display_name=args.name or args.email.split("@")[0],
                                             school_id=school["id"], roles=args.role, actor=None, origin=CLI,
                                             trust_wide=args.trust_wide)
        return await issue_enrolment(settings, person_id, by=None, origin=CLI)

    try:
        link = asyncio.run(_with_db(settings, work))
    except CorridorError as exc:
        sys.exit(f"corridor: {exc.message}")
    print(link)


def cmd_revoke_sessions(args: argparse.Namespace) -> None:
    from app.domain.accounts.service import revoke_sessions_by_email
    from app.domain.audit.service import CLI
    from app.errors import CorridorError

    settings = _settings()
    try:
        count = asyncio.run(_with_db(settings, lambda: revoke_sessions_by_email(args.email, origin=CLI)))
    except CorridorError as exc:
        sys.exit(f"corridor: {exc.message}")
    print(f"Ended {count} session{'s' if count != 1 else ''} for {args.email}.")


def _print_counts(c: dict, indent: str) -> None:
    print(f"{indent}pupils        {c['pupils_added']} added, {c['pupils_changed']} changed, {c['pupils_left']} marked "
          f"as left, {c['pupils_unchanged']} unchanged")
    print(f"{indent}tutor groups  {c['tutor_groups_added']} added, {c['tutor_groups_changed']} changed, "
          f"{c['tutor_groups_unchanged']} unchanged")
    print(f"{indent}contacts      {c['contacts_added']} added, {c['contacts_changed']} changed, "
          f"{c['contacts_unchanged']} unchanged")
    print(f"{indent}staff         {c['staff_added']} added, {c['staff_unchanged']} unchanged")
    print(f"{indent}photos        {c['photos_added']} added, {c['photos_replaced']} replaced, "
          f"{c['photos_unchanged']} unchanged")


def _confirm_flag(plan, part) -> str:
    count = len(part.pupils_left)
    return f"--confirm-leavers {part.school_slug}={count}" if plan.trust else f"--confirm-leavers {count}"


def _leavers_message(plan, parts) -> str:
    return "\n".join(f"{p.left_statement} That is more than a fifth of the {p.pupils_on_roll:,} on roll. If that is "
                     f"right, run again with {_confirm_flag(plan, p)}; if the export is not the whole school, use "
                     "--delta (for OneRoster too), and nobody is marked as left." for p in parts)


def _print_plan(plan, *, applied: bool) -> None:
    print(f"{plan.format_label}, {'full export' if plan.bulk else 'changes only'}: "
          f"{', '.join(plan.files) or plan.filename}{f' and {plan.photos_filename}' if plan.photos_filename else ''}")
    if plan.orgs:
        print("Schools in this export:")
        for org in plan.orgs:
            print(f"  {org.label}: {org.describe(applied)}")
    print("Applied:" if applied else "Dry run: nothing has changed. This import would:")
    if plan.trust:
        for part in plan.parts:
            new = (" (created)" if applied else " (new school)") if part.new_school else ""
            print(f"  {part.school_name}{new}{f' [{part.school_slug}]' if part.school_slug else ''}:")
            _print_counts(part.counts(), "    ")
        if not plan.parts:
            print("  import no school.")
    else:
        _print_counts(plan.counts(), "  ")
    if not applied and plan.confirmations:
        print(f"Needs confirming: {_leavers_message(plan, plan.confirmations)}")
    if plan.errors:
        rows = f"{len(plan.errors)} row{'s' if len(plan.errors) != 1 else ''}"
        print(f"{rows} {'were' if applied else 'will be'} skipped:")
        for problem in plan.errors:
            print(f"  {problem}")
    for note in plan.notes:
        print(f"Note: {note}")
    for part in plan.parts:
        for note in part.notes:
            print(f"Note ({part.school_name}): {note}")
    if not applied:
        print("Run again with --apply to apply it.")


def cmd_purge(args: argparse.Namespace) -> None:
    from app.domain.notifications.service import purge_receipts
    from app.errors import CorridorError

    settings = _settings()
    try:
        count = asyncio.run(_with_db(settings, lambda: purge_receipts(args.days)))
    except CorridorError as exc:
        sys.exit(f"corridor: {exc.message}")
    print(f"Deleted {count} submission receipt{'s' if count != 1 else ''} older than {args.days} days.")


def cmd_retention(args: argparse.Namespace) -> None:
    from app.domain.retention import service as retention

    if args.apply and args.dry_run:
        sys.exit("corridor: choose --dry-run or --apply, not both.")
    settings = _settings()
    work = retention.apply if args.apply else retention.plan
    outcomes = asyncio.run(_with_db(settings, lambda: work()))
    print(retention.report(outcomes, applied=args.apply), end="")


def _confirmations(values: list[str]) -> tuple[dict[str, int], set[int]]:
    """--confirm-leavers values: SLUG=N for one school, or N for any school marking exactly N pupils as left."""
    by_slug, counts = {}, set()
    for value in values:
        slug, _, number = value.rpartition("=")
        number = number.replace(",", "").strip()
        if not number.isdigit():
            sys.exit(f"corridor: --confirm-leavers {value}: give the number of pupils, e.g. --confirm-leavers 412 "
                     "(or SLUG=412 for one school of a trust import); nothing was changed.")
        if slug:
            by_slug[slug.strip()] = int(number)
        else:
            counts.add(int(number))
    return by_slug, counts


async def _import_target(args, export) -> tuple[int, bool]:
    """The school the import is for and whether it is a trust import: --school, --trust, or what the export's
    OneRoster orgs match (one trust: a trust import; no orgs.csv: the school an earlier import matched its org to)."""
    from app.domain.imports import formats
    from app.domain.schools import service as schools
    from app.domain.schools.tables import School, Trust
    from app.errors import CorridorError

    if args.school and args.trust:
        raise CorridorError("Give --school (one school) or --trust (every school of the export), not both.")
    if args.school:
        return (await schools.school_by_slug(args.school))["id"], False
    every = await School.select(School.id, School.slug, School.trust, School.urn, School.la_code,
                                School.establishment_number, School.oneroster_sourced_id).order_by(School.id)
    if args.trust:
        trust = await Trust.select(Trust.id).where(Trust.slug == args.trust).first()
        first = next((s for s in every if trust and s["trust"] == trust["id"]), None)
        if not first:
            raise CorridorError(f"There is no trust called {args.trust!r}.")
        return first["id"], True
    source = export.oneroster if export else None
    orgs = formats.school_orgs(source) if source else None
    if orgs:
        trusts = {s["trust"] for s in every for org in orgs
                  if (org.code and org.code in (s["urn"], s["la_code"] + s["establishment_number"]))
                  or (s["oneroster_sourced_id"] and s["oneroster_sourced_id"] == org.sourced_id)}
        if not trusts and len({s["trust"] for s in every}) == 1:
            trusts = {every[0]["trust"]}
        if len(trusts) != 1:
            slugs = [t["slug"] for t in await Trust.select(Trust.slug).order_by(Trust.slug)]
            raise CorridorError("Say which trust the export is for with --trust SLUG (there are "
                                f"{len(slugs)}: {', '.join(slugs) or 'none'}), or import one school with --school SLUG.")
        return next(s["id"] for s in every if s["trust"] in trusts), True
    if source:
        try:
            org = formats.users_org(source.tables.get("users.csv"), source.manifest_name)
        except formats.Malformed:
            org = ""  # the preview says why
        remembered = [s for s in every if org and s["oneroster_sourced_id"] == org]
        if len(remembered) == 1:
            return remembered[0]["id"], False
    if len(every) != 1:
        raise CorridorError("Say which school with --school SLUG (there are "
                            f"{len(every)}: {', '.join(s['slug'] for s in every) or 'none'}).")
    return every[0]["id"], False


def cmd_import(args: argparse.Namespace) -> None:
    from pathlib import Path

    from app.domain.audit.service import CLI
    from app.domain.imports import formats
    from app.domain.imports import service as imports
    from app.domain.imports.formats import Malformed, pack_folder
    from app.domain.incidents.service import ensure_defaults as incident_defaults
    from app.domain.oncall.service import ensure_defaults as oncall_defaults
    from app.errors import CorridorError

    settings = _settings()
    path, photos = Path(args.path), Path(args.photos) if args.photos else None
    for given in (path, photos):
        if given is not None and not given.exists():
            sys.exit(f"corridor: {given} does not exist.")
    try:
        data = pack_folder(path) if path.is_dir() else path.read_bytes()
    except Malformed as exc:
        sys.exit(f"corridor: this cannot be imported; nothing was changed.\n  {exc.problem}")
    upload = imports.Upload(filename=path.name + (".zip" if path.is_dir() else ""), data=data,
                            photos_filename=photos.name if photos else "",
                            photos=photos.read_bytes() if photos else None, delta=args.delta)
    by_slug, counts = _confirmations(args.confirm_leavers or [])

    async def work():
        try:
            export = formats.read_export(upload.filename, upload.data)
        except Malformed:
            export = None  # the preview says why
        school_id, trust_wide = await _import_target(args, export)
        plan = await imports.preview_upload(None, upload, school_id=school_id, trust_wide=trust_wide)
        if plan.fatal or not args.apply:
            return plan, []
        confirm = {p.school_id: len(p.pupils_left) for p in plan.confirmations
                   if by_slug.get(p.school_slug) == len(p.pupils_left) or len(p.pupils_left) in counts}
        missing = [p for p in plan.confirmations if p.school_id not in confirm]
        if missing:
            return plan, missing
        key = await imports.store_upload(None, upload, school_id=school_id)
        try:
            return await imports.apply(None, key, school_id=school_id, origin=CLI, trust_wide=trust_wide,
                                       prepare=(incident_defaults, oncall_defaults),
                                       confirm_left=confirm), []
        except imports.LeaversUnconfirmed as exc:  # the numbers moved between the dry run and now
            return plan, exc.plans

    try:
        plan, unconfirmed = asyncio.run(_with_db(settings, work))
    except CorridorError as exc:
        sys.exit(f"corridor: {exc.message}")
    if plan.fatal:
        print("corridor: this cannot be imported; nothing was changed.", file=sys.stderr)
        for problem in plan.fatal:
            print(f"  {problem}", file=sys.stderr)
        sys.exit(1)
    if unconfirmed:
        print(f"corridor: nothing was changed.\n{_leavers_message(plan, unconfirmed)}", file=sys.stderr)
        sys.exit(1)
    _print_plan(plan, applied=plan.applied_at is not None)


def cmd_import_attendance(args: argparse.Namespace) -> None:
    from pathlib import Path

    from app.domain.attendance import service as attendance
    from app.domain.schools import service as schools
    from app.domain.schools.tables import School
    from app.errors import CorridorError

    settings = _settings()
    path = Path(args.path)
    if not path.is_file():
        sys.exit(f"corridor: {path} is not a file.")
    data = path.read_bytes()

    async def work():
        if args.school:
            school_id = (await schools.school_by_slug(args.school))["id"]
        else:
            every = await School.select(School.id, School.slug).order_by(School.id)
            if len(every) != 1:
                raise CorridorError("Say which school with --school SLUG (there are "
                                    f"{len(every)}: {', '.join(s['slug'] for s in every) or 'none'}).")
            school_id = every[0]["id"]
        plan = await attendance.preview_upload(path.name, data, school_id=school_id)
        if plan.fatal or not args.apply:
            return plan
        return await attendance.import_file(path.name, data, school_id=school_id)

    try:
        plan = asyncio.run(_with_db(settings, work))
    except CorridorError as exc:
        sys.exit(f"corridor: {exc.message}")
    if plan.fatal:
        print("corridor: this cannot be imported; nothing was changed.", file=sys.stderr)
        for problem in plan.fatal:
            print(f"  {problem}", file=sys.stderr)
        sys.exit(1)
    applied = plan.applied_at is not None
    span = f", {plan.first_day} to {plan.last_day}" if plan.first_day else ""
    print(f"{plan.filename}: marks for {plan.pupils} pupil{'s' if plan.pupils != 1 else ''}{span}")
    print("Applied:" if applied else "Dry run: nothing has changed. This import would:")
    print(f"  marks         {plan.marks_added} added, {plan.marks_changed} changed (the old mark kept in its "
          f"history), {plan.marks_unchanged} unchanged")
    if plan.no_mark:
        print(f"  {plan.no_mark} row{'s' if plan.no_mark != 1 else ''} with no mark yet ('-' or empty) left out")
    if plan.errors:
        rows = f"{len(plan.errors)} row{'s' if len(plan.errors) != 1 else ''}"
        print(f"{rows} {'were' if applied else 'will be'} skipped:")
        for problem in plan.errors:
            print(f"  {problem}")
    for note in plan.notes:
        print(f"Note: {note}")
    if not applied:
        print("Run again with --apply to apply it.")


def cmd_audit_verify(args: argparse.Namespace) -> None:
    import datetime as dt

    from app.domain.audit.service import verify_chain

    settings = _settings()
    report = asyncio.run(_with_db(settings, lambda: verify_chain(anchor=args.anchor)))
    entries = f"{report.count} audit entr{'y' if report.count == 1 else 'ies'}"
    if report.broken:
        entry = report.broken
        print(f"BROKEN: the audit log's chain breaks at entry {entry['id']} "
              f"({entry['at'].astimezone(dt.timezone.utc):%Y-%m-%d %H:%M:%S} UTC, {entry['action']}): {entry['why']}.\n"
              f"The {entries} before it check out.")
        sys.exit(1)
    if args.anchor and not report.anchor_found:
        print(f"BROKEN: no entry has the hash {args.anchor}: entries were removed from the end of the log, or the "
              f"chain was rewritten, since it was recorded. The {entries} there chain to each other.")
        sys.exit(1)
    print(f"OK: {entries}, chain intact. Newest hash: {report.head}")


def cmd_backup(args: argparse.Namespace) -> None:
    import datetime as dt
    from pathlib import Path

    from app import backup
    from app.domain.audit.service import CLI, record

    if args.new_key:
        try:
            backup.new_key(Path(args.new_key))
        except backup.BackupError as exc:
            sys.exit(f"corridor: {exc}")
        print(f"Wrote a new backup key to {args.new_key} (readable by you only). Keep a copy somewhere other than "
              "the archives: without it no archive can be restored.")
        return
    settings = _settings()
    to = Path(args.to) if args.to else settings.backup_dir
    keep_days = settings.backup_keep_days if args.keep_days is None else args.keep_days
    try:
        key = backup.read_key(Path(args.key_file) if args.key_file else settings.backup_key_file)
        made = backup.backup(settings.database_url, to=to, key=key, keep_days=keep_days,
                             now=dt.datetime.now(dt.timezone.utc), work_dir=settings.data_dir)
    except backup.BackupError as exc:
        sys.exit(f"corridor: backup failed, no archive was made: {exc}")
    asyncio.run(_with_db(settings, lambda: record(
        "backup.made", origin=CLI, subject_type="backup", subject_label=made.path.name,
        detail={"file": made.path.name, "bytes": made.size, "sha256": made.sha256})))
    print(f"Backed up to {made.path} ({made.size:,} bytes), SHA-256 {made.sha256}")
    for gone in made.pruned:
        print(f"Pruned {gone.name} (older than {keep_days} days)")


def cmd_restore(args: argparse.Namespace) -> None:
    from pathlib import Path

    from app import backup
    from app.domain.audit.service import CLI, record

    settings = _settings()
    archive = Path(args.archive)
    try:
        key = backup.read_key(Path(args.key_file) if args.key_file else settings.backup_key_file)
        header = backup.restore(archive, key=key, database_url=settings.database_url, work_dir=settings.data_dir)
    except backup.BackupError as exc:
        sys.exit(f"corridor: restore failed, nothing was restored: {exc}")
    asyncio.run(_with_db(settings, lambda: record(
        "backup.restored", origin=CLI, subject_type="backup", subject_label=archive.name,
        detail={"file": archive.name, "made_at": header.get("made_at", "")})))
    print(f"Restored {archive.name} (made {header.get('made_at', '?')}, schema {header.get('schema') or '?'}). "
          "Run `corridor migrate` next if this version of Corridor is newer than the archive.")


def build_parser() -> argparse.ArgumentParser:
    from app.domain.schools.service import ROLES

    parser = argparse.ArgumentParser(prog="corridor", description=HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="serve the web app", description="Serve Corridor over HTTP with uvicorn. "
                       "Run `corridor migrate` first.")
    p.add_argument("--host", help="address to listen on (default: HOST, else 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default: PORT, else 8000)")
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes (default 1; above 1 needs PostgreSQL)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("migrate", help="create or update the database schema",
                       description="Apply every database migration not yet applied (forward only).")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("seed-demo", help="create the synthetic demo school (once)",
                       description="Create a demo trust with one school, staff in every role and synthetic pupils "
                       "and families (never real data), and a term of behaviour incidents and rewards. Does nothing "
                       "if it is already there. Prints a fresh single-use enrolment link for the demo admin either way.")
    p.add_argument("--pupils", type=int, default=1000, help="how many pupils to make (default 1000)")
    p.add_argument("--no-incidents", action="store_true",
                   help="leave out the term of incidents and rewards (the browser tests make their own)")
    p.set_defaults(func=cmd_seed_demo)

    p = sub.add_parser("setup", help="set a real school up: its trust, the school and its first admin",
                       description="Create a trust, its first school (time zone Europe/London) and its first admin "
                       "(admin of the school and of the trust), and print the admin's single-use enrolment link. At "
                       "a terminal it asks for what the options did not give; otherwise --school and --admin are "
                       "needed. Run again for the same school, it changes nothing and says so (and prints a fresh "
                       "link while the admin has not yet signed in). See docs/installing.md.")
    p.add_argument("--school", metavar="NAME", help="the school's name, e.g. \"Northbridge Academy\"")
    p.add_argument("--admin", metavar="EMAIL", help="the first admin's school email address")
    p.add_argument("--admin-name", metavar="NAME", help="the admin's name (default: the email's local part)")
    p.add_argument("--trust", metavar="NAME", help="the trust's name (default: the school's name)")
    p.add_argument("--urn", help="the school's URN, 6 digits (MIS imports are matched to the school by it)")
    p.add_argument("--laestab", metavar="NNNNNNN", help="the school's DfE number: LA number and establishment "
                   "number, 7 digits (8014001 or 801/4001)")
    p.add_argument("--phase", help="nursery, primary, middle, secondary, all-through, 16 plus, alternative "
                   "provision or special")
    p.set_defaults(func=cmd_setup)

    p = sub.add_parser("invite", help="add a person with roles and print their enrolment link",
                       description="Add a member of staff (or give an existing one more roles) and print a "
                       "single-use enrolment URL, valid for ENROLMENT_LINK_HOURS (default 24).")
    p.add_argument("email", help="the person's school email address")
    p.add_argument("--role", action="append", required=True, choices=list(ROLES),
                   help="a role at the school; repeat for several")
    p.add_argument("--school", help="the school's slug (needed when there is more than one school)")
    p.add_argument("--name", help="the name colleagues know them by (default: the email's local part)")
    p.add_argument("--trust-wide", action="store_true", help="give the roles at every school of the school's trust "
                   "(a trust admin manages people across its schools)")
    p.set_defaults(func=cmd_invite)

    p = sub.add_parser("revoke-sessions", help="sign a person out everywhere",
                       description="End every session of a person at once, e.g. when a phone is lost.")
    p.add_argument("email")
    p.set_defaults(func=cmd_revoke_sessions)

    p = sub.add_parser("import", help="import pupils, contacts, tutor groups and staff from the MIS",
                       description="Import from a Corridor CSV set (a folder or zip of CSV files, or one CSV file "
                       "known by its header row) or a OneRoster 1.1 CSV zip, with photos from a zip of images named "
                       "by UPN or MIS id. A dry run by default: it prints what would be added, changed and marked as "
                       "left, and every bad row. A OneRoster export of a trust imports every school in its orgs.csv "
                       "(matched by URN, LAESTAB or remembered sourcedId; the missing ones are created) unless "
                       "--school names one. Exits non-zero, changing nothing, if the file as a whole is malformed, "
                       "or if it would mark more than a fifth of a school's pupils as left without --confirm-leavers. "
                       "See docs/import.md.")
    p.add_argument("path", metavar="PATH", help="a folder or zip of CSV files, or one CSV file")
    p.add_argument("--school", help="the school's slug: import this school only (needed for a Corridor CSV set "
                   "when there is more than one school)")
    p.add_argument("--trust", help="the trust's slug: import every school of a OneRoster export into this trust "
                   "(needed when the export's schools do not say which trust)")
    p.add_argument("--photos", metavar="ZIP", help="a zip of photos named by UPN or MIS id")
    p.add_argument("--delta", action="store_true", help="changes only: nobody is marked as left (a OneRoster "
                   "manifest says bulk or delta itself; --delta marks nobody as left even when it says bulk)")
    p.add_argument("--confirm-leavers", action="append", metavar="[SLUG=]N", help="confirm that N pupils may be "
                   "marked as left, where that is more than a fifth of a school's pupils (the dry run says the "
                   "number); SLUG=N for one school of a trust import; repeat for several")
    p.add_argument("--apply", action="store_true", help="apply it (all or nothing) instead of a dry run")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("import-attendance", help="import session attendance marks from the MIS (CSV)",
                       description="Import register marks (pupil by UPN or MIS id, date, AM/PM, DfE code, minutes "
                       "late) from one CSV file: a day's marks or a whole year's. A dry run by default: it prints how "
                       "many marks would be added, changed and left as they are, and every bad row by line (bad rows "
                       "are skipped). The same marks again change nothing; a changed code updates the mark and keeps "
                       "the old one in its history; nothing is deleted. Exits non-zero, changing nothing, if the file "
                       "as a whole cannot be read. See docs/attendance.md.")
    p.add_argument("path", metavar="PATH", help="a CSV file of marks (or a zip holding one)")
    p.add_argument("--school", help="the school's slug (needed when there is more than one school)")
    p.add_argument("--apply", action="store_true", help="apply it instead of a dry run")
    p.set_defaults(func=cmd_import_attendance)

    p = sub.add_parser("purge", help="delete submission receipts older than 30 days (run it daily)",
                       description="Delete the receipts that let a phone's unsent entries be sent again without "
                       "making a second record, once they are older than --days (at least 30). See docs/offline.md.")
    p.add_argument("--days", type=int, default=30, help="keep receipts this many days (default and minimum: 30)")
    p.set_defaults(func=cmd_purge)

    p = sub.add_parser("retention", help="list (dry run) or delete (--apply) records past their retention period",
                       description="For each school and kind of record (safeguarding, behaviour, casework, "
                       "attendance, on-call, alerts; then sessions, enrolment links and receipts for the whole "
                       "install), count the records "
                       "whose retention period has passed and those a legal hold keeps. A dry run by default: nothing "
                       "changes. With --apply they are deleted, a transaction and an audit event (counts only) per "
                       "school and kind; a pupil under a legal hold keeps everything. Run it nightly. "
                       "See docs/retention.md.")
    p.add_argument("--dry-run", action="store_true", help="only list what is due (the default)")
    p.add_argument("--apply", action="store_true", help="delete what is due")
    p.set_defaults(func=cmd_retention)

    p = sub.add_parser("audit", help="check the audit log", description="Commands about the audit log.")
    audit = p.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    p = audit.add_parser("verify", help="check the audit log's hash chain from the first entry to the last",
                         description="Recompute the audit log's hash chain. Prints OK with the number of entries and "
                         "the newest entry's hash (keep a copy elsewhere, and pass it to a later run as --anchor), or "
                         "names the first entry that was changed, removed or inserted behind the app's back and "
                         "exits non-zero. See docs/audit-log.md.")
    p.add_argument("--anchor", metavar="HASH", help="a hash printed by an earlier run: fail unless the chain still "
                   "contains it (catches entries cut from the end, or a chain rewritten from the start)")
    p.set_defaults(func=cmd_audit_verify)

    p = sub.add_parser("backup", help="write an encrypted archive of the database (run it daily)",
                       description="Copy the whole database while Corridor serves (SQLite: its online backup API; "
                       "PostgreSQL: pg_dump), encrypt it with the key in BACKUP_KEY_FILE, write it with its SHA-256 "
                       "into BACKUP_DIR (or --to), and delete archives there older than BACKUP_KEEP_DAYS. "
                       "See docs/backup.md.")
    p.add_argument("--to", metavar="FOLDER", help="where to write the archive (default: BACKUP_DIR)")
    p.add_argument("--key-file", metavar="PATH", help="the key (default: BACKUP_KEY_FILE)")
    p.add_argument("--keep-days", type=int, metavar="N", help="prune archives older than N days (0: never; "
                   "default: BACKUP_KEEP_DAYS, else 30)")
    p.add_argument("--new-key", metavar="PATH", help="write a new key to PATH and stop (never overwrites a file)")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="rebuild the database from an archive, into a new empty database",
                       description="Check ARCHIVE against its .sha256, decrypt it with the key and rebuild the "
                       "database DATABASE_URL names, which must be new and empty: restore never overwrites data. "
                       "See docs/backup.md.")
    p.add_argument("archive", help="a corridor-*.cbk file written by `corridor backup`")
    p.add_argument("--key-file", metavar="PATH", help="the key (default: BACKUP_KEY_FILE)")
    p.set_defaults(func=cmd_restore)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
