"""The fault soak: 240 entries made through the service worker while the signal flaps, answers are lost after
the server saved the entry, and the server is killed (mid-request too) and restarted. At the end the server
holds exactly the intended set: 0 lost, 0 duplicated. The counts are printed (pytest -s shows them).

Set OUTBOX_SOAK_SEED to replay a run; the seed is printed."""

from __future__ import annotations

import datetime as dt
import os
import random
import time
import uuid

from playwright.sync_api import Browser, Route

from tests.e2e.conftest import Authenticator, enrol, fresh_email
from tests.e2e.outbox_kit import a_pupil, outbox_server, query, wait_for_control  # noqa: F401
from tests.e2e.test_accessibility import PHONE

ENTRIES = 240

# Make entries the way a page's script would (htmx, or a form sent by fetch): through the service worker.
START = """({entries, csrf, person}) => {
  window.soak = Promise.all(entries.map(async (e) => {
    const body = new URLSearchParams([...e.fields, ["idempotency_key", e.key], ["_csrf_token", csrf], ["_person", person]]);
    try {
      const r = await fetch("/incidents/", { method: "POST", body, redirect: "manual" });
      return r.type === "opaqueredirect" ? "sent" : (r.headers.get("X-Corridor-Outbox") ? "queued" : "status " + r.status);
    } catch (err) { return "error " + err; }
  }));
}"""
FINISH = "() => window.soak"
ASK = """(type) => new Promise((resolve) => {
  const channel = new MessageChannel();
  channel.port1.onmessage = (event) => resolve(event.data);
  navigator.serviceWorker.controller.postMessage({ type, v: 1 }, [channel.port2]);
})"""


