"""Drive load with wrk (Debian's package) and a Lua plan; read server time from Server-Timing."""

from __future__ import annotations

import json
import math
import resource
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

LUA = Path(__file__).resolve().parent / "wrk" / "plan.lua"
SEP = "\x1f"


@dataclass(frozen=True)
class Req:
    """One HTTP request of a plan. `session` is the session cookie's value (None: signed out)."""

    method: str
    path: str
    body: str = ""
    session: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Load:
    requests: int
    seconds: float
    rps: float
    errors: int
    error_detail: dict
    statuses: dict
    client_ms: dict
    server_ms: dict
    server_samples: int
    mean_body_bytes: float
    cpu_ms_per_req: float | None = None
    extra: dict = field(default_factory=dict)


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least p% of values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, math.ceil(p / 100 * len(ordered)) - 1)
    return ordered[k]


def write_plan(path: Path, reqs: list[Req], *, cookie_names: tuple[str, str], csrf: tuple[str, str] | None) -> None:
    session_cookie, csrf_cookie = cookie_names
    lines = []
    for r in reqs:
        cookies = []
        if r.session:
            cookies.append(f"{session_cookie}={r.session}")
        headers = [("Accept-Encoding", "gzip, deflate, br"), *r.headers]
        if r.method != "GET" and csrf:
            pair = csrf(r.session) if callable(csrf) else csrf  # tokens are bound to their session
            cookies.append(f"{csrf_cookie}={pair[0]}")
            headers.append(("X-CSRFToken", pair[1]))
        if r.body:
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        if cookies:
            headers.append(("Cookie", "; ".join(cookies)))
        for text in (r.method, r.path, r.body, *[f"{k}: {v}" for k, v in headers]):
            if any(c in text for c in "\t\n\r" + SEP):
                raise ValueError(f"plan field with a tab or newline: {text!r}")
        lines.append("\t".join([r.method, r.path, SEP.join(f"{k}: {v}" for k, v in headers), r.body]))
    path.write_text("\n".join(lines) + "\n")


def wrk_version() -> str:
    if not shutil.which("wrk"):
        return "missing"
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).splitlines()[0].strip()


def run_wrk(url: str, plan: Path, out: Path, *, connections: int, seconds: float, threads: int = 1,
            timeout_s: int = 10) -> Load:
    """One wrk run; results parsed from the JSON the Lua script writes."""
    out.unlink(missing_ok=True)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", f"{timeout_s}s",
           "-s", str(LUA), url]
    nonce = secrets.token_hex(6)  # idempotency keys ("{{KEY}}" in a body) never repeat across runs
    before = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk's own CPU: it shares the cores with the server
    done = subprocess.run(cmd, env={"BENCH_PLAN": str(plan), "BENCH_OUT": str(out), "BENCH_NONCE": nonce,
                                    "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=seconds + timeout_s + 60, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if not out.exists():
        raise RuntimeError(f"wrk wrote no results (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    data = json.loads(out.read_text())
    secs = data["duration_us"] / 1e6
    statuses = {int(k): v for k, v in data["statuses"].items()}
    bad_status = sum(v for k, v in statuses.items() if k >= 400)
    e = data["errors"]
    socket_errors = e["connect"] + e["read"] + e["write"] + e["timeout"]
    server = [float(x) for x in data["server_ms"]]
    lat = data["latency_us"]
    ok = data["requests"] - bad_status
    return Load(
        requests=data["requests"], seconds=round(secs, 2), rps=round(ok / secs, 1) if secs else 0.0,
        errors=bad_status + socket_errors,
        error_detail={**{k: v for k, v in e.items() if v}, **{f"http_{k}": v for k, v in statuses.items() if k >= 400}},
        statuses=statuses,
        client_ms={k: round(lat[k] / 1000, 2) for k in ("p50", "p95", "p99", "mean", "max")},
        server_ms={f"p{p}": (round(v, 2) if (v := percentile(server, p)) is not None else None) for p in (50, 95, 99)}
        | {"max": round(max(server), 2) if server else None},
        server_samples=len(server),
        mean_body_bytes=round(data["body_bytes"] / data["responses"], 1) if data["responses"] else 0.0,
        extra={"client_cpu_ms_per_req": round(wrk_cpu_s * 1000 / data["requests"], 3)} if data["requests"] else {},
    )
