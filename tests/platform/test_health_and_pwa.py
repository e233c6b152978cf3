"""The health check, and the installable PWA shell: manifest, service worker, offline page."""

import json
from dataclasses import replace

from app import db
from app.main import create_app
from tests.conftest import http_client


async def test_healthz_answers_200_when_the_database_answers(client):
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_healthz_answers_503_when_the_database_does_not(settings, tmp_path):
    # A real failure: an SQLite "file" that is a directory cannot be opened.
    broken = replace(settings, database_url=f"sqlite:///{tmp_path}")
    try:
        async with http_client(create_app(broken), "http://localhost:8000") as client:
            response = await client.get("/healthz")
    finally:
        db.bind(settings.database_url)
    assert response.status_code == 503


async def test_the_manifest_makes_the_app_installable(client):
    response = await client.get("/manifest.webmanifest")
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert manifest["name"] == "Corridor" and manifest["short_name"]
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/" and manifest["theme_color"]
    sizes = {(i["sizes"], i.get("purpose", "any")) for i in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        png = await client.get(icon["src"])
        assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(png.content[16:20], "big"), int.from_bytes(png.content[20:24], "big")
        assert f"{width}x{height}" == icon["sizes"]


async def test_the_service_worker_is_served_from_the_root_and_precaches_only_the_shell(client):
    response = await client.get("/sw.js")
    assert response.status_code == 200 and "javascript" in response.headers["content-type"]
    assert response.headers["service-worker-allowed"] == "/"
    shell = json.loads(response.text.split("const SHELL = ", 1)[1].split(";", 1)[0])
    assert "/offline" in shell
    # Nothing personal: only the offline page, the manifest and static files are ever cached.
    assert all(p in ("/offline", "/home-visits/offline", "/manifest.webmanifest") or p.startswith("/static/")
               for p in shell)  # the offline visit page holds no visit: its script reads the sealed pack
    for path in shell:
        assert (await client.get(path)).status_code == 200, path


async def test_the_offline_page_needs_no_session_and_names_nobody(client):
    response = await client.get("/offline")
    assert response.status_code == 200 and "No signal" in response.text
    assert "Account" not in response.text
