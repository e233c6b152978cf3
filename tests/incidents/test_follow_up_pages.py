"""The follow-up list a page at a time: the newest page first, an "older" link whose cursor is a row id (never
pupil data), every page within the actor's scope, and the same few statements however many items are open."""

import datetime as dt
import re

import pytest

from app import clock
from app.domain.incidents.tables import CategoryWatcher, Incident, IncidentPupil
from app.domain.incidents.service import FOLLOW_UP_PAGE
from app.domain.pupils.tables import Pupil, TutorGroup
from tests.conftest import sign_in

ROW = re.compile(r'<a href="/incidents/(\d+)"><span>([^<]+)</span></a>')
OLDER = re.compile(r'href="(/incidents/follow-up\?before=\d+)"')


SERIAL = iter(range(1, 10**9))


async def open_items(school_id: int, recorder: int, category: int, *, year: str, count: int, ties: int = 3) -> list[str]:
    """`count` open items, each for its own new pupil in `year`, newest first; every `ties` incidents share a
    time, so the order has to fall back on the row id. Returns the pupils' names, newest first."""
    group = TutorGroup(school=school_id, name=f"{year}Z", year_code=year)
    await group.save()
    now = clock.now()
    serials = [next(SERIAL) for _ in range(count)]
    await Pupil.insert(*[Pupil(
        school=school_id, mis_id=f"S{n}", upn=f"U{n:012d}", legal_first_name=f"Year{year}",
        legal_last_name=f"Pupil {n}", date_of_birth=dt.date(2012, 1, 1), year_code=year, tutor_group=group.id,
        created_at=now) for n in serials])
    await Incident.insert(*[Incident(
        school=school_id, occurred_at=now - dt.timedelta(minutes=k // ties), recorded_by=recorder, recorded_at=now,
        note=f"S{n}") for k, n in enumerate(serials)])
    # Paired by what each row says, not by the order of RETURNING ids (which no database guarantees).
    pupil = {r["mis_id"]: r["id"] for r in await Pupil.select(Pupil.id, Pupil.mis_id).where(
        Pupil.mis_id.is_in([f"S{n}" for n in serials]))}
    incident = {r["note"]: r["id"] for r in await Incident.select(Incident.id, Incident.note).where(
        Incident.note.is_in([f"S{n}" for n in serials]))}
    await IncidentPupil.insert(*[IncidentPupil(
        incident=incident[f"S{n}"], pupil=pupil[f"S{n}"], role="instigator", category=category, status="open",
        updated_at=now) for n in serials])
    # Same time: the higher row id (the later entry) is shown first.
    order = sorted(range(count), key=lambda k: (k // ties, -k))
    return [f"Year{year} Pupil {serials[k]}" for k in order]

async def every_page(client) -> tuple[list[str], list[str]]:
    """Follow the "Show older" links from the first page to the last: the names listed, and the URLs followed."""
    names, urls, url = [], [], "/incidents/follow-up"
    while url:
        page = await client.get(url)
        assert page.status_code == 200
        rows = ROW.findall(page.text)
        assert len(rows) <= FOLLOW_UP_PAGE
        names += [name for _, name in rows]
        more = OLDER.search(page.text)
        url = more.group(1) if more else None
        if url:
            urls.append(url)
    return names, urls


async def test_it_pages_a_head_of_years_items_newest_first_with_no_gap_or_repeat(client, settings, school):
    year9 = await open_items(school.school_id, school.teacher.id, school.fighting, year="9", count=2 * FOLLOW_UP_PAGE + 7)
    await open_items(school.school_id, school.teacher.id, school.fighting, year="8", count=30)
    await sign_in(client, settings, school.head_of_year)
    names, urls = await every_page(client)
    assert names == year9  # every year 9 item once, in order, across three pages; no year 8 item on any page
    assert len(urls) == 2
    for url in urls:  # the cursor is a row id: no name, no pupil id
        assert re.fullmatch(r"/incidents/follow-up\?before=\d+", url)


async def test_the_older_rows_come_as_a_fragment_that_replaces_the_link(client, settings, school):
    await open_items(school.school_id, school.teacher.id, school.fighting, year="9", count=FOLLOW_UP_PAGE + 5)
    await sign_in(client, settings, school.head_of_year)
    first = await client.get("/incidents/follow-up")
    link = re.search(r'<li class="more" id="follow-up-more">.*?</li>', first.text, re.S).group(0)
    assert 'hx-target="closest li"' in link and 'hx-swap="outerHTML"' in link
    older = OLDER.search(first.text).group(1)
    fragment = await client.get(older, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and "<h1>" not in fragment.text
    assert len(ROW.findall(fragment.text)) == 5 and "follow-up-more" not in fragment.text
    # Without JavaScript the same link opens the older page whole, with a way back to the newest.
    whole = await client.get(older)
    assert "<h1>Needs follow-up</h1>" in whole.text and "Newest first" in whole.text


async def test_pastoral_staff_page_through_every_year(client, settings, school):
    year9 = await open_items(school.school_id, school.teacher.id, school.fighting, year="9", count=40)
    year8 = await open_items(school.school_id, school.teacher.id, school.fighting, year="8", count=40)
    await sign_in(client, settings, school.pastoral)
    names, urls = await every_page(client)
    assert sorted(names) == sorted(year9 + year8) and len(names) == len(set(names)) and len(urls) == 1


async def test_a_watcher_pages_only_the_categories_they_watch(client, settings, school):
    await CategoryWatcher.insert(CategoryWatcher(category=school.disruption, person=school.teacher.id))
    watched = await open_items(school.school_id, school.pastoral.id, school.disruption, year="8", count=55)
    await open_items(school.school_id, school.pastoral.id, school.fighting, year="9", count=10)
    await sign_in(client, settings, school.teacher)
    names, _ = await every_page(client)
    assert names == watched


async def test_a_cursor_from_another_school_gives_an_empty_page(client, settings, school):
    await open_items(school.school_id, school.teacher.id, school.fighting, year="9", count=5)
    await open_items(school.other_school_id, school.outsider.id, school.fighting, year="9", count=5)
    elsewhere = (await IncidentPupil.select(IncidentPupil.id).where(
        IncidentPupil.incident.school == school.other_school_id).first())["id"]
    await sign_in(client, settings, school.head_of_year)
    page = await client.get(f"/incidents/follow-up?before={elsewhere}")
    assert page.status_code == 200 and ROW.findall(page.text) == []
    assert "Nothing older needs following up." in page.text


@pytest.mark.parametrize("cursor", ["abc", "0", "-4", "99999999999999", "1; DROP TABLE pupil"])
async def test_a_cursor_that_is_not_a_row_id_is_refused(client, settings, school, cursor):
    await sign_in(client, settings, school.head_of_year)
    assert (await client.get("/incidents/follow-up", params={"before": cursor})).status_code == 400


async def test_plain_staff_and_other_schools_staff_have_no_follow_up_pages(client, settings, school):
    await open_items(school.school_id, school.teacher.id, school.fighting, year="9", count=5)
    link = (await IncidentPupil.select(IncidentPupil.id).first())["id"]
    for member in (school.teacher, school.outsider):
        client.cookies.clear()
        await sign_in(client, settings, member)
        assert (await client.get("/incidents/follow-up")).status_code == 404
        assert (await client.get(f"/incidents/follow-up?before={link}")).status_code == 404


async def test_a_head_of_years_page_costs_the_same_statements_for_few_or_many_items(client, settings, school, database,
                                                                                    monkeypatch):
    """Not a statement per row (the list ran a year check and a watcher check for each: 874 for one head of
    year): one page costs the same few statements whether the year has 3 open items or 150."""
    counted, counting = [], False
    real = type(database).run_querystring

    async def run_querystring(engine, querystring, *args, **kwargs):
        if counting:
            counted.append(str(querystring)[:80])
        return await real(engine, querystring, *args, **kwargs)

    monkeypatch.setattr(type(database), "run_querystring", run_querystring)
    await sign_in(client, settings, school.head_of_year)
    await client.get("/incidents/follow-up")  # whatever the first request of a session does once
    await open_items(school.school_id, school.teacher.id, school.fighting, year="9", count=3)
    counting = True
    few = await client.get("/incidents/follow-up")
    counting, few_statements = False, len(counted)
    await open_items(school.school_id, school.teacher.id, school.fighting, year="10", count=150)
    await open_items(school.school_id, school.teacher.id, school.fighting, year="9", count=147)
    counted.clear()
    counting = True
    many = await client.get("/incidents/follow-up")
    counting = False
    assert len(counted) == few_statements <= 6, (few_statements, counted)
    assert len(ROW.findall(few.text)) == 3 and len(ROW.findall(many.text)) == FOLLOW_UP_PAGE
