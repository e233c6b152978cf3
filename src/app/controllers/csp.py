"""Content-Security-Policy violation reports: the browser tells us when our own policy blocked something.

A violation on a page of ours is either a bug (an inline handler that slipped in) or someone injecting
content, so each one is logged at WARNING with the fixed prefix `csp-violation`; the browser tests fail
on any. Browsers send reports without cookies or CSRF tokens, so the endpoint is open: it keeps nothing,
logs only the directive and the blocked resource's origin (never the page's URL, the script sample or
anything else a report echoes back from the page), and refuses large bodies.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import urlsplit

from litestar import Controller, Request, post
from litestar.status_codes import HTTP_204_NO_CONTENT

from app.errors import BadRequest

log = logging.getLogger("corridor")

MAX_BODY = 64 * 1024  # a Reporting API batch of a few dozen reports; anything bigger is not a browser's
MAX_LOGGED = 20  # per request: a flood of reports in one body must not flood the log
_TOKEN = re.compile(r"[a-z][a-z0-9-]{0,39}")
# CSP's keywords for what was blocked when it was not a URL (inline script, eval, ...).
_KEYWORDS = {"inline", "eval", "wasm-eval", "trusted-types-policy", "trusted-types-sink", "self", "data", "blob"}


def _directive(value: Any) -> str:
    """`script-src-elem`, never whatever else a report put there (a directive line may list sources)."""
    first = value.split(" ", 1)[0].strip().lower() if isinstance(value, str) else ""
    return first if _TOKEN.fullmatch(first) else "unknown"


def _blocked(value: Any) -> str:
    """The blocked resource's origin, or CSP's keyword: a blocked URL's path and query may carry data."""
    if not isinstance(value, str) or not value:
        return "unknown"
    value = value.strip().lower()
    if value in _KEYWORDS:
        return value
    scheme = value.split(":", 1)[0]
    if scheme in ("data", "blob", "filesystem", "javascript"):
        return scheme
    try:
        parts = urlsplit(value)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "unknown"
    if parts.scheme in ("http", "https", "ws", "wss") and host and re.fullmatch(r"[a-z0-9.:\[\]-]{1,253}", host):
        return f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    return "unknown"


def summarise(payload: Any) -> list[tuple[str, str]]:
    """(directive, blocked origin) for each report, in the legacy report-uri or the Reporting API format."""
    if isinstance(payload, dict) and isinstance(payload.get("csp-report"), dict):
        report = payload["csp-report"]
        return [(_directive(report.get("effective-directive") or report.get("violated-directive")),
                 _blocked(report.get("blocked-uri")))]
    if isinstance(payload, list):
        found = []
        for item in payload:
            if isinstance(item, dict) and item.get("type") == "csp-violation" and isinstance(item.get("body"), dict):
                body = item["body"]
                found.append((_directive(body.get("effectiveDirective")), _blocked(body.get("blockedURL"))))
        return found
    return []


class CspReportController(Controller):
    @post("/csp-report", name="csp.report", exclude_from_auth=True, exclude_from_csrf=True,
          request_max_body_size=MAX_BODY, status_code=HTTP_204_NO_CONTENT)
    async def report(self, request: Request) -> None:
        try:
            reports = summarise(json.loads(await request.body()))
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested deeper than the parser goes
            raise BadRequest("A CSP report is JSON.") from None
        for directive, blocked in reports[:MAX_LOGGED]:
            log.warning("csp-violation directive=%s blocked=%s", directive, blocked)
        if len(reports) > MAX_LOGGED:
            log.warning("csp-violation %d more reports in the same request not logged", len(reports) - MAX_LOGGED)
