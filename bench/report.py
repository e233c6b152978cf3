"""The printed report: machine, load table, page weight, Lighthouse, budgets."""

from __future__ import annotations


def _ms(v) -> str:
    return "-" if v is None else (f"{v:.1f}" if v >= 10 else f"{v:.2f}")


def _trio(d: dict | None) -> str:
    if not d:
        return "-"
    return "/".join(_ms(d.get(k)) for k in ("p50", "p95", "p99"))


def _kb(v) -> str:
    return "-" if v is None else f"{v / 1024:.1f} KB"


def _table(headers: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)] if rows else [len(h) for h in headers]
    def line(cells):
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(headers), line(["-" * w for w in widths]), *[line(r) for r in rows]])


def load_table(result: dict) -> str:
    rows = []
    for c, f in sorted(result["floor"].items(), key=lambda kv: int(kv[0])):
        b, a = f["before"], f["after"]
        rows.append(["floor: bare Litestar GET /", "-", c, f"{f['rps']:.0f}", "1.00", str(b["errors"] + a["errors"]),
                     "-", _trio(b["client_ms"]), _ms(b.get("cpu_ms_per_req")),
                     f"before {b['rps']:.0f}, after {a['rps']:.0f}"])
    for r in result["runs"]:
        data = {"school": "school/SQLite", "trust": "trust/PG"}.get(r["dataset"], r["dataset"])
        if r["status"] != "measured":
            rows.append([r["title"], data, r["concurrency"], "-", "-", "-", "-", "-", "-",
                         r["status"] + (f": {r['note']}" if r["status"] != "not built yet" and r.get("note") else "")])
            continue
        if r.get("summary"):  # an asyncio-client scenario: its own figures, described in Notes
            rows.append([r["title"], data, r["concurrency"], "-" if r.get("rps") is None else f"{r['rps']:.0f}", "-",
                         str(r["errors"]), _trio(r["server_ms"]) if r.get("server_ms") else "-",
                         _trio(r["client_ms"]) if r.get("client_ms") else "-", _ms(r.get("cpu_ms_per_req")),
                         r["summary"] + ("; " + ", ".join(f"{k} {v}" for k, v in r["error_detail"].items())
                                         if r.get("error_detail") else "")])
            continue
        rows.append([r["title"], data, r["concurrency"], f"{r['rps']:.0f}",
                     f"{r['floor_ratio']:.2f}" if r.get("floor_ratio") is not None else "-", str(r["errors"]),
                     _trio(r["server_ms"]), _trio(r["client_ms"]), _ms(r.get("cpu_ms_per_req")),
                     "; ".join(x for x in [", ".join(f"{k} {v}" for k, v in r["error_detail"].items()),
                                           f"PostgreSQL's own CPU {_ms(r['extra']['db_cpu_ms_per_req'])} ms/req"
                                           if r.get("extra", {}).get("db_cpu_ms_per_req") is not None else "",
                                           f"PG/SQLite CPU {r['pg_cpu_ratio']}×" if r.get("pg_cpu_ratio") else ""]
                               if x)])
    return _table(["Scenario", "Data", "Conc", "Req/s", "xFloor", "Errors", "Server ms p50/p95/p99",
                   "Client ms p50/p95/p99", "CPU ms/req", "Notes"], rows, right={2, 3, 4, 5, 8})


def weight_table(weight: dict) -> str:
    if not weight:
        return "Page weight: not measured (skipped)"
    if "error" in weight:
        return f"Page weight: not measured ({weight['error']})"
    rows = []
    for name, p in weight.get("pages", {}).items():
        rows.append([f"{name} ({p['path']})", _kb(p["bytes"]), str(p["requests"]), str(p["third_party"]),
                     f"{p['compressed_responses']} of {p['requests']}", _kb(p["bytes_if_gzipped"]),
                     _kb(p["service_worker_bytes"]) + f" ({p['service_worker_requests']} req)",
                     " ".join(f"{t} {v / 1024:.1f}" for t, v in p["by_type"].items())])
    out = _table(["First load", "Transferred", "Requests", "3rd-party", "Compressed", "If gzipped", "SW precache",
                  "By type (KB)"], rows, right={1, 2, 3, 5})
    for name, why in (weight.get("unavailable") or {}).items():
        out += f"\n{name}: not available yet ({why})"
    frows = []
    for name, f in weight.get("fragments", {}).items():
        if "bytes" not in f:
            frows.append([name, "-", "-", "-", f.get("error", "")])
            continue
        frows.append([f"{name} (q={f['query']!r})", _kb(f["bytes"]), f"{f['decoded'] or f['body']} B body",
                      f["content_encoding"] or "none", _kb(f["bytes_if_gzipped"])])
    if frows:
        out += "\n\n" + _table(["Fragment", "Transferred", "Body", "Encoding", "If gzipped"], frows, right={1})
    else:
        out += "\n\nFragments: none available yet (the lookup results fragment appears when /pupils/search answers)"
    return out


