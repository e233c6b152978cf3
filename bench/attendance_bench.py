"""Time the attendance import at the bench school's size: `python -m bench.attendance_bench --out F --db PATH`.

On a fresh, migrated SQLite database with one school of 2,640 pupils, a synthetic CSV of a year's register marks
(2,640 pupils x 378 sessions, about a million marks; mostly present, with lates, illness and unauthorised absence
spread through) is imported with `app.domain.attendance.service` as `corridor import-attendance --apply` does, then
the next day's marks (5,280), then that day again (nothing changes). DESIGN.md: a day <= 2 s, a year <= 60 s.
Runs in its own process so the app's engine binding cannot disturb the harness.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import json
import os
import subprocess
import time
from contextlib import redirect_stdout
from pathlib import Path

PUPILS = 2640
SCHOOL_DAYS = 190  # 380 sessions: 189 days for the year's file, the last one for the day's


def marks_csv(pupils: int, days: list[dt.date]) -> bytes:
    codes = ["/"] * 90 + ["I", "N", "L", "U", "M", "O", "G", "C", "B", "V"]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["upn", "mis_id", "date", "session", "code", "minutes_late"])
    i = 0
    for day in days:
        for n in range(pupils):
            for session in ("AM", "PM"):
                i += 1
                code = codes[(i * 7919) % 100]
                code = "\\" if session == "PM" and code == "/" else code
                w.writerow(["", f"M{n}", day.isoformat(), session, code, "5" if code in ("L", "U") else ""])
    return out.getvalue().encode()


async def run(db_path: Path) -> dict:
    from app import clock, db
    from app.domain.attendance import service as attendance
    from app.domain.pupils.tables import Pupil, TutorGroup
    from app.domain.schools import service as schools

    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    url = f"sqlite:///{db_path}"
    with redirect_stdout(io.StringIO()):
        await db.migrate(url)
    db.bind(url)
    school = await schools.create_trust_with_school(
        trust_name="Northbridge Trust", trust_slug="northbridge", school_name="Northbridge Academy",
        school_slug="northbridge", la_code="801", establishment_number="4001")
    group = TutorGroup(school=school, name="7A", year_code="7")
    await group.save()
    now = clock.now()
    rows = [Pupil(school=school, mis_id=f"M{n}", upn=f"B{n:012d}", legal_first_name="Pupil", legal_last_name=str(n),
                  date_of_birth=dt.date(2012, 1, 1), year_code="7", tutor_group=group.id, created_at=now)
            for n in range(PUPILS)]
    for i in range(0, len(rows), 500):
        await Pupil.insert(*rows[i:i + 500])
    days, day = [], dt.date(2025, 9, 1)
    while len(days) < SCHOOL_DAYS:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    year, one_day = marks_csv(PUPILS, days[:-1]), marks_csv(PUPILS, days[-1:])
    timings = {}
    for label, data in (("year", year), ("day", one_day), ("day_again", one_day)):
        t = time.perf_counter()
        plan = await attendance.import_file(f"{label}.csv", data, school_id=school)
        timings[label] = (round(time.perf_counter() - t, 2), plan.marks_added, plan.marks_unchanged,
                          len(plan.errors))
    return {"pupils": PUPILS, "year_mb": round(len(year) / 1e6, 1),
            "seconds_year": timings["year"][0], "marks_year": timings["year"][1],
            "seconds_day": timings["day"][0], "marks_day": timings["day"][1],
            "seconds_day_again": timings["day_again"][0], "unchanged_day_again": timings["day_again"][2],
            "problems": sum(t[3] for t in timings.values())}


def measure(stage) -> list[dict]:
    """The harness's row: the import in a subprocess, a day and a year against DESIGN.md's budget."""
    from bench import servers

    out = stage.var / "attendance.json"
    out.unlink(missing_ok=True)
    cmd = [str(servers.BIN / "python"), "-m", "bench.attendance_bench", "--out", str(out),
           "--db", str(stage.var / "attendance.sqlite3")]
    done = subprocess.run(cmd, cwd=servers.ROOT, env=stage.env, capture_output=True, text=True, timeout=900,
                          check=False)
    if not out.exists():
        return [{"concurrency": 1, "status": "harness error", "note": (done.stderr or done.stdout)[-300:]}]
    r = json.loads(out.read_text())
    return [{"concurrency": 1, "status": "measured", "requests": 3, "rps": None, "errors": r["problems"],
             "error_detail": {}, "statuses": {}, "server_ms": {}, "client_ms": {}, "cpu_ms_per_req": None,
             "no_floor": True, "attendance": r, "seconds_day": r["seconds_day"], "seconds_year": r["seconds_year"],
             "summary": f"a year ({r['marks_year']:,} marks, {r['year_mb']} MB) in {r['seconds_year']} s; a day "
                        f"({r['marks_day']:,} marks) in {r['seconds_day']} s; the same day again in "
                        f"{r['seconds_day_again']} s ({r['unchanged_day_again']:,} unchanged)"}]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--db", required=True)
    args = ap.parse_args()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{args.db}")
    result = asyncio.run(run(Path(args.db)))
    Path(args.out).write_text(json.dumps(result, indent=1))
    os._exit(0)  # do not wait on the database driver's threads


if __name__ == "__main__":
    main()
