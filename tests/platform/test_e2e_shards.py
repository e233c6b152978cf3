"""`make test` splits the browser tests into shards by file (tools/e2e_shards.py): every file runs, once, and the
shards are about as long as each other, the same way on every run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARDS = ROOT / "tools" / "e2e_shards.py"


def shard(index: int, count: int) -> list[str]:
    done = subprocess.run([sys.executable, str(SHARDS), str(index), str(count)], capture_output=True, text=True,
                          check=True)
    return done.stdout.split()


def test_it_puts_every_browser_test_file_in_exactly_one_shard():
    every = sorted(f"tests/e2e/{p.name}" for p in (ROOT / "tests" / "e2e").glob("test_*.py"))
    for count in (1, 2, 3):
        shards = [shard(i, count) for i in range(1, count + 1)]
        assert sorted(f for s in shards for f in s) == every
        assert all(shards), shards


def test_the_shards_are_balanced_and_the_same_each_time():
    sys.path.insert(0, str(SHARDS.parent))
    try:
        import e2e_shards
    finally:
        sys.path.remove(str(SHARDS.parent))

    def weigh(files: list[str]) -> float:
        return sum(e2e_shards.SECONDS.get(Path(f).name, e2e_shards.DEFAULT_SECONDS) for f in files)

    first, second = shard(1, 2), shard(2, 2)
    assert abs(weigh(first) - weigh(second)) <= max(e2e_shards.SECONDS.values()) / 4
    assert (first, second) == (shard(1, 2), shard(2, 2))


def test_it_refuses_a_shard_that_does_not_exist():
    for args in (["3", "2"], ["0", "2"], ["x", "2"], ["1"]):
        done = subprocess.run([sys.executable, str(SHARDS), *args], capture_output=True, text=True)
        assert done.returncode == 2 and "usage" in done.stderr