def test_fault_soak_loses_nothing_and_doubles_nothing(browser: Browser, outbox_server):  # noqa: F811
    seed = int(os.environ.get("OUTBOX_SOAK_SEED") or time.time())
    rng = random.Random(seed)
    context = browser.new_context(base_url=outbox_server.url, viewport=PHONE)
    page = context.new_page()
    Authenticator(page)
    name = f"Soak {uuid.uuid4().hex[:6].upper()}"
    enrol(page, outbox_server.invite(fresh_email("soak"), "staff", name=name), name)
    wait_for_control(page)
    page.goto("/outbox/")
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    person = page.locator('meta[name="person"]').get_attribute("content")
    category = query(outbox_server, "SELECT id FROM category WHERE name = 'Low-level disruption'")[0][0]
    pupils = [a_pupil(outbox_server, i)["id"] for i in range(10)]
    run = uuid.uuid4().hex[:6]
    counts = {"made": 0, "sent at once": 0, "queued": 0, "answers lost after commit": 0, "offline flaps": 0,
              "server kills": 0, "killed mid-request": 0, "replay rounds at the end": 0}

    drop_rate = {"now": 0.0}

    def maybe_drop(route: Route) -> None:
        # Only while a "lossy" stretch lasts: outside it, requests go straight to the server (and a kill
        # then really lands mid-request).
        if route.request.service_worker and route.request.method == "POST" and rng.random() < drop_rate["now"]:
            route.fetch(max_redirects=0, timeout=10_000)  # only while the server is up: it saves the entry...
            counts["answers lost after commit"] += 1
            route.abort("connectionreset")  # ...and its answer is lost
        else:
            route.fallback()

    notes = []

    def batch(size: int) -> list[dict]:
        out = []
        for _ in range(size):
            note = f"soak-{run}-{len(notes):04d}"
            notes.append(note)
            out.append({"key": str(uuid.uuid4()), "fields": [
                ["pupil_id", str(rng.choice(pupils))], ["role", "instigator"], ["category_id", str(category)],
                ["location_id", ""], ["occurred_at", ""], ["note", note]]})
        return out

    def make(size: int, *, kill_midway: bool = False) -> None:
        page.evaluate(START, {"entries": batch(size), "csrf": csrf, "person": person})
        if kill_midway:
            time.sleep(rng.uniform(0.01, 0.08))
            outbox_server.kill()
            counts["server kills"] += 1
            counts["killed mid-request"] += 1
        for outcome in page.evaluate(FINISH):
            counts["made"] += 1
            if outcome == "sent":
                counts["sent at once"] += 1
            else:
                assert outcome == "queued", outcome
                counts["queued"] += 1

    server_up, offline = True, False
    schedule: list[str] = []
    while len(notes) < ENTRIES:
        size = min(rng.randint(5, 25), ENTRIES - len(notes))
        if not schedule:  # every kind of fault in each round, in a random order
            schedule = ["calm", "flap", "flap", "lossy", "kill", "kill-mid", "restart"]
            rng.shuffle(schedule)
        fault = schedule.pop()
        if fault in ("lossy", "kill-mid"):  # these need the signal and the server
            if offline:
                offline = False
                context.set_offline(False)
                counts["offline flaps"] += 1
            if not server_up:
                outbox_server.start()
                server_up = True
        if fault == "flap":
            offline = not offline
            context.set_offline(offline)
            counts["offline flaps"] += 1
        elif fault == "lossy":
            drop_rate["now"] = rng.choice([0.2, 0.5, 1.0])
            context.route("**/incidents/", maybe_drop)
        elif fault == "kill" and server_up:
            outbox_server.kill()
            counts["server kills"] += 1
            server_up = False
        elif fault == "restart" and not server_up:
            outbox_server.start()
            server_up = True
        kill_midway = fault == "kill-mid" and server_up and not offline
        make(size, kill_midway=kill_midway)
        if kill_midway:
            server_up = False
        if fault == "lossy":
            if rng.random() < 0.5:  # some replays happen while answers are still being lost
                page.evaluate(ASK, "outbox:send-now")
            context.unroute("**/incidents/")
            drop_rate["now"] = 0.0
        if rng.random() < 0.3:  # now and then the app is opened again, which replays what waits
            page.evaluate(ASK, "outbox:hello")

    # Everything back to normal: signal, server, answers. Replay until nothing waits.
    context.set_offline(False)
    if not server_up:
        outbox_server.start()
    deadline = time.monotonic() + 45
    while True:
        left = page.evaluate(ASK, "outbox:send-now")
        counts["replay rounds at the end"] += 1
        if not left["count"]:
            break
        assert left["attention"] == 0, page.evaluate(ASK, "outbox:list")
        assert time.monotonic() < deadline, f"still waiting: {left}"
        time.sleep(0.5)

    rows = query(outbox_server, "SELECT note, count(*) FROM incident WHERE note LIKE ? GROUP BY note", f"soak-{run}-%")
    stored = dict(rows)
    lost = [n for n in notes if n not in stored]
    doubled = {n: c for n, c in stored.items() if c > 1}
    unexpected = [n for n in stored if n not in set(notes)]
    print(f"\noutbox fault soak (seed {seed}): " + ", ".join(f"{k} {v}" for k, v in counts.items())
          + f"; on the server {sum(stored.values())} records for {len(notes)} entries: "
          f"{len(lost)} lost, {sum(c - 1 for c in doubled.values())} duplicated, {len(unexpected)} unexpected")
    assert counts["made"] == len(notes) >= 200
    assert not lost and not doubled and not unexpected
    # The entries left "when" empty: the phone filled in the minute each was made (the server would have
    # used the moment it arrived, seconds and all), so a late arrival keeps its time.
    times = [dt.datetime.fromisoformat(t) for (t,) in query(
        outbox_server, "SELECT occurred_at FROM incident WHERE note LIKE ?", f"soak-{run}-%")]
    assert all(t.second == 0 and t.microsecond == 0 for t in times)
    assert counts["queued"] > 0 and counts["sent at once"] > 0
    context.close()
