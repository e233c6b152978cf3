"""The benchmark's scenarios that add people to a school (the home-visit scenario's 50 pastoral visitors and 20
on-duty responders, the on-call scenario's 200 responders) take them away when they end, so no later scenario on
the same copy of the trust is measured with them: the home-visit visitors once stayed on the first school's
pastoral team and every later incident there was routed to them (about 60 alert rows a POST instead of 9)."""

import sys
from pathlib import Path

from app.domain.notifications.tables import Notification
from app.domain.oncall.tables import OnDuty
from app.domain.schools.tables import Person
from tests.conftest import sign_in
from tests.incidents.conftest import log, school  # noqa: F401 - the fixture, used by name

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench import home_visit_bench  # noqa: E402

sys.path.remove(str(ROOT))


async def test_the_home_visit_scenarios_people_are_routed_to_while_it_runs_and_never_after(client, settings, school):
    made = await home_visit_bench.add_people(school.school_id, screens=2, visits=3)
    assert await OnDuty.count().where(OnDuty.person.is_in(made["responders"])) == 2
    await sign_in(client, settings, school.teacher)

    await log(client, {"pupil_id": school.ava, "role": "instigator", "category_id": school.disruption})
    told = {n["person"] for n in await Notification.select()}
    assert set(made["visitors"]) <= told  # while the scenario runs they are the school's pastoral team

    await home_visit_bench.stand_down(made)
    await Notification.delete(force=True)
    await log(client, {"pupil_id": school.ben, "role": "instigator", "category_id": school.disruption})
    told = {n["person"] for n in await Notification.select()}
    assert told == {school.head_of_year.id, school.pastoral.id}  # the school's own team, none of the scenario's
    people = [*made["responders"], *made["visitors"]]
    assert await Person.count().where(Person.id.is_in(people) & Person.disabled_at.is_null()) == 0
    stood_down = (await Person.select(Person.disabled_at).where(Person.id == made["responders"][0]).first())
    on_duty = await OnDuty.select(OnDuty.until).where(OnDuty.person.is_in(made["responders"]))
    assert len(on_duty) == 2 and all(row["until"] <= stood_down["disabled_at"] for row in on_duty)
