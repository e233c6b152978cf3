"""The on-call report's CSV never carries a cell a spreadsheet would run as a formula (CSV injection)."""

import csv
import io

import pytest

from app.domain.schools.tables import Person
from app.rendering import spreadsheet_safe
from tests.conftest import sign_in
from tests.oncall.test_oncall import as_, raise_it, school  # noqa: F401  (the fixture)


@pytest.mark.parametrize("hostile", ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)",
                                     "\t=1+1", "\r=1+1"])
async def test_it_writes_a_formula_typed_as_a_name_as_plain_text(client, settings, school, hostile):
    await Person.update({Person.display_name: hostile}).where(Person.id == school.teacher.id)
    await sign_in(client, settings, school.teacher)
    assert (await raise_it(client, school)).status_code == 303
    await as_(client, settings, school.head_of_year)
    response = await client.get("/oncall/report?start=2026-11-24&end=2026-11-24&format=csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows[0]["requester"] == "'" + hostile
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row.values())


def test_it_leaves_ordinary_values_alone():
    assert spreadsheet_safe("Ms O'Brien") == "Ms O'Brien"
    assert spreadsheet_safe(42) == 42 and spreadsheet_safe("") == ""


async def test_staff_without_a_report_role_get_no_csv(client, settings, school):
    await sign_in(client, settings, school.teacher)
    assert (await client.get("/oncall/report?format=csv")).status_code == 404
