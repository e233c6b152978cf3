"""What the benchmark ran on: CPU, cores, memory, OS, and the versions of everything that shapes the figures."""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import os
import platform
import sqlite3
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _first(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "missing"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0].strip() if text else "missing"


def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def _os() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.platform()


def _git() -> dict:
    import importlib.util

    # The checkout whose app is served: PYTHONPATH may put another one's src/ first (a baseline).
    where = Path(importlib.util.find_spec("app").origin).parents[2]
    where = where if (where / "src").is_dir() else ROOT

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=where, capture_output=True, text=True, check=False).stdout.strip()
    try:
        return {"commit": git("rev-parse", "--short", "HEAD"),
                "dirty_files": len([x for x in git("status", "--porcelain", "--", "src").splitlines() if x])}
    except OSError:
        return {}


def describe() -> dict:
    def has(mod: str) -> bool:
        return importlib.util.find_spec(mod) is not None

    load = os.getloadavg()
    return {
        "cpu": _cpu_model(), "cores": os.cpu_count(), "memory_gib": _mem_gib(), "os": _os(),
        "kernel": platform.release(), "load_average_at_start": [round(x, 2) for x in load],
        "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
        "postgresql": None,  # filled in when the server answers
        "wrk": _first(["wrk", "-v"]), "node": _first(["node", "--version"]), "chromium": _first(["/usr/bin/chromium", "--version"]),
        "packages": {d: _version(d) for d in ("litestar", "uvicorn", "piccolo", "asyncpg", "aiosqlite", "jinja2",
                                               "playwright", "rapidfuzz", "granian", "uvloop", "httptools")},
        # uvicorn picks uvloop and httptools by itself when they are installed ("auto"); otherwise asyncio + h11.
        "uvicorn_loop": "uvloop" if has("uvloop") else "asyncio",
        "uvicorn_http": "httptools" if has("httptools") else "h11",
        "git": _git(),
    }
