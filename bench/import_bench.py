"""Time a OneRoster 1.1 import of a large school: `python -m bench.import_bench --pupils 2640 --out F --db PATH`.

Builds a synthetic OneRoster zip with the import tests' own builders (tests/imports/files.py): N pupils (years
7-13, valid UPNs, a homeroom each, a demographics row), about 1.6 contacts per pupil, the forms and enrolments;
then, on a fresh, migrated SQLite database with one empty school, times the dry-run preview and the apply
(store the upload + apply, all or nothing) through `app.domain.imports.service`, as `corridor import` does.
Runs in its own process so the app's engine binding cannot disturb the harness.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build_zip(pupils: int, seed: int = 3) -> tuple[bytes, int]:
    sys.path.insert(0, str(ROOT))
    from tests.imports.files import oneroster_zip, upn, user

    rng = random.Random(seed)
    first = ["Amara", "Oliver", "Siobhán", "Mohammed", "Zofia", "Kwame", "Priya", "Noah", "Aoife", "Chen", "Isla",
             "Tomasz", "Fatima", "Jack", "Leila", "Dylan", "Ngozi", "Harry", "Maja", "Yusuf"]
    last = ["Okonkwo", "O'Neill", "Kowalski", "Shah", "Smith", "Jones", "Nguyen", "Ahmed", "Evans", "Murphy",
            "Williams", "Patel", "Brown", "Davies", "Hussain", "Taylor", "Wilson", "Campbell", "Khan", "Thomas"]
    forms = [(y, f) for y in range(7, 14) for f in "ABCDEFGH"]
    users, enrollments, demographics, agents_of = [], [], [], {}
    parents = []
    for n in range(pupils):
        sid = f"S{n + 1}"
        year, form = forms[n % len(forms)]
        family = rng.choice(last)
        agents = [f"A{n + 1}a"] + ([f"A{n + 1}b"] if rng.random() < 0.6 else [])
        for k, aid in enumerate(agents):
            parents.append(user(aid, "parent" if k == 0 else "guardian", rng.choice(first), family,
                                phone=f"07700 9{n:05d}", email=f"parent{n}{k}@example.com", agents=sid))
        agents_of[sid] = agents
        users.append(user(sid, "student", rng.choice(first), family, ident=upn(n % 1000, year=10 + n // 1000),
                          agents=",".join(agents), grades=f"{year:02d}"))
        enrollments.append([f"E{n + 1}", "", "", f"K{year}{form}", "ORG1", sid, "student", "", "", ""])
        demographics.append([sid, "", "", f"{2026 - year - 5}-0{rng.randrange(1, 10)}-1{rng.randrange(0, 9)}",
                             rng.choice(("female", "male"))])
    classes = [[f"K{y}{f}", "", "", f"Form {y}{f}", f"{y:02d}", "", f"{y}{f}", "homeroom", "", "ORG1", "", "", "", ""]
               for y, f in forms]
    data = oneroster_zip(users=users + parents, classes=classes, enrollments=enrollments, demographics=demographics)
    return data, len(users) + len(parents)


async def run(pupils: int, db_path: Path) -> dict:
    from app import db
    from app.domain.imports import service as imports
    from app.domain.schools import service as schools

    t = time.perf_counter()
    data, users = build_zip(pupils)
    build_s = time.perf_counter() - t
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    url = f"sqlite:///{db_path}"
    with redirect_stdout(io.StringIO()):
        await db.migrate(url)
    db.bind(url)
    school_id = await schools.create_trust_with_school(
        trust_name="Northbridge Trust", trust_slug="northbridge", school_name="Northbridge Academy",
        school_slug="northbridge", la_code="801", establishment_number="4001")
    upload = imports.Upload(filename="oneroster.zip", data=data)
    t = time.perf_counter()
    plan = await imports.preview_upload(None, upload, school_id=school_id)
    preview_s = time.perf_counter() - t
    problems = len(plan.fatal) + len(plan.errors)
    t = time.perf_counter()
    applied = None
    if not plan.fatal:
        key = await imports.store_upload(None, upload, school_id=school_id)
        applied = await imports.apply(None, key, school_id=school_id)
    apply_s = time.perf_counter() - t
    return {"pupils": pupils, "users": users, "zip_kb": round(len(data) / 1024, 1), "build_s": round(build_s, 2),
            "preview_s": round(preview_s, 2), "apply_s": round(apply_s, 2), "problems": problems,
            "first_problems": [str(p) for p in (plan.fatal + plan.errors)[:5]],
            "created": len(applied.pupils_added) if applied else 0,
            "contacts_added": applied.contacts_added if applied else 0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pupils", type=int, default=2640)
    ap.add_argument("--out", required=True)
    ap.add_argument("--db", required=True)
    args = ap.parse_args()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{args.db}")
    result = asyncio.run(run(args.pupils, Path(args.db)))
    Path(args.out).write_text(json.dumps(result, indent=1))
    os._exit(0)  # do not wait on the database driver's threads


if __name__ == "__main__":
    main()
