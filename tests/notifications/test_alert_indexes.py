"""An incident tells about 25 people, so every index on alert_recipient is written 25 times per incident: one index
led by the person serves the foreign key and a person's unread alerts (issue 12), not two. The header's count and
the alerts page still find a person's unread alerts at one school by it. SQLite and PostgreSQL."""

from piccolo.engine.postgres import PostgresEngine

from app.domain.notifications import service as notifications
from app.domain.notifications.tables import AlertRecipient
from app.domain.schools.service import Actor


async def _indexes() -> dict[str, str]:
    if isinstance(AlertRecipient._meta.db, PostgresEngine):
        rows = await AlertRecipient.raw("SELECT indexname AS name, indexdef AS sql FROM pg_indexes "
                                        "WHERE tablename = 'alert_recipient'")
    else:
        rows = await AlertRecipient.raw("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                        "AND tbl_name = 'alert_recipient' AND sql IS NOT NULL")
    return {r["name"]: " ".join(r["sql"].replace('"', "").split()) for r in rows}


async def test_one_index_led_by_the_person(database):
    led_by_person = [name for name, sql in (await _indexes()).items() if "(person" in sql]
    assert led_by_person == ["alert_recipient_person_unread"]
    assert "(person, school, read_at, id)" in (await _indexes())["alert_recipient_person_unread"]


async def test_unread_alerts_are_still_read_through_it(cast):
    others = [cast.pastoral.id, cast.head_of_year.id, cast.dsl.id]
    for n in range(3):
        await notifications.notify({cast.teacher.id, *others}, school_id=cast.school_id, kind="incident.routed",
                                   text=f"Alert {n}", link=f"/incidents/{n + 1}")
    # One of them read, and one at another school (the count is per school).
    first = (await AlertRecipient.select(AlertRecipient.id).where(AlertRecipient.person == cast.teacher.id)
             .order_by(AlertRecipient.id).first())["id"]
    teacher = Actor(person_id=cast.teacher.id, display_name=cast.teacher.name, email=cast.teacher.email,
                    session_id=0, school_id=cast.school_id, trust_id=None, school_name="", roles=frozenset({"staff"}),
                    verified_at=None)
    await notifications.mark_read(teacher, first)
    await notifications.notify({cast.teacher.id}, school_id=cast.other_school_id, kind="incident.routed",
                               text="Elsewhere", link="/incidents/9")
    assert await notifications.unread_count(teacher) == 2
    assert [a["text"] for a in await notifications.unread(teacher)] == ["Alert 2", "Alert 1"]
    if not isinstance(AlertRecipient._meta.db, PostgresEngine):
        plan = " ".join(r["detail"] for r in await AlertRecipient.raw(
            "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM alert_recipient WHERE person = {} AND read_at IS NULL "
            "AND school = {}", cast.teacher.id, cast.school_id))
        assert "alert_recipient_person_unread" in plan, plan
