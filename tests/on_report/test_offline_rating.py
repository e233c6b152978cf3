"""A rating made without signal, through the outbox (service_worker/replay.js): the form carries an idempotency key
and the time it was made on the phone (made_at); the server stores a receipt with the rating, so a replay saves
nothing new and the phone can ask whether the server holds it; a rating replayed after a newer one of the same
target and lesson was saved does not replace it; a rating is judged at the time it was made (its lesson, its day)."""

from __future__ import annotations

import datetime as dt
import uuid

from app.domain.audit.tables import AuditEvent
from app.domain.on_report.tables import OnReportRating
from tests.conftest import add_pupil, csrf, sign_in
from tests.on_report.kit import LONDON, MONDAY, at, period_ids, put_on_report, report_id_of, targets


def uk(day: dt.date, hhmm: str) -> str:
    """A moment as a phone's toISOString() writes it (UTC, milliseconds, Z)."""
    local = dt.datetime.combine(day, dt.time(int(hhmm[:2]), int(hhmm[3:])), tzinfo=LONDON)
    return local.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def _setup(client, settings, cast, frozen_clock):
    at(frozen_clock, MONDAY, "08:00")
    pupil = await add_pupil(cast.school_id, "Amy", "Archer")
    rid = report_id_of(await put_on_report(client, settings, cast.pastoral, pupil, cast.school_id))
    ids = await period_ids(cast.school_id)
    first, second = await targets(rid)
    return pupil, rid, ids, first["id"], second["id"]


async def replay(client, member, rid: int, key: str, **fields):
    """A post as the service worker sends an outbox entry: key and maker in headers, no redirect followed."""
    token = await csrf(client, "/")
    return await client.post(f"/on-report/{rid}/rate", data={k: str(v) for k, v in fields.items()},
                             headers={"Idempotency-Key": key, "X-Corridor-Person": str(member.id),
                                      "X-CSRFToken": token, "Accept": "application/json", "X-Corridor-Outbox": "1"},
                             follow_redirects=False)


async def ratings(rid: int) -> list[tuple]:
    rows = await OnReportRating.select().where(OnReportRating.report == rid).order_by(OnReportRating.id)
    return [(r["target"], r["period"], r["day"], r["score"], r["rated_by"]) for r in rows]


async def test_a_replayed_rating_is_saved_once_with_a_receipt(client, settings, cast, frozen_clock):
    _, rid, ids, t1, _ = await _setup(client, settings, cast, frozen_clock)
    await sign_in(client, settings, cast.teacher)
    at(frozen_clock, MONDAY, "09:40")
    key = str(uuid.uuid4())
    fields = {"target_id": t1, "period_id": ids["Period 1"], "score": 3, "made_at": uk(MONDAY, "09:31")}
    assert (await client.get(f"/outbox/receipts/{key}")).status_code == 404  # not held yet: the phone keeps it
    first = await replay(client, cast.teacher, rid, key, **fields)
    assert first.status_code == 303
    again = await replay(client, cast.teacher, rid, key, **fields)  # the answer was lost: sent again
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    assert await ratings(rid) == [(t1, ids["Period 1"], MONDAY, 3, cast.teacher.id)]
    receipt = await client.get(f"/outbox/receipts/{key}", headers={"Accept": "application/json"})
    assert receipt.status_code == 200 and receipt.json() == {"key": key, "received": True}
    rated = await AuditEvent.select(AuditEvent.detail).where(AuditEvent.action == "on_report.rated")
    assert len(rated) == 1
    # The same key with other content is refused, and changes nothing.
    other = await replay(client, cast.teacher, rid, key, **dict(fields, score=1))
    assert other.status_code == 422
    assert await ratings(rid) == [(t1, ids["Period 1"], MONDAY, 3, cast.teacher.id)]
    # Someone else's entry on this phone waits for them: never saved as the person signed in.
    await sign_in(client, settings, cast.responder)
    token = await csrf(client, "/")
    theirs = await client.post(f"/on-report/{rid}/rate", data={k: str(v) for k, v in dict(fields, score=2).items()},
                               headers={"Idempotency-Key": str(uuid.uuid4()), "X-Corridor-Person": str(cast.teacher.id),
                                        "X-CSRFToken": token}, follow_redirects=False)
    assert theirs.status_code == 401
    assert await ratings(rid) == [(t1, ids["Period 1"], MONDAY, 3, cast.teacher.id)]


async def test_an_old_replay_does_not_replace_a_newer_rating(client, settings, cast, frozen_clock):
    _, rid, ids, t1, t2 = await _setup(client, settings, cast, frozen_clock)
    # 09:35: the responder, online, rates target 1 a 4.
    at(frozen_clock, MONDAY, "09:35")
    await sign_in(client, settings, cast.responder)
    online = await replay(client, cast.responder, rid, str(uuid.uuid4()), target_id=t1, period_id=ids["Period 1"],
                          score=4, made_at=uk(MONDAY, "09:35"))
    assert online.status_code == 303
    # 09:50: the teacher's phone, without signal since 09:20, sends its 09:20 ratings of both targets.
    at(frozen_clock, MONDAY, "09:50")
    await sign_in(client, settings, cast.teacher)
    old = await replay(client, cast.teacher, rid, key := str(uuid.uuid4()), target_id=t1,
                       period_id=ids["Period 1"], score=1, made_at=uk(MONDAY, "09:20"))
    assert old.status_code == 303 and "saved=kept_newer" in old.headers["location"]
    assert (await client.get(f"/outbox/receipts/{key}")).status_code == 200  # held: the phone lets it go
    other = await replay(client, cast.teacher, rid, str(uuid.uuid4()), target_id=t2, period_id=ids["Period 1"],
                         score=2, made_at=uk(MONDAY, "09:20"))
    assert other.status_code == 303 and "saved=rated" in other.headers["location"]
    assert await ratings(rid) == [(t1, ids["Period 1"], MONDAY, 4, cast.responder.id),
                                  (t2, ids["Period 1"], MONDAY, 2, cast.teacher.id)]
    kept = await AuditEvent.select(AuditEvent.actor, AuditEvent.detail).where(
        AuditEvent.action == "on_report.rating_kept_newer")
    assert len(kept) == 1 and kept[0]["actor"] == cast.teacher.id and '"score": 1' in str(kept[0]["detail"])
    # A newer rating made on a phone replaces an older one, whatever the order they arrive in.
    newer = await replay(client, cast.teacher, rid, str(uuid.uuid4()), target_id=t1, period_id=ids["Period 1"],
                         score=2, made_at=uk(MONDAY, "09:45"))
    assert "saved=changed" in newer.headers["location"]
    assert (await ratings(rid))[0] == (t1, ids["Period 1"], MONDAY, 2, cast.teacher.id)


