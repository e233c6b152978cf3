"""The lookup index is rebuilt only by what changes it, at most once at a time, and stays fresh across processes.

Every incident write used to mark the school's pupils changed, so every process rebuilt its whole index
(70-160 ms at a real school) after each incident, though the index holds no incident data; under a mixed load
lookups then waited seconds. Issue 12, point 4.
"""

import asyncio

from app.domain.pupils import service as pupils
from app.domain.pupils.tables import Pupil
from app.domain.schools.tables import School
from tests.conftest import csrf, post_form, sign_in
from tests.incidents.conftest import log, school  # noqa: F401  (the fixture)


async def stamp(school_id: int):
    return (await School.select(School.pupils_changed_at).where(School.id == school_id).first())["pupils_changed_at"]


def count_builds(monkeypatch) -> list[int]:
    built: list[int] = []
    real = pupils._build_index

    async def counting(school_id, stamp):
        built.append(school_id)
        await asyncio.sleep(0.05)  # a build takes a while: time for other requests to arrive meanwhile
        return await real(school_id, stamp)

    monkeypatch.setattr(pupils, "_build_index", counting)
    return built


async def test_logging_editing_and_undoing_incidents_leaves_the_index_as_built(client, settings, school,
                                                                               monkeypatch, frozen_clock):
    await pupils._school_index(school.school_id)
    before = await stamp(school.school_id)
    built = count_builds(monkeypatch)
    await sign_in(client, settings, school.teacher)
    response = await log(client, {"pupil_id": school.ava, "role": "instigator", "category_id": school.disruption,
                                  "location_id": school.canteen})
    assert response.status_code == 303
    incident_id = int(response.headers["location"].rsplit("=", 1)[1])
    token = await csrf(client, "/incidents/new")
    assert (await client.post(f"/incidents/{incident_id}/undo", data={"_csrf_token": token},
                              follow_redirects=False)).status_code == 303
    for query in ("ava", "okafor", "9a"):
        found = await post_form(client, "/pupils/search", {"q": query})
        assert found.status_code == 200 and "Okafor" in found.text
    assert await stamp(school.school_id) == before
    assert built == []  # no lookup after the writes rebuilt anything


async def test_a_change_made_by_another_process_is_seen_on_the_next_lookup(school):
    """Another process (an import) renames a pupil and marks the school changed: this process's index, built
    before, is rebuilt on the next lookup and finds the new name."""
    index = await pupils._school_index(school.school_id)
    assert not any(e.last == "Okafor-Reid" for e in index.entries)
    await Pupil.update({Pupil.legal_last_name: "Okafor-Reid"}).where(Pupil.id == school.ava)
    await pupils.mark_changed(school.school_id)
    fresh = await pupils._school_index(school.school_id)
    assert fresh is not index and any(e.last == "Okafor-Reid" for e in fresh.entries)
    assert [e.id for e in pupils.rank(fresh, "okafor reid")] == [school.ava]


async def test_many_lookups_arriving_together_after_a_change_build_the_index_once(school, monkeypatch):
    await pupils._school_index(school.school_id)
    await pupils.mark_changed(school.school_id)
    built = count_builds(monkeypatch)
    indexes = await asyncio.gather(*(pupils._school_index(school.school_id) for _ in range(8)))
    assert built == [school.school_id]
    assert all(i is indexes[0] for i in indexes)


async def test_each_school_keeps_its_own_index(school):
    ours = await pupils._school_index(school.school_id)
    theirs = await pupils._school_index(school.other_school_id)
    assert {e.id for e in ours.entries} & {e.id for e in theirs.entries} == set()
    assert school.elsewhere in {e.id for e in theirs.entries} and school.elsewhere not in {e.id for e in ours.entries}
