"""The benchmark's budgets live in the repository: a clean clone without ../shared still has every budget."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_has_its_budgets_without_any_file_outside_the_repository(tmp_path):
    """Imported from a copy of bench/ with nothing beside it, the budgets load and nothing warns of drift."""
    copy = tmp_path / "clone"
    copy.mkdir()
    (copy / "bench").mkdir()
    for name in ("__init__.py", "budgets.py"):
        (copy / "bench" / name).write_bytes((ROOT / "bench" / name).read_bytes())
    probe = ("import bench.budgets as b; "
             "print(len(b.BUDGETS), b.design_drift(), b.DESIGN.exists(), "
             "sorted({x.design_row for x in b.BUDGETS})[:3])")
    out = subprocess.run([sys.executable, "-c", probe], cwd=copy, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    count, drift, design_exists = out.stdout.split()[:3]
    assert int(count) >= 14 and drift == "None" and design_exists == "False"


def test_every_row_of_the_budget_table_has_a_check():
    """Each row of the in-repo table (DESIGN.md's budgets) is measured or listed as not built, never dropped."""
    sys.path.insert(0, str(ROOT))
    try:
        from bench import budgets
    finally:
        sys.path.remove(str(ROOT))
    rows = budgets._rows(budgets.TABLE)
    assert len(rows) == 16
    checked = {b.design_row for b in budgets.BUDGETS}
    keywords = {"first load": "first load", "a fragment": "fragment", "Lighthouse": "lighthouse",
                "pupil lookup": "lookup", "incident POST": "incident", "server CPU": "cpu",
                "lesson-change burst": "burst", "a school's peak": "peak", "workers": "workers",
                "on-call raise": "on-call", "offline outbox": "outbox", "caseload page": "caseload",
                "case-conference pack": "pack", "home visit": "home visit", "data review": "data review",
                "attendance import": "attendance import"}
    for row in rows:
        key = next(v for k, v in keywords.items() if row.startswith("| " + k))
        assert key in checked, row
