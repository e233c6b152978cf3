"""The alarm's SMS channel (issue 14, point 4): each tier that alerts people also texts those of them with a mobile,
through GOV.UK Notify or a generic webhook, when a gateway is configured; exactly once per tier and person across
processes and restarts; sent after the tier commits; a failed send is tried a few times and logged without its
number or content; the text names who went, never the pupil or the address. The gateway is a real socket server
in the test (tests/home_visits/fake_sms.py)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.domain.home_visits import service as visits
from app.domain.home_visits.tables import HomeVisitEscalation, HomeVisitText
from app.domain.notifications import sms
from app.domain.schools.tables import Person
from app.settings import Settings, SettingsError
from tests.home_visits.fake_sms import (SERVICE_ID, TEMPLATE_ID, WEBHOOK_SECRET, FakeGateway, check_notify_jwt,
                                        notify_env, webhook_env)
from tests.home_visits.kit import row, started, world

ROOT = Path(__file__).resolve().parents[2]
BASE = {"SECRET_KEY": "x" * 40, "PUBLIC_URL": "https://corridor.example.sch.uk"}


@pytest.fixture
def gateway():
    fake = FakeGateway().start()
    yield fake
    fake.stop()


def wire(monkeypatch, settings: Settings) -> None:
    """As create_app does when SMS_GATEWAY is set (the test's client may have wired none)."""
    async def text(to: str, body: str, reference: str) -> None:
        await sms.send(settings, to, body, reference)

    monkeypatch.setattr(visits, "_texter", text)
    monkeypatch.setattr(visits, "_public_url", settings.public_url)


async def give_mobiles(**people: str) -> None:
    for person_id, number in people.items():
        await Person.update({Person.mobile: number}).where(Person.id == int(person_id.removeprefix("p")))


async def ladder_to(frozen_clock, vid: int, minutes_after_end: int) -> None:
    ends = (await row(vid))["ends_at"]
    frozen_clock.current = ends + dt.timedelta(minutes=minutes_after_end)
    await visits.tick(frozen_clock.current)


async def test_it_texts_each_tier_through_notify_with_a_signed_jwt_and_no_pupil_data(
        cast, settings, frozen_clock, gateway, monkeypatch, tmp_path):
    s = Settings.from_env({**BASE, **notify_env(gateway.url, tmp_path / "notify-key")})
    wire(monkeypatch, s)
    w = await world(cast, settings, frozen_clock)
    vid = await started(w)
    # The buddy and the DSL have mobiles; the pastoral lead (SLT, none named) has none; the visitors have one each.
    await give_mobiles(**{f"p{cast.responder.id}": "+447700900301", f"p{cast.dsl.id}": "+447700900302",
                          f"p{cast.pastoral.id}": "+447700900303"})
    await ladder_to(frozen_clock, vid, 5)  # tier 1: the buddy and the on-call responders
    assert gateway.requests == []  # queued with the tier, sent by the sender, after the commit
    assert await visits.send_texts() == 1
    assert len(gateway.requests) == 1
    sent = gateway.requests[0]
    assert sent["path"] == "/v2/notifications/sms"
    assert sent["headers"]["content-type"] == "application/json"
    claims = check_notify_jwt(sent["headers"]["authorization"])
    assert claims["iss"] == SERVICE_ID and abs(claims["iat"] - time.time()) < 30
    body = json.loads(sent["body"])
    assert body["phone_number"] == "+447700900301" and body["template_id"] == TEMPLATE_ID
    text = body["personalisation"]["body"]
    assert text == (f"Corridor: home visit by Pat Pastoral, Pip Second overdue (due back 10:45). "
                    f"Open Corridor: https://corridor.example.sch.uk/home-visits/{vid}/alarm")
    for private in ("Ada", "Able", "Mill Lane", "NB1", "absent", "Mum"):
        assert private not in sent["body"]
    # Tier 2: the DSL team and SLT. Only the DSL has a mobile; the visitors are never texted about their own visit.
    await ladder_to(frozen_clock, vid, 15)
    assert await visits.send_texts() == 1
    assert [json.loads(r["body"])["phone_number"] for r in gateway.requests] == ["+447700900301", "+447700900302"]
    # Nothing is sent twice, however often the sender runs.
    assert await visits.send_texts() == 0
    frozen_clock.current += dt.timedelta(minutes=1)
    assert await visits.send_texts() == 0
    assert len(gateway.requests) == 2
    assert {r["state"] for r in await HomeVisitText.select(HomeVisitText.state)} == {"sent"}


async def test_the_webhook_gets_to_and_body_signed_with_hmac_of_the_exact_bytes(
        cast, settings, frozen_clock, gateway, monkeypatch, tmp_path):
    import hashlib
    import hmac

    s = Settings.from_env({**BASE, **webhook_env(gateway.url, tmp_path / "hook-secret")})
    wire(monkeypatch, s)
    w = await world(cast, settings, frozen_clock)
    vid = await started(w)
    await give_mobiles(**{f"p{cast.responder.id}": "+447700900301"})
    await ladder_to(frozen_clock, vid, 5)
    assert await visits.send_texts() == 1
    sent = gateway.requests[0]
    assert sent["path"] == "/sms"
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), sent["body"].encode(), hashlib.sha256).hexdigest()
    assert sent["headers"]["x-corridor-signature"] == expected
    assert "authorization" not in sent["headers"]
    assert json.loads(sent["body"]) == {
        "to": "+447700900301",
        "body": f"Corridor: home visit by Pat Pastoral, Pip Second overdue (due back 10:45). "
                f"Open Corridor: https://corridor.example.sch.uk/home-visits/{vid}/alarm"}


