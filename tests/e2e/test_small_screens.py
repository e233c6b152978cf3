"""Every page reachable from the home screen, in every role, fits a 390x844 and a 320x640 phone and passes axe.

One person per role signs in with a passkey and follows the links of the home screen, and the links of the pages
those open (an incident, a pupil, a request, a concern, a colleague), as a curious new member of staff would.
On each page, at each size: the document is no wider than the screen, no visible element reaches past its right
edge (a table that scrolls inside its own labelled, focusable region is fine), and axe finds no violations.
"""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import SHOTS, Server, enrol, enrolled_page
from tests.e2e.test_accessibility import AXE_OPTIONS

SIZES = [{"width": 390, "height": 844}, {"width": 320, "height": 640}]
ROLES = {
    "staff": ("staff",), "guest": ("guest",), "responder": ("staff", "responder"), "pastoral": ("staff", "pastoral"),
    "head_of_year": ("staff", "head_of_year"), "dsl": ("staff", "dsl"), "admin": ("staff", "admin"),
}
# Links that are not pages to look at: signing out ends the session, photos and exports are files, streams
# never end.
SKIP = re.compile(r"^/(signout|static/|sw\.js|manifest|favicon|offline)|/photo$|/stream|\.csv$|/csv(/|$)|format=csv|/export|/pack")
MAX_DEPTH = 2
MAX_PAGES = 40

# Everything drawn past the right edge of the screen, except inside an element that scrolls sideways itself.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const scrollsItself = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const x = getComputedStyle(a).overflowX;
      if ((x === 'auto' || x === 'scroll' || x === 'hidden') && a.getBoundingClientRect().right <= width + 1) return true;
    }
    return false;
  };
  const off = [];
  for (const el of document.body.querySelectorAll('*')) {
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (style.position === 'absolute' && style.clip === 'rect(0px, 0px, 0px, 0px)') continue;  // .sr-only
    if (box.right > width + 1 && !scrollsItself(el)) {
      const id = el.id ? '#' + el.id : '';
      const cls = el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
      const text = (el.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 40);
      off.push(`${el.tagName.toLowerCase()}${id}${cls} right=${Math.round(box.right)} "${text}"`);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, off: off.slice(0, 8)};
}"""


def pattern(path: str) -> str:
    """One visit per kind of page: /incidents/12 and /incidents/13 are the same screen."""
    return re.sub(r"/\d+", "/{id}", path)


def links(page: Page, origin: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != origin or SKIP.search(parts.path):
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if not SKIP.search(path):
            found.append(path)
    return found


def sign_in_as(browser: Browser, server: Server, role: str) -> Page:
    page, _ = enrolled_page(browser, server, *ROLES[role], first_name=role.title().replace("_", ""),
                            email_prefix="small", viewport=SIZES[0])
    return page


def first_pupil(server: Server) -> dict:
    with closing(sqlite3.connect(server.db_path)) as con:
        pid, first, last = con.execute("SELECT id, preferred_first_name, legal_last_name FROM pupil "
                                       "WHERE left_on IS NULL ORDER BY id LIMIT 1").fetchone()
        room = con.execute("SELECT id FROM location WHERE name LIKE 'Room %' ORDER BY id LIMIT 1").fetchone()[0]
    return {"id": pid, "name": f"{first} {last}", "typed": f"{first[:3]} {last[:3]}", "room": room}


@pytest.fixture(scope="module")
def records(browser: Browser, server: Server) -> None:
    """Something on every list: an incident to follow up, an on-call request, a concern for the DSL."""
    page = sign_in_as(browser, server, "staff")
    pupil = first_pupil(server)
    page.goto("/incidents/new")
    page.get_by_label("Find a pupil").press_sequentially(pupil["typed"], delay=30)
    page.locator("#pick-area").get_by_role("button", name=re.compile(re.escape(pupil["name"]))).first.click()
    page.get_by_text("Low-level disruption").click()
    page.get_by_role("button", name="Log it").click()
    expect(page.get_by_role("status").filter(has_text="Logged")).to_be_visible()
    page.goto(f"/oncall/new?location={pupil['room']}")
    page.locator("button.reason").first.click()
    expect(page.get_by_role("heading", name="On-call request")).to_be_visible()
    page.goto("/concerns/new")
    page.get_by_label("Find the pupil").press_sequentially(pupil["typed"], delay=30)
    page.locator("#pick-area").get_by_role("button", name=re.compile(re.escape(pupil["name"]))).first.click()
    page.get_by_label("What did you see or hear? (facts)").fill("Said they had not eaten since Friday")
    page.get_by_role("button", name="Send to the DSL").click()
    expect(page.get_by_role("heading", name="Concern sent")).to_be_visible()
    page.context.close()


def problems_on(page: Page, axe: Axe, path: str, size: dict) -> list[str]:
    found = []
    measured = page.evaluate(OVERFLOW)
    if measured["scrollWidth"] > measured["innerWidth"]:
        found.append(f"{path} at {size['width']}px: the page is {measured['scrollWidth']}px wide")
    found += [f"{path} at {size['width']}px: off the right edge: {what}" for what in measured["off"]]
    violations = axe.run(page, options=AXE_OPTIONS).response["violations"]
    found += [f"{path} at {size['width']}px: axe {v['id']} ({v['impact']}): {v['help']} "
              f"{json.dumps([n['target'] for n in v['nodes']][:4])}" for v in violations]
    return found


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_fits_a_small_phone_and_passes_axe(browser: Browser, server: Server, records, role: str):
    page = sign_in_as(browser, server, role)
    axe = Axe()
    seen: set[str] = set()
    # A pupil's profile is one search and one tap from the home screen: the search is a form, not a link.
    queue = [("/", 0), (f"/pupils/{first_pupil(server)['id']}", 1)]
    problems: list[str] = []
    visited = []
    while queue and len(visited) < MAX_PAGES:
        path, depth = queue.pop(0)
        if pattern(path) in seen:
            continue
        seen.add(pattern(path))
        for size in SIZES:
            page.set_viewport_size(size)
            response = page.goto(path)
            assert response is not None and response.status < 400, f"{role}: {path} answered {response and response.status}"
            page.wait_for_load_state("load")
            problems += problems_on(page, axe, path, size)
            if size["width"] == 320:
                SHOTS.mkdir(parents=True, exist_ok=True)
                name = re.sub(r"[^a-z0-9]+", "-", f"small-{role}-{pattern(path)}".lower()).strip("-")
                page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        visited.append(path)
        if depth < MAX_DEPTH:
            queue += [(link, depth + 1) for link in links(page, server.url) if pattern(link) not in seen]
    assert len(visited) >= 3, f"{role} reached only {visited} from the home screen"
    assert not problems, f"{role}: {len(problems)} problem(s) on {len(visited)} pages:\n  " + "\n  ".join(problems)
