"""Lighthouse 12 (npm, installed into bench/node_modules) on the machine's Node, with Debian's Chromium.

Mobile profile (Lighthouse's default: a mid-range phone, simulated slow 4G and 4× CPU slowdown). Run through
Lighthouse's Node API (bench/lighthouse_run.mjs) with puppeteer-core driving Debian's Chromium, so a signed-in
page gets a real session cookie in the browser's cookie jar. (`--extra-headers` with a Cookie header replaces
the browser's own Cookie header on every request, and the live-alerts EventSource then fails to sign in: a
console error no person would see.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
LIGHTHOUSE = BENCH / "node_modules" / "lighthouse" / "cli" / "index.js"
RUNNER = BENCH / "lighthouse_run.mjs"
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
METRICS = {"lcp_ms": "largest-contentful-paint", "tbt_ms": "total-blocking-time", "cls": "cumulative-layout-shift",
           "fcp_ms": "first-contentful-paint"}


def version() -> str:
    pkg = BENCH / "node_modules" / "lighthouse" / "package.json"
    return json.loads(pkg.read_text())["version"] if pkg.exists() else "missing"


def available() -> str | None:
    """None if Lighthouse can run here, else why not."""
    if not shutil.which("node"):
        return "node is not installed"
    if not LIGHTHOUSE.exists():
        return "Lighthouse is not installed: run `npm ci --prefix bench` (make bench does)"
    if not Path("/usr/bin/chromium").exists():
        return "Chromium is not installed at /usr/bin/chromium"
    return None


def run(url: str, *, cookie: str | None = None, out_dir: Path, name: str, timeout: int = 180) -> dict:
    """Audit one page; `cookie` is "NAME=VALUE" for a signed-in page."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report = out_dir / f"lighthouse-{name}.json"
    report.unlink(missing_ok=True)
    tmp = tempfile.mkdtemp(prefix="corridor-bench-lh-")
    cmd = ["node", str(RUNNER), url, str(report), *([cookie] if cookie else [])]
    env = {**os.environ, "CHROME_PATH": "/usr/bin/chromium", "CHROME_FLAGS": CHROME_FLAGS, "TMPDIR": tmp}
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"Lighthouse took more than {timeout} s"}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not report.exists():
        return {"error": f"Lighthouse failed (exit {done.returncode}): {(done.stderr or done.stdout)[-600:]}"}
    data = json.loads(report.read_text())
    scores = {c: round(data["categories"][c]["score"] * 100) if data["categories"][c]["score"] is not None else None
              for c in CATEGORIES}
    metrics = {k: data["audits"][a].get("numericValue") for k, a in METRICS.items()}
    failing = {c: [a["id"] for a in data["categories"][c]["auditRefs"]
                   if a.get("weight") and data["audits"][a["id"]].get("score") not in (None, 1)]
               for c in CATEGORIES}
    warnings = data.get("runWarnings", [])
    final = data.get("finalDisplayedUrl") or data.get("finalUrl") or url
    if urlsplit(final).path != urlsplit(url).path:  # e.g. a lapsed session: sent to /signin, not the page asked
        return {"error": f"Lighthouse audited {urlsplit(final).path}, not {urlsplit(url).path} (redirected)"}
    return {"url": url, "final_url": data.get("finalDisplayedUrl") or data.get("finalUrl"), "scores": scores,
            "lcp_ms": round(metrics["lcp_ms"]) if metrics["lcp_ms"] is not None else None,
            "tbt_ms": round(metrics["tbt_ms"]) if metrics["tbt_ms"] is not None else None,
            "cls": round(metrics["cls"], 3) if metrics["cls"] is not None else None,
            "fcp_ms": round(metrics["fcp_ms"]) if metrics["fcp_ms"] is not None else None,
            "failing_audits": failing, "warnings": warnings,
            "benchmark_index": data.get("environment", {}).get("benchmarkIndex"), "report": str(report)}