async def test_nobody_without_a_mobile_and_no_gateway_means_no_texts(
        cast, settings, frozen_clock, gateway, monkeypatch, tmp_path):
    w = await world(cast, settings, frozen_clock)
    vid = await started(w)
    # No gateway configured (the default): the ladder runs, nothing is queued even for people with mobiles.
    monkeypatch.setattr(visits, "_texter", None)
    await give_mobiles(**{f"p{cast.responder.id}": "+447700900301"})
    await ladder_to(frozen_clock, vid, 5)
    assert [e["tier"] for e in await HomeVisitEscalation.select(HomeVisitEscalation.tier)] == [1]
    assert await HomeVisitText.count() == 0 and await visits.send_texts() == 0
    # A gateway, but nobody alerted at tier 2 has a mobile: no text either.
    wire(monkeypatch, Settings.from_env({**BASE, **notify_env(gateway.url, tmp_path / "k")}))
    await ladder_to(frozen_clock, vid, 15)
    assert [e["tier"] for e in await HomeVisitEscalation.select(HomeVisitEscalation.tier).order_by(
        HomeVisitEscalation.tier)] == [1, 2]
    assert await HomeVisitText.count() == 0 and await visits.send_texts() == 0
    assert gateway.requests == []


async def test_a_gateway_that_is_down_holds_up_nothing_and_is_tried_three_times(
        cast, settings, frozen_clock, gateway, monkeypatch, tmp_path, caplog):
    pushed: list[tuple[set, dict]] = []

    async def push(people, payload):
        pushed.append((set(people), payload))

    monkeypatch.setattr(visits, "_push", push)
    wire(monkeypatch, Settings.from_env({**BASE, **notify_env(gateway.url, tmp_path / "k")}))
    gateway.status = 503
    w = await world(cast, settings, frozen_clock)
    vid = await started(w)
    await give_mobiles(**{f"p{cast.responder.id}": "+447700900301", f"p{cast.dsl.id}": "+447700900302"})
    caplog.set_level(logging.WARNING, logger="corridor")
    await ladder_to(frozen_clock, vid, 5)
    assert pushed and pushed[-1][0] == {cast.responder.id}  # the push went, whatever the gateway does
    assert await visits.send_texts() == 0
    assert len(gateway.requests) == 1
    # The ladder climbs on time while the texts wait.
    await ladder_to(frozen_clock, vid, 15)
    assert [e["tier"] for e in await HomeVisitEscalation.select(HomeVisitEscalation.tier).order_by(
        HomeVisitEscalation.tier)] == [1, 2]
    assert cast.dsl.id in pushed[-1][0]
    assert await visits.send_texts() == 0  # the tier-2 text's first try; tier 1's second (30 s passed long ago)
    assert len(gateway.requests) == 3
    for _ in range(6):
        frozen_clock.current += dt.timedelta(minutes=2)
        await visits.send_texts()
    # Three tries each, then given up: no more requests, each marked failed.
    assert len(gateway.requests) == 6
    assert [(t["attempts"], t["state"]) for t in await HomeVisitText.select(
        HomeVisitText.attempts, HomeVisitText.state).order_by(HomeVisitText.id)] == [(3, "failed"), (3, "failed")]
    logged = caplog.text
    assert "giving up" in logged and "answered 503" in logged
    for private in ("+447700900301", "7700900301", "Pat Pastoral", "Corridor: home visit", "Ada", "Mill Lane"):
        assert private not in logged
    # A gateway back up gets nothing more for those: they were given up.
    gateway.status = 201
    frozen_clock.current += dt.timedelta(minutes=5)
    assert await visits.send_texts() == 0 and len(gateway.requests) == 6