async def test_a_rating_is_judged_at_the_time_it_was_made(client, settings, cast, frozen_clock):
    _, rid, ids, t1, _ = await _setup(client, settings, cast, frozen_clock)
    # Made in Period 1 on Monday, sent on Tuesday at 08:10 (no lesson has begun): Monday's Period 1.
    at(frozen_clock, MONDAY + dt.timedelta(days=1), "08:10")
    await sign_in(client, settings, cast.teacher)
    late = await replay(client, cast.teacher, rid, str(uuid.uuid4()), target_id=t1, period_id=ids["Period 1"],
                        score=3, made_at=uk(MONDAY, "09:55"))
    assert late.status_code == 303
    assert await ratings(rid) == [(t1, ids["Period 1"], MONDAY, 3, cast.teacher.id)]
    # Made before the lesson began: refused, with why, and nothing saved.
    early = await replay(client, cast.teacher, rid, str(uuid.uuid4()), target_id=t1, period_id=ids["Period 2"],
                         score=3, made_at=uk(MONDAY, "09:55"))
    assert early.status_code == 400 and "This lesson cannot be rated now" in early.text


async def test_a_bad_or_stale_time_is_refused_with_a_message_and_the_key_stays_free(client, settings, cast,
                                                                                    frozen_clock):
    _, rid, ids, t1, _ = await _setup(client, settings, cast, frozen_clock)
    await sign_in(client, settings, cast.teacher)
    at(frozen_clock, MONDAY, "09:40")
    key = str(uuid.uuid4())
    bad = await replay(client, cast.teacher, rid, key, target_id=t1, period_id=ids["Period 1"], score=3,
                       made_at="yesterday-ish", comment="Settled well")
    assert bad.status_code == 400
    assert "The time this rating was made could not be read" in bad.text and 'value="Settled well"' in bad.text
    assert 'id="refused"' in bad.text  # what the outbox shows as the reason it needs attention
    at(frozen_clock, MONDAY + dt.timedelta(days=8), "09:40")
    await sign_in(client, settings, cast.teacher)
    stale = await replay(client, cast.teacher, rid, str(uuid.uuid4()), target_id=t1, period_id=ids["Period 1"],
                         score=3, made_at=uk(MONDAY, "09:39"))
    assert stale.status_code == 400 and "more than 7 days ago" in stale.text
    assert await ratings(rid) == []
    # A phone clock ahead of the server's: the rating counts as made now, on the lesson under way.
    at(frozen_clock, MONDAY, "09:40")
    await sign_in(client, settings, cast.teacher)
    ahead = await replay(client, cast.teacher, rid, key, target_id=t1, period_id=ids["Period 1"], score=3,
                         made_at=uk(MONDAY, "10:20"))
    assert ahead.status_code == 303
    row = await OnReportRating.select(OnReportRating.rated_at).first()
    assert row["rated_at"] == dt.datetime.combine(MONDAY, dt.time(9, 40), tzinfo=LONDON)


async def test_the_now_list_and_the_profile_carry_the_offline_forms(client, settings, cast, frozen_clock):
    pupil, rid, ids, t1, t2 = await _setup(client, settings, cast, frozen_clock)
    await sign_in(client, settings, cast.teacher)
    at(frozen_clock, MONDAY, "09:30")
    page = (await client.get("/on-report/")).text
    item = page.split(f'id="now-{rid}"')[1].split("</details>")[0]
    assert item.count('class="rate-form"') == 2 and item.count('name="idempotency_key"') == 2
    assert item.count('name="made_at"') == 2 and f'name="period_id" value="{ids["Period 1"]}"' in item
    assert item.count('name="_back" value="now"') == 2
    panel = (await client.get(f"/on-report/pupil/{pupil}")).text
    assert panel.count('class="rate-form"') == 2 and "Rate Period 1 here" in panel
    # Without the script, a rating from the list comes back to the list with the pupil open and the answer.
    token = await csrf(client, "/on-report/")
    back = await client.post(f"/on-report/{rid}/rate", data={
        "_csrf_token": token, "idempotency_key": str(uuid.uuid4()), "target_id": str(t2),
        "period_id": str(ids["Period 1"]), "score": "2", "made_at": "", "_back": "now"})
    assert back.status_code == 200 and 'id="saved"' in back.text and "Saved." in back.text
    assert f'id="now-{rid}">\n      <details open>' in back.text and "1 of 2 targets rated" in back.text
