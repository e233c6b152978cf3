"""The budgets of DESIGN.md ("Budgets"), as checks on the harness's results.

DESIGN.md is the authority. This file copies its table into checks, and the harness warns when the table in
../shared/DESIGN.md no longer matches the copy below (so a changed budget is noticed, not silently ignored).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

DESIGN = Path(__file__).resolve().parents[2] / "shared" / "DESIGN.md"

# The table these checks were written from (DESIGN.md, "## Budgets"), rows only.
TABLE = """
| first load of a working page (quick entry) | ≤ 50 KB compressed, no third-party requests |
| a fragment | ≤ 4 KB compressed |
| Lighthouse, mobile profile | performance ≥ 95, accessibility 100, best practices 100 |
| pupil lookup, server time | p99 ≤ 20 ms at 2,640 pupils (SQLite); p99 ≤ 50 ms at 75,000 pupils (PostgreSQL) |
| incident POST, durable | p50 ≤ 2 ms, p99 ≤ 10 ms at one client; ≥ 0.4 × the throughput of a bare Litestar endpoint in the same run |
| on-call raise → responder's screen | p95 ≤ 300 ms with 200 connected responders, across two server processes |
| offline outbox | 0 lost, 0 duplicated, under every fault the tests can inject |
"""

KB = 1024


@dataclass(frozen=True)
class Budget:
    """One check. `metric` names a figure of a result; `limit` is a maximum (`at_most`) or a minimum."""

    design_row: str
    label: str
    metric: str
    limit: float
    at_most: bool = True
    unit: str = ""
    scenario: str | None = None  # load scenario key
    dataset: str | None = None
    concurrency: int | None = None  # None: every concurrency measured
    page: str | None = None  # page-weight / Lighthouse subject; "*" for every page measured
    not_built: str = ""  # set when the thing measured does not exist yet


BUDGETS: list[Budget] = [
    Budget("first load", "first load ≤ 50 KB compressed", "page_bytes", 50 * KB, unit="B", page="*"),
    Budget("first load", "first load: no third-party requests", "third_party", 0, unit="", page="*"),
    Budget("first load", "quick-entry screen first load ≤ 50 KB", "page_bytes", 50 * KB, unit="B",
           page="quick entry"),
    Budget("fragment", "fragment ≤ 4 KB compressed", "fragment_bytes", 4 * KB, unit="B", page="*"),
    Budget("lighthouse", "Lighthouse performance ≥ 95", "lh_performance", 95, at_most=False, page="*"),
    Budget("lighthouse", "Lighthouse accessibility = 100", "lh_accessibility", 100, at_most=False, page="*"),
    Budget("lighthouse", "Lighthouse best practices = 100", "lh_best-practices", 100, at_most=False, page="*"),
    Budget("lookup", "lookup p99 server ≤ 20 ms at 2,640 pupils (SQLite)", "server_p99", 20, unit="ms",
           scenario="lookup", dataset="school"),
    Budget("lookup", "lookup p99 server ≤ 50 ms at 75,000 pupils (PostgreSQL)", "server_p99", 50, unit="ms",
           scenario="lookup", dataset="trust"),
    Budget("incident", "incident POST p50 server ≤ 2 ms at 1 client", "server_p50", 2, unit="ms",
           scenario="incident_post", concurrency=1),
    Budget("incident", "incident POST p99 server ≤ 10 ms at 1 client", "server_p99", 10, unit="ms",
           scenario="incident_post", concurrency=1),
    Budget("incident", "incident POST ≥ 0.4 × floor throughput", "floor_ratio", 0.4, at_most=False, unit="×",
           scenario="incident_post"),
    Budget("on-call", "on-call raise → screen p95 ≤ 300 ms, 200 responders, 2 processes", "e2e_p95", 300,
           unit="ms", scenario="oncall_raise"),
    Budget("outbox", "offline outbox: 0 lost, 0 duplicated", "outbox_lost_or_duplicated", 0,
           not_built="the offline outbox is a later issue; its fault tests will measure this"),
]


def _rows(text: str) -> list[str]:
    return [re.sub(r"\s+", " ", line.strip()) for line in text.splitlines()
            if line.strip().startswith("|") and not line.strip().startswith("|---") and "| What |" not in line]


def design_drift() -> str | None:
    """None if DESIGN.md's budget table is the one these checks were written from; else what differs."""
    if not DESIGN.exists():
        return f"{DESIGN} not found: budgets are checked against bench/budgets.py's copy"
    text = DESIGN.read_text()
    match = re.search(r"^## Budgets.*?\n(.*?)(?=^## |\Z)", text, re.DOTALL | re.MULTILINE)
    if not match:
        return "DESIGN.md has no '## Budgets' section any more"
    now, then = _rows(match.group(1)), _rows(TABLE)
    if now == then:
        return None
    changed = [r for r in now if r not in then]
    return "DESIGN.md's budgets changed since bench/budgets.py was written; update it. New or changed rows: " + \
        "; ".join(changed or ["(rows removed)"])


def digest() -> str:
    return hashlib.sha256("\n".join(_rows(TABLE)).encode()).hexdigest()[:12]


def verdict(b: Budget, value: float) -> tuple[bool, str]:
    """(met?, margin in words)."""
    met = value <= b.limit if b.at_most else value >= b.limit
    diff = abs(value - b.limit)
    if b.unit == "B":
        amount = f"{diff / KB:.1f} KB"
    elif b.unit == "ms":
        amount = f"{diff:.2f} ms"
    elif b.unit == "×":
        amount = f"{diff:.2f}×"
    else:
        amount = f"{diff:g}"
    if not b.limit:
        pct = ""
    elif not met and b.at_most and value >= 2 * b.limit:
        pct = f" ({value / b.limit:.1f}× the limit)"
    else:
        pct = f" ({diff / b.limit:.0%})"
    if met:
        return True, ("exactly at the limit" if diff == 0 else f"{amount}{pct} to spare")
    return False, f"{'over' if b.at_most else 'under'} by {amount}{pct}"
