"""The case-conference pack's PDF export (DESIGN.md: a 300-event PDF ≤ 2 s), through the running server as a
pastoral officer would: the options form, the preview, then the PDF downloaded five times, each timed from request
to last byte. The pupil is the one bench/data.py gives a chronology of about 300 entries (Ctx.chronology_pupil);
the row says how many entries the pack held, so a figure for a smaller pack is never passed off as the budget's."""

from __future__ import annotations

import re
import sqlite3
import statistics
import time
import uuid
from contextlib import closing

import httpx

EXPORTS = 5
# Every table a chronology entry comes from, by pupil (a referral's state changes and a case's reviews count once
# here: the pack's own count is what the row reports).
_BUSIEST = """SELECT p.id, count(*) AS n FROM (
    SELECT pupil FROM incident_pupil UNION ALL SELECT pupil FROM contact_log UNION ALL SELECT pupil FROM referral
    UNION ALL SELECT pupil FROM pupil_case UNION ALL SELECT pupil FROM intervention_participant
    UNION ALL SELECT pupil FROM on_call_pupil
) AS e JOIN pupil p ON p.id = e.pupil WHERE p.school = ? GROUP BY p.id ORDER BY n DESC, p.id LIMIT 1"""


def busiest_pupil(url: str, school_id: int) -> int | None:
    path = url.removeprefix("sqlite:///")
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as con:
        row = con.execute(_BUSIEST, (school_id,)).fetchone()
    return row[0] if row else None


def run(stage) -> list[dict]:
    from bench.clients import _headers, _server_ms

    ctx = stage.ctx
    if not ctx.pastoral:
        return [{"concurrency": 1, "status": "harness error", "note": "no pastoral session at the school"}]
    who = ctx.pastoral[0]
    # The pupil bench/data.py gives ~300 entries as this pastoral officer sees them (as the chronology row uses);
    # on data made before that pupil existed, the school's busiest chronology.
    pupil_id = getattr(ctx, "chronology_pupil", None) or busiest_pupil(stage.url, who.school_id)
    if pupil_id is None:
        return [{"concurrency": 1, "status": "harness error", "note": "no pupil with chronology events"}]
    headers = _headers(stage, who.token)
    with httpx.Client(base_url=stage.server.url, headers=headers, timeout=120, follow_redirects=False) as client:
        form = client.get(f"/case-pack/new?pupil={pupil_id}")
        if form.status_code == 404:
            return [{"concurrency": 1, "status": "not available yet", "note": "GET /case-pack/new answered 404"}]
        sources = re.findall(r'name="sources" value="([a-z_]+)"', form.text)
        made = client.post("/case-pack/", data={"pupil_id": str(pupil_id), "sources": sources,
                                                "idempotency_key": str(uuid.uuid4())})
        if made.status_code != 303:
            return [{"concurrency": 1, "status": "harness error", "note": f"POST /case-pack/ answered {made.status_code}"}]
        pack = made.headers["location"]
        preview = client.get(pack)
        if preview.status_code != 200:
            text = " ".join(re.sub(r"<[^>]+>", " ", preview.text).split())[:200]
            return [{"concurrency": 1, "status": "harness error",
                     "note": f"GET {pack.split('?')[0]} answered {preview.status_code}: {text}"}]
        found = re.search(r'id="pack-options">.*?(\d+) entr(?:y|ies)</p>', preview.text)
        entries = int(found.group(1)) if found else None
        walls, server, sizes, errors = [], [], [], 0
        client.get(f"{pack}/pack.pdf")  # once to warm (fonts, the first subset)
        for _ in range(EXPORTS):
            stage.server.wait_idle()
            t = time.perf_counter()
            r = client.get(f"{pack}/pack.pdf")
            walls.append(time.perf_counter() - t)
            if r.status_code != 200 or not r.content.startswith(b"%PDF"):
                errors += 1
            sizes.append(len(r.content))
            if (ms := _server_ms(r)) is not None:
                server.append(ms)
    if errors:
        return [{"concurrency": 1, "status": "harness error", "note": f"{errors} of {EXPORTS} PDF exports failed"}]
    worst = round(max(walls), 3)
    return [{"concurrency": 1, "status": "measured", "requests": EXPORTS, "rps": None, "errors": errors,
             "error_detail": {}, "statuses": {}, "server_ms": {"p50": round(statistics.median(server), 1)} if server
             else {}, "client_ms": {"p50": round(statistics.median(walls) * 1000, 1), "max": round(worst * 1000, 1)},
             "cpu_ms_per_req": None, "no_floor": True, "seconds": worst, "entries": entries,
             "pdf_kb": round(statistics.median(sizes) / 1024, 1),
             "summary": f"{entries} entries: PDF in {statistics.median(walls):.2f} s median, {worst:.2f} s worst "
                        f"of {EXPORTS} ({statistics.median(sizes) / 1024:.0f} KB), errors {errors}"}]