def lighthouse_table(lh: dict) -> str:
    if not lh:
        return "Lighthouse: not run (skipped)"
    if "error" in lh:
        return f"Lighthouse: not run ({lh['error']})"
    rows = []
    for name, r in lh.items():
        if "error" in r:
            rows.append([name, "-", "-", "-", "-", "-", "-", "-", r["error"][:100]])
            continue
        s = r["scores"]
        failing = "; ".join(f"{c}: {', '.join(ids)}" for c, ids in r["failing_audits"].items() if ids)
        rows.append([name, str(s["performance"]), str(s["accessibility"]), str(s["best-practices"]), str(s["seo"]),
                     f"{r['lcp_ms']} ms", f"{r['tbt_ms']} ms", str(r["cls"]), failing or "-"])
    return _table(["Lighthouse (mobile)", "Perf", "A11y", "Best pr.", "SEO", "LCP", "TBT", "CLS", "Audits not passed"],
                  rows, right={1, 2, 3, 4, 5, 6, 7})


def budget_table(budgets: list[dict]) -> str:
    rows = []
    for b in budgets:
        if "measured" in b:
            unit = b["unit"]
            shown = _kb(b["measured"]) if unit == "B" else (f"{b['measured']:.2f} ms" if unit == "ms" else
                                                           f"{b['measured']:.2f} s" if unit == "s" else
                                                           f"{b['measured']}{unit}")
            rows.append([b["budget"], b.get("where", ""), shown, b["status"].upper(), b["margin"]])
        else:
            rows.append([b["budget"], b.get("where", ""), "-", b["status"], b.get("note", "")])
    return _table(["Budget (DESIGN.md)", "Where", "Measured", "Verdict", "Margin / note"], rows)


def print_report(result: dict) -> None:
    m = result["machine"]
    print("\n" + "=" * 100)
    print(f"Corridor benchmark, {result['started_at']}  (git {m['git'].get('commit', '?')}"
          f"{', ' + str(m['git'].get('dirty_files')) + ' uncommitted files under src/' if m['git'].get('dirty_files') else ''})")
    print(f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}; load average at start "
          f"{m['load_average_at_start']}, at end {result.get('load_average_at_end')}")
    busy = max(m["load_average_at_start"][0], (result.get("load_average_at_end") or [0])[0])
    if busy > (m["cores"] or 1) * 0.5:
        print(f"NOTE: the machine was busy with other work (load average up to {busy:.1f} on {m['cores']} cores): "
              "absolute figures are noisy; the floor ratio and CPU ms/req are the steadier ones.")
    print(f"Python {m['python']}, SQLite {m['sqlite']}, PostgreSQL {m['postgresql'] or 'not used'}, {m['wrk']}, "
          f"Node {m['node']}, {m['chromium']}")
    p = m["packages"]
    cfg = result["config"]
    print(f"Server: corridor serve = uvicorn {p['uvicorn']} ({m['uvicorn_loop']} loop, {m['uvicorn_http']} HTTP), "
          f"1 process on SQLite, {cfg.get('trust_workers', 1)} on PostgreSQL; litestar {p['litestar']}, piccolo {p['piccolo']}, asyncpg {p['asyncpg']}, aiosqlite {p['aiosqlite']}")
    dbs = result.get("db_settings", {})
    if "sqlite" in dbs:
        q = dbs["sqlite"]
        print(f"SQLite file: journal_mode={q['journal_mode']}, synchronous={q['synchronous']} (per connection: SQLite's "
              f"default), busy timeout {q['engine_timeout_s']} s, {q['size_mb']} MB")
    if "postgres" in dbs:
        q = dbs["postgres"]
        print(f"PostgreSQL: app pool {q['app_pool']}, synchronous_commit={q['synchronous_commit']}, "
              f"shared_buffers={q['shared_buffers']}, database {q['database_size']}")
    for name, d in result["datasets"].items():
        if "skipped" in d:
            print(f"Data '{name}': not measured ({d['skipped']})")
        elif d.get("generated"):
            print(f"Data '{name}': generated in {d['seconds']} s (pupils {d['pupils_s']} s, staff {d['staff_s']} s, "
                  f"incidents {d.get('incidents_s')} s): {d['pupils']:,} pupils, {d['schools']} schools, "
                  f"{d['staff']:,} staff; {d['incidents']:,} incidents with {d['incident_pupil_rows']:,} pupil rows "
                  f"({d['reward_rows']:,} reward-point rows)")
        else:
            print(f"Data '{name}': cached seed, fingerprint {d['fingerprint']}")
    cfg = result["config"]
    print(f"Load: {cfg['load_tool']}, {cfg['duration_s']:g} s per run after a {cfg['warmup_s']:g} s warm-up. "
          "Server time = the app's Server-Timing; client = wrk; CPU = server process CPU per request.")
    if result.get("budgets_warning"):
        print("WARNING: " + result["budgets_warning"])
    print()
    print(load_table(result))
    print()
    print(weight_table(result["page_weight"]))
    print()
    print(lighthouse_table(result["lighthouse"]))
    print()
    print(budget_table(result["budgets"]))
    met = sum(b["status"] == "met" for b in result["budgets"])
    missed = sum(b["status"] == "missed" for b in result["budgets"])
    other = len(result["budgets"]) - met - missed
    print(f"\nBudgets: {met} met, {missed} missed, {other} not measured (not built yet / not available / skipped).")
