"""The installable shell: manifest, service worker, the offline page, and nothing personal in the caches."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server

WAIT_FOR_ACTIVE_WORKER = """async () => {
  const reg = await navigator.serviceWorker.ready;
  const worker = reg.active;
  if (worker.state !== "activated") {
    await new Promise((resolve) => worker.addEventListener("statechange", () => {
      if (worker.state === "activated") resolve();
    }));
  }
  return { scope: reg.scope, state: worker.state, script: worker.scriptURL };
}"""

CACHED_URLS = """async () => {
  const out = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) out.push(request.url);
  }
  return out;
}"""


def test_manifest_is_linked_and_installable(page: Page, server: Server):
    page.goto("/signin")
    href = page.locator('link[rel="manifest"]').get_attribute("href")
    assert href == "/manifest.webmanifest"
    response = page.request.get(href)
    assert response.ok, response.status
    assert "manifest+json" in response.headers["content-type"]
    manifest = response.json()
    assert manifest["name"] == "Corridor"
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    icons = manifest["icons"]
    sizes = {icon["sizes"] for icon in icons}
    assert {"192x192", "512x512"} <= sizes, icons
    assert any("maskable" in icon.get("purpose", "").split() for icon in icons), icons
    for icon in icons:
        fetched = page.request.get(icon["src"])
        assert fetched.ok and fetched.headers["content-type"] == "image/png", icon["src"]


def test_offline_page_when_there_is_no_signal(page: Page, server: Server, signed_in):
    name, _ = signed_in
    worker = page.evaluate(WAIT_FOR_ACTIVE_WORKER)
    assert worker["scope"] == f"{server.url}/", worker
    assert worker["script"] == f"{server.url}/sw.js", worker
    assert worker["state"] == "activated"

    # Visit pages that carry personal data while online: none of them may end up in Cache Storage.
    page.get_by_role("link", name="Account", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {name}")
    page.wait_for_function("navigator.serviceWorker.controller !== null")

    page.context.set_offline(True)
    try:
        page.reload()
        expect(page.get_by_role("heading", level=1)).to_have_text("No signal")
        expect(page).to_have_title(re.compile("^No signal"))
        page.goto("/account")
        expect(page.get_by_role("heading", level=1)).to_have_text("No signal")
        expect(page.get_by_text(name)).to_have_count(0)

        # The shell's pages are served without a session (exclude_from_auth), so they cannot hold anyone's data:
        # the "No signal" page and the home-visit page that fills itself from the sealed visit pack.
        OFFLINE_PAGES = ("/offline", "/home-visits/offline", "/manifest.webmanifest")
        cached = page.evaluate(CACHED_URLS)
        assert cached, "the shell should be precached"
        paths = [urlparse(url).path for url in cached]
        assert "/offline" in paths, cached
        personal = [url for url, path in zip(cached, paths)
                    if urlparse(url).netloc != urlparse(server.url).netloc
                    or not (path in OFFLINE_PAGES or path.startswith("/static/"))]
        assert not personal, f"Cache Storage holds more than the shell: {personal}"
    finally:
        page.context.set_offline(False)

    # Signal is back: "Try again" brings the real home screen.
    page.get_by_role("link", name="Try again").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {name}")
