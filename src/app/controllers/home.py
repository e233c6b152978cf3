"""The home screen, the PWA shell (manifest, service worker, offline page) and the health check."""

from __future__ import annotations

import hashlib
import json
from functools import cache

from litestar import Controller, Request, Response, get

from app.controllers import CurrentActor
from app.db import database_answers
from app.rendering import render
from app.settings import PROJECT_ROOT

HTMX = "/static/vendor/htmx-4.0.1.min.js"
# The shell the service worker precaches. Only static files and the offline page: never pupil data.
SHELL = ["/offline", "/static/css/app.css", "/static/js/app.js", "/static/js/passkeys.js", "/static/js/quick-entry.js",
         "/static/js/notify.js", "/static/js/oncall.js", "/static/js/push.js", "/static/js/outbox-page.js", HTMX,
         "/static/icons/icon-192.png", "/static/icons/icon-512.png", "/static/icons/icon-maskable-512.png",
         "/manifest.webmanifest",
         # The offline visit page and its scripts: no visit in them (the pack is in IndexedDB, sealed).
         "/home-visits/offline", "/static/js/visit-offline.js", "/static/js/visit-pack.js"]


@cache
def service_worker_source() -> str:
    """sw.js (then the shell, the outbox, its replay and push) with the shell list and a version that changes
    whenever a shell file changes."""
    parts = [(PROJECT_ROOT / "service_worker" / name).read_text()
             for name in ("sw.js", "offline.js", "outbox.js", "replay.js", "push.js", "visitpack.js")]
    digest = hashlib.sha256()
    for path in SHELL:
        if path.startswith("/static/"):
            digest.update((PROJECT_ROOT / path.lstrip("/")).read_bytes())
    for part in parts:
        digest.update(part.encode())
    digest.update((PROJECT_ROOT / "src/app/templates/offline.html").read_bytes())
    digest.update((PROJECT_ROOT / "src/app/templates/outbox/_list.html").read_bytes())  # part of the offline page
    digest.update((PROJECT_ROOT / "src/app/templates/home_visits/offline.html").read_bytes())
    source = "\n".join(parts)
    return source.replace("__SHELL__", json.dumps(SHELL)).replace("__VERSION__", digest.hexdigest()[:12])


class HomeController(Controller):
    @get("/", name="home.index")
    async def index(self, request: Request, actor: CurrentActor) -> Response:
        return render(request, "home/home.html", {"actor": actor})

    @get("/healthz", name="home.healthz", exclude_from_auth=True)
    async def healthz(self) -> Response:
        ok = await database_answers()
        return Response({"status": "ok" if ok else "database unavailable"}, status_code=200 if ok else 503)

    @get("/offline", name="home.offline", exclude_from_auth=True)
    async def offline(self, request: Request) -> Response:
        # Rendered without the person: this page is cached on the device.
        return render(request, "offline.html", {})

    @get("/manifest.webmanifest", name="home.manifest", exclude_from_auth=True)
    async def manifest(self) -> Response:
        body = (PROJECT_ROOT / "static" / "manifest.webmanifest").read_text()
        return Response(body, media_type="application/manifest+json", headers={"Cache-Control": "no-cache"})

    @get("/sw.js", name="home.service_worker", exclude_from_auth=True)
    async def service_worker(self) -> Response:
        # Served from the root so its scope is the whole app; never cached by HTTP so updates are seen.
        return Response(service_worker_source(), media_type="text/javascript",
                        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"})

    @get("/favicon.ico", name="home.favicon", exclude_from_auth=True)
    async def favicon(self) -> Response:
        icon = (PROJECT_ROOT / "static" / "icons" / "icon-192.png").read_bytes()
        return Response(icon, media_type="image/png", headers={"Cache-Control": "max-age=86400"})
