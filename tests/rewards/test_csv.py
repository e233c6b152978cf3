"""The rewards lists as CSV: the totals (pupils, forms, years) and the leaderboard, scoped as their pages, each
download audited, and no cell a spreadsheet would run."""

from __future__ import annotations

import csv
import io

from app.domain.audit.tables import AuditEvent
from app.domain.pupils.tables import Pupil
from app.domain.schools.tables import Membership
from tests.conftest import sign_in
from tests.rewards.kit import build, on_11_march  # noqa: F401 (a fixture)


def parsed(answer) -> list[list[str]]:
    return list(csv.reader(io.StringIO(answer.text)))


async def test_the_totals_download_as_csv(client, settings, cast, on_11_march):
    await build(cast)
    await sign_in(client, settings, cast.pastoral)
    pupils = await client.get("/rewards/csv/pupils?year=9&period=term")
    assert pupils.status_code == 200 and pupils.headers["content-type"].startswith("text/csv")
    assert 'filename="rewards-pupils-year-9-2026-01-05-2026-03-11.csv"' in pupils.headers["content-disposition"]
    assert parsed(pupils) == [["Pupil", "Form", "Year", "Points"], ["Ava Adeyemi", "9A", "9", "8"],
                              ["Ben Brook", "9A", "9", "5"], ["Cal Carter", "9B", "9", "5"], ["Eve Evans", "9B", "9", "5"]]
    forms = await client.get("/rewards/csv/forms?year=9&period=custom&start=2026-03-09&end=2026-03-11")
    assert parsed(forms) == [["Form", "Points"], ["9A", "10"]]
    years = await client.get("/rewards/csv/years?year=9&period=year")
    assert parsed(years) == [["Year", "Points"], ["9", "34"], ["11", "5"]]
    assert (await client.get("/rewards/csv/secrets?year=9")).status_code == 404
    events = await AuditEvent.select(AuditEvent.detail).where(AuditEvent.action == "rewards.exported").order_by(
        AuditEvent.id)
    assert len(events) == 3 and "Adeyemi" not in str(events)
    assert '"table": "pupils"' in str(events[0]["detail"]).replace("'", '"') or "pupils" in str(events[0]["detail"])


async def test_the_leaderboard_downloads_with_first_names_and_initials(client, settings, cast, on_11_march):
    await build(cast)
    await sign_in(client, settings, cast.dsl)
    answer = await client.get("/rewards/leaderboard.csv?year=9&period=year")
    assert parsed(answer) == [["Board", "Place", "Pupil", "Form", "Points"],
                              ["Pupil", "1", "Ava A.", "9A", "13"], ["Pupil", "2", "Ben B.", "9A", "8"],
                              ["Pupil", "2", "Cal C.", "9B", "8"],
                              ["Form", "1", "", "9A", "21"], ["Form", "2", "", "9B", "13"]]
    assert "Adeyemi" not in answer.text
    assert await AuditEvent.count().where(AuditEvent.action == "rewards.exported") == 1


async def test_a_name_that_looks_like_a_formula_is_text(client, settings, cast, on_11_march):
    p = await build(cast)
    await Pupil.update({Pupil.legal_first_name: "=HYPERLINK(\"http://x\")"}).where(Pupil.id == p["ava"])
    await sign_in(client, settings, cast.pastoral)
    rows = parsed(await client.get("/rewards/csv/pupils?year=9&period=week"))
    assert rows[1][0].startswith("'=HYPERLINK")
    board = parsed(await client.get("/rewards/leaderboard.csv?year=9&period=week"))
    assert any(r[2].startswith("'=HYPERLINK") for r in board[1:])


async def test_a_head_of_year_downloads_their_years_only(client, settings, cast, on_11_march):
    await build(cast)
    await Membership.update({Membership.years: "11"}).where(Membership.person == cast.head_of_year.id)
    await sign_in(client, settings, cast.head_of_year)
    assert (await client.get("/rewards/csv/pupils?year=9")).status_code == 404
    assert (await client.get("/rewards/leaderboard.csv?year=9")).status_code == 404
    years = parsed(await client.get("/rewards/csv/years?year=11&period=year"))
    assert years == [["Year", "Points"], ["11", "5"]]
    assert await AuditEvent.count().where(AuditEvent.action == "rewards.exported") == 1