async def test_a_failed_send_is_retried_and_sent_once_when_the_gateway_recovers(
        cast, settings, frozen_clock, gateway, monkeypatch, tmp_path):
    wire(monkeypatch, Settings.from_env({**BASE, **webhook_env(gateway.url, tmp_path / "s")}))
    w = await world(cast, settings, frozen_clock)
    vid = await started(w)
    await give_mobiles(**{f"p{cast.responder.id}": "+447700900301"})
    await ladder_to(frozen_clock, vid, 5)
    gateway.status = 500
    assert await visits.send_texts() == 0
    gateway.status = 200
    assert await visits.send_texts() == 0  # not before its retry time (30 s)
    frozen_clock.current += dt.timedelta(seconds=31)
    assert await visits.send_texts() == 1
    frozen_clock.current += dt.timedelta(minutes=5)
    assert await visits.send_texts() == 0
    assert len(gateway.requests) == 2 and gateway.requests[0]["body"] == gateway.requests[1]["body"]


async def test_duress_texts_the_second_tier_once_without_pupil_data(
        client, cast, settings, frozen_clock, gateway, monkeypatch, tmp_path):
    wire(monkeypatch, Settings.from_env({**BASE, **notify_env(gateway.url, tmp_path / "k")}))
    w = await world(cast, settings, frozen_clock)
    vid = await started(w)
    await give_mobiles(**{f"p{cast.dsl.id}": "+447700900302",
                          f"p{cast.responder.id}": "+447700900301", f"p{cast.pastoral.id}": "+447700900303"})
    frozen_clock.current += dt.timedelta(minutes=20)
    for _ in range(2):  # sent twice (a replay): one check-out, one text
        await visits.finish_duress(w.actors["pastoral"], vid, key="duress-1", digest="d")
    assert await visits.send_texts() == 1
    body = json.loads(gateway.requests[0]["body"])
    assert body["phone_number"] == "+447700900302"  # the DSL; not the buddy (tier 1), not the visitor
    assert body["personalisation"]["body"] == (
        f"Corridor: home visit by Pat Pastoral, Pip Second: they may need help. Do not phone them. "
        f"Open Corridor: https://corridor.example.sch.uk/home-visits/{vid}/alarm")
    assert await visits.send_texts() == 0 and len(gateway.requests) == 1


async def test_a_text_claimed_by_a_process_that_died_is_sent_by_another_after_two_minutes(
        cast, settings, frozen_clock, gateway, monkeypatch, tmp_path):
    wire(monkeypatch, Settings.from_env({**BASE, **webhook_env(gateway.url, tmp_path / "s")}))
    w = await world(cast, settings, frozen_clock)
    vid = await started(w)
    await give_mobiles(**{f"p{cast.responder.id}": "+447700900301"})
    await ladder_to(frozen_clock, vid, 5)
    # A process claimed it and died before sending (as a restart mid-send would leave it).
    await HomeVisitText.update({HomeVisitText.state: "sending", HomeVisitText.claimed_at: frozen_clock.current,
                                HomeVisitText.attempts: 1}).where(HomeVisitText.visit == vid)
    assert await visits.send_texts() == 0 and gateway.requests == []  # another process may still be sending it
    frozen_clock.current += dt.timedelta(minutes=2, seconds=1)
    assert await visits.send_texts() == 1 and len(gateway.requests) == 1


