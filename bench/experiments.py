"""Measured what-ifs for the findings of the benchmark: each variant serves the app with one proposed change
applied from outside src/app/, on the same seeds, with the same scenarios, in the same run as the baseline.

    .venv/bin/python -m bench.experiments [--duration 8] [--variants baseline,gzip,...]

Variants:
  baseline            corridor serve as it is (uvicorn; asyncio + h11 while uvloop/httptools are not installed)
  uvloop-httptools    the same command from var/bench/exp-venv, which also has uvloop and httptools
                      (uvicorn picks them by itself: loop="auto", http="auto")
  granian             granian 2 (ASGI, 1 worker, no access log) serving app.main:create_app, from the same venv
  gzip                Litestar's CompressionConfig(backend="gzip", level 6, minimum 500 bytes)
  sqlite-connections  SQLite queries on 4 long-lived connections instead of a new connection per query
  sqlite-serial-writes  the same, and one SQLite write transaction at a time per process (an asyncio lock)

The experiment venv is made on first use (python -m venv + pip install -e . uvloop httptools granian), so
the main .venv, and what `corridor serve` runs in it, is never changed. Results go to
bench/results/experiments-<timestamp>.json. Not part of `make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import subprocess
import time
from pathlib import Path

from bench import data, harness, report, servers
from bench.harness import PG_BASE, PG_SEED, RESULTS, VAR, Runner, csrf_for, log, make_ctx, send_once
from bench.scenarios import SCENARIOS

EXP_VENV = VAR / "exp-venv"
ALL = ["baseline", "uvloop-httptools", "granian", "gzip", "sqlite-connections", "sqlite-serial-writes"]
SERVER_VARIANTS = {"baseline", "uvloop-httptools", "granian"}  # these also measure the floor and PostgreSQL


def ensure_exp_venv() -> Path:
    bin_dir = EXP_VENV / "bin"
    if not (bin_dir / "granian").exists():
        log("Making the experiment venv (uvloop, httptools, granian) in var/bench/exp-venv ...")
        subprocess.run(["python3", "-m", "venv", str(EXP_VENV)], check=True)
        subprocess.run([str(bin_dir / "pip"), "install", "--quiet", "-e", str(harness.ROOT), "uvloop", "httptools",
                        "granian"], check=True)
    return bin_dir


def make_server(variant: str, name: str, env: dict, *, floor: bool = False) -> servers.Server:
    logs = VAR / "logs"
    factory = "bench.floor_app:create_app" if floor else None
    if variant in ("baseline", "gzip", "sqlite-connections", "sqlite-serial-writes"):
        if not floor and variant != "baseline":
            factory = "bench.variants:" + variant.replace("-", "_")
        return servers.corridor(name, env, logs, factory=factory)
    bin_dir = ensure_exp_venv()
    if variant == "uvloop-httptools":
        return servers.corridor(name, env, logs, factory=factory, bin_dir=bin_dir)
    port = servers.free_port()
    env = {**env, "PUBLIC_URL": f"http://localhost:{port}"}
    target = factory or "app.main:create_app"
    command = [str(bin_dir / "granian"), "--interface", "asgi", "--factory", "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1", "--no-ws", "--log-level", "warning", target]
    return servers.Server(name, command, env, port, logs / f"{name}.log")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.experiments")
    ap.add_argument("--duration", type=float, default=8)
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--variants", default=",".join(ALL))
    ap.add_argument("--no-pg", action="store_true")
    args = ap.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    runner = Runner(argparse.Namespace(duration=args.duration, warmup=args.warmup, only=set()))
    env = {"PATH": "/usr/bin:/bin", "HOME": "/root", "LANG": "C.UTF-8", "CORRIDOR_DATA_DIR": str(VAR / "data"),
           "SECRET_KEY": harness.SECRET}
    cookies = ("corridor_session", "corridor_csrf")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    out: dict = {"started_at": stamp, "machine": harness.machine.describe(), "variants": {}}
    school_seed = VAR / "school-seed.sqlite3"
    data.ensure_sqlite_seed(data.SCHOOL, school_seed)
    use_pg = not args.no_pg and asyncio.run(data.pg_reachable(PG_BASE)) is None
    if use_pg:
        data.ensure_pg_seed(data.TRUST, PG_BASE, PG_SEED)
    school_scenarios = [sc for sc in SCENARIOS if sc.plan and sc.key in ("home", "lookup", "profile")]
    lookup = next(sc for sc in SCENARIOS if sc.key == "lookup")

    for variant in variants:
        log(f"Variant: {variant}")
        rows: list[dict] = []
        result: dict = {"rows": rows}
        if variant in SERVER_VARIANTS:
            fl = make_server(variant, f"exp-{variant}-floor", env | {"DATABASE_URL": f"sqlite:///{VAR / 'floor.sqlite3'}"},
                             floor=True)
            fl.start(ready_path="/")
            try:
                result["floor"] = harness.run_floor(runner, fl, [1, 64], variant)
            finally:
                fl.stop()
        run_path = VAR / "school.sqlite3"
        data.fresh_sqlite(school_seed, run_path)
        url = f"sqlite:///{run_path}"
        ctx = asyncio.run(make_ctx(url, "school", sessions_per_school=8))
        app = make_server(variant, f"exp-{variant}-sqlite", env | {"DATABASE_URL": url})
        app.start()
        try:
            csrf = csrf_for
            for sc in school_scenarios:
                reqs = sc.plan(ctx)
                for r in {r.session: r for r in reqs}.values():
                    send_once(app, r, cookies, csrf)
                runner.warm(app, reqs, 64, cookies=cookies, csrf=csrf, tag=f"exp-{sc.key}")
                for c in (1, 64):
                    m = runner.measure(app, reqs, c, cookies=cookies, csrf=csrf, tag=f"exp-{variant}-{sc.key}")
                    rows.append({"scenario": sc.key, "title": sc.title, "dataset": "school", "concurrency": c,
                                 "status": "measured", **m})
                    log(f"  {sc.key} c={c}: {m['rps']:.0f} req/s, server p50/p99 {m['server_ms']['p50']}/"
                        f"{m['server_ms']['p99']} ms, CPU {m['cpu_ms_per_req']} ms/req, errors {m['errors']}")
            if variant in ("baseline", "gzip"):
                weight, _ = harness.browser_and_lighthouse(app, ctx, cookies, True, {"lighthouse"})
                result["page_weight"] = {k: {kk: vv for kk, vv in v.items() if kk != "requests_detail"}
                                         for k, v in weight.get("pages", {}).items()}
                result["fragments"] = weight.get("fragments", {})
        finally:
            app.stop()
        if use_pg and variant in SERVER_VARIANTS:
            data.fresh_pg(PG_BASE, PG_SEED, "corridor_bench")
            url = data.pg_url(PG_BASE, "corridor_bench")
            ctx = asyncio.run(make_ctx(url, "trust", sessions_per_school=1))
            app = make_server(variant, f"exp-{variant}-pg", env | {"DATABASE_URL": url})
            app.start()
            try:
                csrf = csrf_for
                reqs = lookup.plan(ctx)
                for r in {r.session: r for r in reqs}.values():
                    send_once(app, r, cookies, csrf)
                runner.warm(app, reqs, 64, cookies=cookies, csrf=csrf, tag="exp-pg-lookup")
                for c in (1, 64):
                    m = runner.measure(app, reqs, c, cookies=cookies, csrf=csrf, tag=f"exp-{variant}-pg-lookup")
                    rows.append({"scenario": "lookup", "title": lookup.title, "dataset": "trust", "concurrency": c,
                                 "status": "measured", **m})
                    log(f"  PG lookup c={c}: {m['rps']:.0f} req/s, server p50/p99 {m['server_ms']['p50']}/"
                        f"{m['server_ms']['p99']} ms, CPU {m['cpu_ms_per_req']} ms/req")
            finally:
                app.stop()
        out["variants"][variant] = result

    print()
    table = []
    for variant, res in out["variants"].items():
        for c, f in (res.get("floor") or {}).items():
            table.append([variant, "floor", "-", str(c), f"{f['rps']:.0f}", "-", report._trio(f["client_ms"]),
                          report._ms(f["cpu_ms_per_req"]), str(f["errors"])])
        for r in res["rows"]:
            table.append([variant, r["scenario"], r["dataset"], str(r["concurrency"]), f"{r['rps']:.0f}",
                          report._trio(r["server_ms"]), report._trio(r["client_ms"]), report._ms(r["cpu_ms_per_req"]),
                          str(r["errors"])])
    print(report._table(["Variant", "Scenario", "Data", "Conc", "Req/s", "Server ms p50/p95/p99",
                         "Client ms p50/p95/p99", "CPU ms/req", "Errors"], table, right={3, 4, 7, 8}))
    for variant, res in out["variants"].items():
        for name, p in (res.get("page_weight") or {}).items():
            print(f"{variant}: first load {name} {p['bytes'] / 1024:.1f} KB ({p['compressed_responses']}/"
                  f"{p['text_responses']} text responses compressed)")
        for name, f in (res.get("fragments") or {}).items():
            if "bytes" in f:
                print(f"{variant}: fragment {name} {f['bytes'] / 1024:.1f} KB (encoding {f['content_encoding'] or 'none'})")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"experiments-{stamp}.json"
    path.write_text(json.dumps(out, indent=1, default=str))
    print(f"\nResults: {path.relative_to(harness.ROOT)}")
    return 0


if __name__ == "__main__":
    t = time.monotonic()
    code = main()
    print(f"({time.monotonic() - t:.0f} s)")
    raise SystemExit(code)
