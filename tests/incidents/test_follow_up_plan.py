"""The quick-entry page's "logged today" and the follow-up list are planned on the indexes made for them, on
SQLite and on PostgreSQL (the plans of issue 12: without them "logged today" read every incident_pupil row of
the school, and PostgreSQL's follow-up list walked every school's incidents).

The test tables are small, so PostgreSQL would rather read them whole (or gather and sort a school's few rows)
whatever indexes exist: its plans are asked for with sequential scans off (SET LOCAL enable_seqscan), and for
the follow-up list with bitmap scans and full sorts off too, which shows which index it walks for a page
newest first. SQLite's planner is asked as it is, after ANALYZE, as the app runs it."""

import datetime as dt

from piccolo.querystring import QueryString

from app import clock, db
from app.domain.incidents import service as incidents
from app.domain.incidents.tables import Incident, IncidentPupil
from app.domain.pupils.tables import Pupil
from app.domain.schools.tables import School
from tests.imports.files import actor_of


async def plan(sql: str, *args, walk: bool = False) -> str:
    engine = Incident._meta.db
    if engine.engine_type == "sqlite":
        rows = await engine.run_querystring(QueryString("EXPLAIN QUERY PLAN " + sql, *args))
        return "\n".join(r["detail"] for r in rows)
    async with engine.transaction():
        await engine.run_ddl("SET LOCAL enable_seqscan = off")
        if walk:
            # A page of newest-first rows: ask for the plan that walks an index in that order and stops, not
            # the one that gathers and sorts (cheaper only while a school has a few dozen incidents).
            await engine.run_ddl("SET LOCAL enable_bitmapscan = off")
            await engine.run_ddl("SET LOCAL enable_sort = off")
        rows = await engine.run_querystring(QueryString("EXPLAIN " + sql, *args))
    return "\n".join(r["QUERY PLAN"] for r in rows)


async def some_incidents(cast, count: int = 2400) -> None:
    """Incidents from four recorders at a trust's two dozen schools, most pupils' items open: statistics like a
    trust's, where one school is a small part of the incident table."""
    trust = (await School.select(School.trust).where(School.id == cast.school_id).first())["trust"]
    now = clock.now()
    more = await School.insert(*[School(trust=trust, name=f"School {n}", slug=f"school-{n}", la_code="801",
                                        establishment_number=f"50{n:02d}", created_at=now) for n in range(23)])
    schools = [cast.school_id] + [r["id"] for r in more]
    pupils = [r["id"] for r in await Pupil.select(Pupil.id).where(Pupil.school == cast.school_id)]
    recorders = (cast.teacher.id, cast.pastoral.id, cast.dsl.id, cast.admin.id)
    for batch in range(0, count, 1000):  # (PostgreSQL takes at most 32,767 arguments a statement)
        made = await Incident.insert(*[Incident(
            school=schools[n % len(schools)], occurred_at=now - dt.timedelta(hours=n), recorded_by=recorders[n % 4],
            recorded_at=now - dt.timedelta(hours=n)) for n in range(batch, min(count, batch + 1000))])
        # Pupils of the cast's school stand in for every school's: the plan depends on the counts, not on who.
        await IncidentPupil.insert(*[IncidentPupil(
            incident=r["id"], pupil=pupils[n % len(pupils)], role="instigator", category=cast.fighting,
            status="open" if (batch + n) // len(schools) % 4 else "resolved", updated_at=now)
            for n, r in enumerate(made)])
    await db.refresh_statistics(Incident._meta.db)

async def test_logged_today_is_planned_on_the_recorder_and_time_index(school):
    await some_incidents(school)
    teacher = await actor_of(school.teacher)
    sql, args = incidents._logged_since(teacher, clock.now() - dt.timedelta(hours=12))
    assert "incident_recorded_by_recorded_at" in await plan(sql, *args)


async def test_the_follow_up_list_is_planned_on_the_school_and_time_index_for_every_role(school):
    await some_incidents(school, 4800)
    # A later page starts after a row some way down the school's list.
    cursor = (await IncidentPupil.select(IncidentPupil.id).where(
        (IncidentPupil.incident.school == school.school_id) & (IncidentPupil.status == "open")).order_by(
        IncidentPupil.incident.occurred_at, ascending=False).offset(100).first())["id"]
    for years, watcher, before in (({"9"}, school.head_of_year.id, None), (None, None, None),
                                   (set(), school.teacher.id, None), ({"9", "10"}, school.head_of_year.id, cursor)):
        # As follow_up_list asks it: on PostgreSQL with the cursor's time read first.
        before_at = (await incidents._cursor_at(school.school_id, before)
                     if before is not None and Incident._meta.db.engine_type == "postgres" else None)
        sql, args = incidents._follow_up_query(school.school_id, years=years, watcher=watcher, before=before, limit=51,
                                               before_at=before_at)
        shown = await plan(sql, *args, walk=True)
        assert "incident_school_occurred_at" in shown, shown
        if Incident._meta.db.engine_type == "sqlite":
            # The order the statement fixes for SQLite (CROSS JOIN): each incident's open items from the small
            # index. PostgreSQL chooses how to join by its statistics (on these few rows, a hash join).
            assert "incident_pupil_open" in shown, shown

