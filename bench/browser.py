"""Page weight from a real Chromium (Debian's), driven by Playwright: bytes as the browser received them.

Run by the harness in its own process (sync Playwright keeps its own event loop):

    python -m bench.browser --base http://localhost:PORT --session TOKEN --query smi --pupil 12 --out weight.json

Each page is a *first load*: a new browser context (empty cache, no service worker yet). Transferred bytes
are Chromium's own count per response (headers + body as received, compressed if the server compressed),
for the page's requests. The service worker's precache, fetched in the background after the first load, is
reported separately. For what compression would save, each text response is also gzipped here (level 6).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import tempfile
from urllib.parse import urlsplit

from playwright.sync_api import Page, Request, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check"]
TEXT_TYPES = ("text/", "javascript", "json", "xml", "svg", "manifest")
QUICK_ENTRY = "/incidents/new"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True}


class Recorder:
    """Every finished request of a context, with its transferred size and what gzip would make of it."""

    def __init__(self, origin: str):
        self.origin = origin
        self.rows: list[dict] = []
        self.skipped = 0

    def __call__(self, request: Request) -> None:
        try:
            sizes = request.sizes()
            response = request.response()
        except Exception:  # noqa: BLE001 - a request torn down with its page has no sizes: skip it
            self.skipped += 1
            return
        if response is None:
            return
        headers = response.headers
        ctype = headers.get("content-type", "")
        body_len, gz_len = None, None
        if any(t in ctype for t in TEXT_TYPES):
            try:
                body = response.body()
                body_len, gz_len = len(body), len(gzip.compress(body, 6))
            except Exception:  # noqa: BLE001 - bodies of redirects and evicted resources are not kept
                body_len = gz_len = None
        transferred = sizes["responseHeadersSize"] + sizes["responseBodySize"]
        self.rows.append({
            "url": urlsplit(request.url).path, "type": request.resource_type, "status": response.status,
            "third_party": not request.url.startswith(self.origin) and not request.url.startswith("data:"),
            "service_worker": request.service_worker is not None, "content_encoding": headers.get("content-encoding", ""),
            "transferred": transferred, "headers": sizes["responseHeadersSize"], "body": sizes["responseBodySize"],
            "decoded": body_len, "gzip_body": gz_len,
        })


def summarise(rows: list[dict]) -> dict:
    page = [r for r in rows if not r["service_worker"]]
    sw = [r for r in rows if r["service_worker"]]
    # What it would weigh if every text response were gzipped (headers as they are).
    with_gzip = sum(r["headers"] + (r["gzip_body"] if r["gzip_body"] is not None and not r["content_encoding"]
                                    else r["body"]) for r in page)
    return {
        "bytes": sum(r["transferred"] for r in page), "requests": len(page),
        "third_party": sum(r["third_party"] for r in page),
        "compressed_responses": sum(bool(r["content_encoding"]) for r in page),
        "text_responses": sum(r["decoded"] is not None for r in page),
        "bytes_if_gzipped": with_gzip,
        "by_type": {t: sum(r["transferred"] for r in page if r["type"] == t) for t in sorted({r["type"] for r in page})},
        "service_worker_bytes": sum(r["transferred"] for r in sw), "service_worker_requests": len(sw),
        "requests_detail": rows,
    }


def first_load(browser, base: str, path: str, cookies: list[dict]) -> dict:
    context = browser.new_context(base_url=base, **PHONE)
    if cookies:
        context.add_cookies(cookies)
    rec = Recorder(base)
    context.on("requestfinished", rec)
    page = context.new_page()
    response = page.goto(path, wait_until="networkidle")
    page.wait_for_timeout(800)  # let the service worker's install fetches finish, to report them
    result = summarise(rec.rows) | {"path": path, "status": response.status if response else None,
                                    "final_path": urlsplit(page.url).path}
    context.close()
    return result


def lookup_fragment(browser, base: str, cookies: list[dict], query: str) -> dict:
    """Type into the lookup box as a person would; measure the results fragment htmx receives."""
    context = browser.new_context(base_url=base, **PHONE)
    context.add_cookies(cookies)
    page: Page = context.new_page()
    page.goto("/pupils/", wait_until="networkidle")
    rec = Recorder(base)
    context.on("requestfinished", rec)
    with page.expect_response(lambda r: r.url.endswith("/pupils/search") and r.request.method == "POST") as info:
        page.locator("#q").press_sequentially(query, delay=40)
    info.value.finished()
    page.wait_for_timeout(400)  # the last keystroke's request (the debounce sends one after typing stops)
    rows = [r for r in rec.rows if r["url"] == "/pupils/search"]
    context.close()
    if not rows:
        return {"error": "no /pupils/search request seen"}
    last = rows[-1]
    return {"query": query, "bytes": last["transferred"], "body": last["body"], "headers": last["headers"],
            "decoded": last["decoded"], "gzip_body": last["gzip_body"], "content_encoding": last["content_encoding"],
            "status": last["status"], "requests_while_typing": len(rows),
            "bytes_if_gzipped": last["headers"] + (last["gzip_body"] or last["body"])}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--session", required=True)
    ap.add_argument("--cookie-name", default="corridor_session")
    ap.add_argument("--query", default="")
    ap.add_argument("--pupil", type=int)
    ap.add_argument("--lookup", action="store_true", help="the lookup routes answer: measure them too")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="corridor-bench-browser-")
    os.environ["TMPDIR"] = tmp  # Chromium leaves singleton folders behind otherwise
    host = urlsplit(args.base).hostname
    cookies = [{"name": args.cookie_name, "value": args.session, "domain": host, "path": "/", "httpOnly": True,
                "sameSite": "Lax"}]
    out: dict = {"pages": {}, "fragments": {}}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            out["chromium"] = browser.version
            out["pages"]["sign-in"] = first_load(browser, args.base, "/signin", [])
            out["pages"]["home"] = first_load(browser, args.base, "/", cookies)
            # The quick-entry screen (the budget's own subject) comes with the incidents feature.
            quick = first_load(browser, args.base, QUICK_ENTRY, cookies)
            if quick["status"] == 200 and quick["final_path"] == QUICK_ENTRY:
                out["pages"]["quick entry"] = quick
            else:
                out["unavailable"] = {"quick entry": f"GET {QUICK_ENTRY} answered {quick['status']}"
                                      + ("" if quick["final_path"] == QUICK_ENTRY else f" (ended at {quick['final_path']})")}
            if args.lookup:
                out["pages"]["lookup"] = first_load(browser, args.base, "/pupils/", cookies)
                if args.pupil:
                    out["pages"]["profile"] = first_load(browser, args.base, f"/pupils/{args.pupil}", cookies)
                if args.query:
                    out["fragments"]["lookup results"] = lookup_fragment(browser, args.base, cookies, args.query)
            browser.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
