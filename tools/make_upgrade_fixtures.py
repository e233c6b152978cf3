"""Build the upgrade tests' fixtures (tests/upgrades/fixtures/): for every commit of main that added migrations, a
database made by THAT commit's own code (`corridor migrate` + `corridor seed-demo`), exported table by table.

tests/upgrades/test_upgrades.py rebuilds each one at its migration with today's migrations, loads the rows, migrates
to the head and checks the data. Run this after a commit that adds migrations (it only builds what is missing):

    .venv/bin/python tools/make_upgrade_fixtures.py
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "upgrades" / "fixtures"
PUPILS = "25"  # enough for every table the demo fills to hold rows; small enough to keep in the repository


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout


def commits_adding_migrations() -> list[str]:
    return _git("log", "--reverse", "--first-parent", "--format=%H", "--diff-filter=A", "HEAD", "--",
                "src/app/migrations/corridor_*").split()


def _value(v):
    return {"b64": base64.b64encode(v).decode()} if isinstance(v, bytes) else v


def export(db: Path, commit: str) -> dict:
    with sqlite3.connect(db) as con:
        head = con.execute("SELECT name FROM migration ORDER BY id DESC LIMIT 1").fetchone()[0]
        tables = {}
        for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                                   "AND name != 'migration' ORDER BY name"):
            cursor = con.execute(f'SELECT * FROM "{name}"')  # noqa: S608 (names from sqlite_master)
            columns = [d[0] for d in cursor.description]
            rows = [[_value(v) for v in row] for row in cursor]
            if name == "pupil":  # photos are most of the bytes: three pupils keep theirs, enough to check them
                for row in rows[3:]:
                    for i, column in enumerate(columns):
                        if column in ("photo", "photo_thumb"):
                            row[i] = None
            tables[name] = {"columns": columns, "rows": rows}
    return {"head": head, "commit": commit, "tables": tables}


def build(commit: str) -> Path | None:
    work = Path(tempfile.mkdtemp(prefix="upgrade-fixture-"))
    tree = work / "tree"
    try:
        _git("worktree", "add", "--detach", str(tree), commit)
        env = {**os.environ, "PYTHONPATH": str(tree / "src"), "CORRIDOR_DATA_DIR": str(work / "data"),
               "DATABASE_URL": f"sqlite:///{work / 'data' / 'c.sqlite3'}", "SECRET_KEY": "x" * 48}
        for args in (["migrate"], ["seed-demo", "--pupils", PUPILS]):
            done = subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=tree, env=env, capture_output=True,
                                  text=True, timeout=600)
            if done.returncode:
                print(f"{commit[:8]}: corridor {' '.join(args)} failed, skipped:\n{done.stderr[-2000:]}")
                return None
        data = export(work / "data" / "c.sqlite3", commit[:12])
        path = OUT / f"{data['head'].replace(':', '-')}.json.gz"
        if not path.exists():
            with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as f:
                json.dump(data, f, separators=(",", ":"))
        return path
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    have = {json.loads(gzip.open(p).read())["commit"] for p in OUT.glob("*.json.gz")}
    for commit in commits_adding_migrations():
        if commit[:12] in have:
            continue
        path = build(commit)
        if path:
            print(f"{commit[:8]} -> {path.relative_to(ROOT)} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
