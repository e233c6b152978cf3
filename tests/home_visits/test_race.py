"""Exactly one escalation per tier with two server processes racing: two real processes run the timer at the same
moments on the test database (SQLite or PostgreSQL), as two Corridor workers would; each reminder and each tier
is taken once, with one alert each, whichever process takes it. Restarting (a third run at the same moments) adds
nothing."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

from app.domain.home_visits.tables import HomeVisitEscalation, HomeVisitEvent
from app.domain.notifications.tables import Alert
from tests.home_visits.kit import row, started, world

ROOT = Path(__file__).resolve().parents[2]


def _race(moments: list[dt.datetime], processes: int = 2) -> list[int]:
    start_at = time.time() + 2.5
    procs = [subprocess.Popen([sys.executable, "-m", "tests.home_visits.racer", str(start_at),
                               *[m.isoformat() for m in moments]], cwd=ROOT, env=os.environ.copy(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(processes)]
    taken = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        taken.append(int(out.strip().splitlines()[-1]))
    return taken


async def test_two_processes_escalate_each_tier_exactly_once(cast, settings, frozen_clock):
    w = await world(cast, settings, frozen_clock)
    vid = await started(w)
    ends = (await row(vid))["ends_at"]
    moments = [ends + dt.timedelta(minutes=m) for m in (-5, 0, 5, 15, 30, 32)]
    taken = _race(moments)
    print("taken by each process:", taken)
    assert sum(taken) == 6  # two reminders and four tiers, between them
    tiers = [e["tier"] for e in await HomeVisitEscalation.select(HomeVisitEscalation.tier).order_by(
        HomeVisitEscalation.tier)]
    assert tiers == [1, 2, 3, 4]
    kinds = [e["kind"] for e in await HomeVisitEvent.select(HomeVisitEvent.kind).where(
        HomeVisitEvent.kind.is_in(["reminded", "escalated"])).order_by(HomeVisitEvent.id)]
    assert kinds == ["reminded", "reminded", "escalated", "escalated", "escalated", "escalated"]
    alarms = await Alert.select(Alert.text).where(Alert.kind == "home_visit").order_by(Alert.id)
    assert len([a for a in alarms if "overdue" in a["text"]]) == 3
    assert len([a for a in alarms if "nobody has acknowledged" in a["text"]]) == 1
    assert len([a for a in alarms if a["text"].startswith("Home visit: 5 minutes left")]) == 1
    # A restart: the same moments again take nothing.
    assert _race(moments, processes=1) == [0]
    assert await HomeVisitEscalation.count() == 4
