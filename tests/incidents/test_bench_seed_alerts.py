"""The benchmark's seeds hold the alerts a school in use has (bench/data.py `_alerts`): one per behaviour incident of
the last ALERT_DAYS days, to the school's pastoral team and heads of year, unread for the last week. Without them
every run started with empty alert tables, and PostgreSQL's cached foreign-key check scanned the growing table for
every recipient of every POST."""

import datetime as dt
import sys
from pathlib import Path

from app import clock
from app.domain.incidents.tables import Category, Incident, IncidentPupil
from app.domain.notifications.tables import Alert, AlertRecipient
from tests.incidents.conftest import school  # noqa: F401 - the fixture, used by name

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench import data  # noqa: E402

sys.path.remove(str(ROOT))


async def incident(school_id: int, recorder: int, pupil: int, category: int, days_ago: float) -> int:
    at = clock.now() - dt.timedelta(days=days_ago)
    made = Incident(school=school_id, occurred_at=at, recorded_by=recorder, recorded_at=at)
    await made.save()
    await IncidentPupil.insert(IncidentPupil(incident=made.id, pupil=pupil, role="instigator", category=category,
                                             points=0, status="open", updated_at=at))
    return made.id


async def test_the_seed_alerts_the_school_team_of_recent_behaviour_and_leaves_last_weeks_unread(school):
    recent = await incident(school.school_id, school.teacher.id, school.ava, school.fighting, days_ago=2)
    opened = await incident(school.school_id, school.teacher.id, school.ben, school.disruption, days_ago=20)
    await incident(school.school_id, school.teacher.id, school.ava, school.fighting, days_ago=data.ALERT_DAYS + 5)
    await incident(school.school_id, school.teacher.id, school.ava, school.kindness, days_ago=1)  # a reward
    their_fighting = (await Category.select(Category.id).where(
        (Category.school == school.other_school_id) & (Category.name == "Fighting / physical aggression")).first())["id"]
    elsewhere = await incident(school.other_school_id, school.outsider.id, school.elsewhere, their_fighting, days_ago=1)

    made = await data._alerts()

    alerts = {a["id"]: a for a in await Alert.select()}
    # Behaviour of the last ALERT_DAYS days at each school; no reward, nothing older.
    assert set(alerts) == {recent, opened, elsewhere} and alerts[elsewhere]["school"] == school.other_school_id
    recipients = await AlertRecipient.select()
    assert {(r["alert"], r["person"]) for r in recipients} == {
        (a, p) for a in (recent, opened) for p in (school.pastoral.id, school.head_of_year.id)}
    assert all(r["school"] == school.school_id for r in recipients)
    assert {r["alert"] for r in recipients if r["read_at"] is None} == {recent}  # last week's unread
    assert made == {"alerts": 3, "alert_recipients": 4}  # the other school has no pastoral team or head of year