def _race(moments: list[dt.datetime], env: dict, processes: int = 2) -> list[int]:
    start_at = time.time() + 2.5
    procs = [subprocess.Popen([sys.executable, "-m", "tests.home_visits.text_racer", str(start_at),
                               *[m.isoformat() for m in moments]], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(processes)]
    sent = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        sent.append(int(out.strip().splitlines()[-1]))
    return sent


async def test_two_processes_text_each_person_once_per_tier_and_a_restart_adds_none(
        cast, settings, frozen_clock, gateway, tmp_path):
    w = await world(cast, settings, frozen_clock)
    vid = await started(w)
    await give_mobiles(**{f"p{cast.responder.id}": "+447700900301", f"p{cast.dsl.id}": "+447700900302",
                          f"p{w.lead.id}": "+447700900304", f"p{cast.pastoral.id}": "+447700900303"})
    ends = (await row(vid))["ends_at"]
    moments = [ends + dt.timedelta(minutes=m) for m in (5, 15, 30, 32)]
    env = {**os.environ, **webhook_env(gateway.url, tmp_path / "s"), "PUBLIC_URL": BASE["PUBLIC_URL"]}
    sent = _race(moments, env)
    print("texts sent by each process:", sent)
    # Tier 1 the buddy; tier 2 the DSL and the lead (SLT); tier 3 (no headteacher named) the DSL and the lead;
    # tier 4 the whole team and everyone alerted: the DSL, the lead and the buddy. Never the visitor.
    assert sum(sent) == 8 and len(gateway.requests) == 8
    texts = await HomeVisitText.select().order_by(HomeVisitText.id)
    assert sorted((t["tier"], t["phone"]) for t in texts) == [
        (1, "+447700900301"), (2, "+447700900302"), (2, "+447700900304"), (3, "+447700900302"),
        (3, "+447700900304"), (4, "+447700900301"), (4, "+447700900302"), (4, "+447700900304")]
    assert {t["state"] for t in texts} == {"sent"} and {t["attempts"] for t in texts} == {1}
    references = [r["headers"]["x-corridor-reference"] for r in gateway.requests]
    assert sorted(references) == sorted(f"corridor-home-visit-text-{t['id']}" for t in texts)
    # A restart at the same moments sends nothing more.
    assert _race(moments, env, processes=1) == [0]
    assert len(gateway.requests) == 8 and await HomeVisitText.count() == 8


@pytest.mark.parametrize("env, variable", [
    ({"SMS_GATEWAY": "pigeon"}, "SMS_GATEWAY"),
    ({"SMS_GATEWAY": "notify"}, "NOTIFY_API_KEY_FILE"),
    ({"SMS_GATEWAY": "notify", "NOTIFY_API_KEY_FILE": "/nonexistent/key"}, "NOTIFY_API_KEY_FILE"),
    ({"SMS_GATEWAY": "webhook"}, "SMS_WEBHOOK_URL"),
    ({"SMS_GATEWAY": "webhook", "SMS_WEBHOOK_URL": "http://sms.example.net/hook"}, "SMS_WEBHOOK_URL"),
])
def test_a_bad_gateway_setting_stops_start_up_naming_the_variable(env, variable):
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({**BASE, **env})


def test_notify_needs_a_real_key_and_template(tmp_path):
    key = tmp_path / "key"
    key.write_text("not-a-key")
    with pytest.raises(SettingsError, match="NOTIFY_API_KEY_FILE"):
        Settings.from_env({**BASE, "SMS_GATEWAY": "notify", "NOTIFY_API_KEY_FILE": str(key),
                           "NOTIFY_SMS_TEMPLATE_ID": TEMPLATE_ID})
    env = notify_env("https://api.notifications.service.gov.uk", tmp_path / "key2")
    with pytest.raises(SettingsError, match="NOTIFY_SMS_TEMPLATE_ID"):
        Settings.from_env({**BASE, **env, "NOTIFY_SMS_TEMPLATE_ID": "welcome"})
    with pytest.raises(SettingsError, match="NOTIFY_BASE_URL"):
        Settings.from_env({**BASE, **env, "NOTIFY_BASE_URL": "http://api.example.net"})
    s = Settings.from_env({**BASE, **{k: v for k, v in env.items() if k != "NOTIFY_BASE_URL"}})
    assert s.sms_url == "https://api.notifications.service.gov.uk" and s.notify_service_id == SERVICE_ID
    assert s.sms_secret not in repr(s)  # the secret never shows in a printed settings object
    assert Settings.from_env(BASE).sms_gateway == "none" and not sms.configured(Settings.from_env(BASE))
