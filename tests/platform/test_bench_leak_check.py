"""The trust-scale benchmark's cross-school check (bench/trust_scale.py) can fail: fed a response carrying another
school's rows, in the app's own markup, it reports the leak; and its load client checks every response it gets."""

import asyncio
import datetime as dt
import sys
from pathlib import Path
from types import SimpleNamespace

import jinja2

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench import budgets  # noqa: E402
from bench.trust_scale import Client, LeakCheck, _loop, isolation_row, pupil_name  # noqa: E402

sys.path.remove(str(ROOT))

A, B = 1, 2
OWNERS = {"pupil": {101: A, 102: A, 201: B}, "category": {11: A, 21: B}, "location": {12: A, 22: B},
          "incident": {}, "oncall": {}}
NAMES = {"Ada Lovelace": {A}, "Grace Hopper": {B}, "Sam Smith": {A, B}}


def checker() -> LeakCheck:
    return LeakCheck({k: dict(v) for k, v in OWNERS.items()}, {k: set(v) for k, v in NAMES.items()})


def templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROOT / "src/app/templates"), autoescape=True)
    env.filters["uk_time"] = lambda value, fmt="": value.strftime(fmt)
    return env


def result_row(pupil_id: int, name: str) -> str:
    """The lookup fragment's row (templates/pupils/_result.html), as the app renders it."""
    p = SimpleNamespace(id=pupil_id, has_photo=False, initials="XX", display_name=name, year=9, tutor_group="9C",
                        left=False, medical=False, sen="")
    return templates().get_template("pupils/_result.html").render(p=p, show_year=True, show_flags=True)


def board_card(request_id: int, requester: str, pupil: str) -> str:
    """An on-call card as the board shows it (templates/oncall/_request.html)."""
    r = {"id": request_id, "urgency": "urgent", "state": "raised", "rank": 0, "open": True, "tier": 1,
         "raised_at": dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC), "location.name": "Room 1", "reason.name": "Help",
         "responder": None, "requester.display_name": requester, "pupils": [{"name": pupil, "form": "9C"}],
         "note": "", "outcome": None, "incident": None}
    return templates().get_template("oncall/_request.html").render(
        r=_Row(r), urgencies={"urgent": "Urgent"},
        states={"raised": "Raised"}, outcomes={})


class _Row(dict):
    """A card as the service gives it: keys read both as r.key and r["location.name"]."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError as exc:
            raise AttributeError(key) from exc


def test_a_lookup_row_of_another_school_is_a_leak_and_its_own_is_not():
    check = checker()
    assert check.check(A, result_row(101, "Ada Lovelace"), "lookup") == []
    leaks = check.check(A, result_row(201, "Grace Hopper"), "lookup")
    assert {(x.kind, x.value, x.owner) for x in leaks} == {("pupil", "201", B), ("pupil_name", "Grace Hopper", "2")}
    assert check.checked == 2 and len(check.leaks) == 2


def test_a_name_both_schools_have_is_not_a_leak_but_another_schools_id_is():
    check = checker()
    assert check.check(A, result_row(102, "Sam Smith")) == []
    assert [(x.kind, x.value) for x in check.check(B, result_row(102, "Sam Smith"))] == [("pupil", "102")]


def test_a_board_card_of_another_school_is_a_leak_once_its_owner_is_read():
    """On-call requests are made during the run: their owners are read at the end (resolve)."""
    check = checker()
    html = board_card(7001, "Staff 3 (school 2)", "Grace Hopper")
    leaks = check.check(A, html, "on-call board")
    assert {(x.kind, x.value) for x in leaks} == {("staff", "2"), ("pupil_name", "Grace Hopper")}
    assert check.pending == [(A, "oncall", 7001, "on-call board")]
    late = check.resolve({"oncall": {7001: B}})
    assert [(x.kind, x.value, x.owner) for x in late] == [("oncall", "7001", B)]
    assert check.check(B, board_card(7002, "Staff 3 (school 2)", "Grace Hopper")) == []
    assert check.resolve({"oncall": {7002: B}}) == []


def test_the_quick_entry_forms_choices_of_another_school_are_leaks():
    check = checker()
    page = ('<input type="radio" name="category_id" value="21"> <select id="location_id" name="location_id">'
            '<option value="">Choose</option><option value="12" selected>Hall</option><option value="22">Gym</option>'
            '</select><button type="button" class="pick" data-pupil-id="201" data-name="x">'
            '<span class="pupil-name">Ada Lovelace</span></button><a href="/incidents/9001">View it</a>')
    leaks = check.check(A, page, "quick entry page")
    assert {(x.kind, x.value) for x in leaks} == {("category", "21"), ("location", "22"), ("pupil", "201")}
    assert [(x.kind, x.value) for x in check.resolve({"incident": {9001: B}})] == [("incident", "9001")]


def test_the_names_are_read_as_the_pages_show_them():
    assert pupil_name("Alexandra", "Jones", "Alex", None) == "Alex Jones"
    assert pupil_name("Alexandra", "Jones", None, "Smith-Jones") == "Alexandra Smith-Jones"


def test_the_load_client_checks_every_response_it_gets():
    """_loop against a server that answers school A's lookups with school B's pupil: every response is checked and
    every one is a leak (so a run's 'checked N, 0 leaks' means the check read them)."""
    from aiohttp import web

    leaky = result_row(201, "Grace Hopper")

    async def search(request):
        return web.Response(text=leaky, content_type="text/html")

    async def main():
        app = web.Application()
        app.router.add_post("/pupils/search", search)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        check = checker()
        plan = {"pupils": {A: [{"id": 101, "first": "Ada", "last": "Lovelace", "preferred": None, "form": "9C"}]}}
        try:
            tally = await _loop("lookup", f"http://127.0.0.1:{port}", [Client("t", A, 5), Client("u", A, 6)], plan,
                                0.5, check, {"incident": [], "oncall": []}, ("s", "c"), lambda token: ("c", "c"))
        finally:
            await runner.cleanup()
        return tally, check

    tally, check = asyncio.run(main())
    answered = sum(sum(k["statuses"].values()) for k in tally.kinds.values())
    assert answered > 0 and check.checked == answered
    assert len(check.leaks) == 2 * answered


def test_a_leak_makes_the_isolation_row_say_leak_and_miss_its_budget():
    isolation = next(b for b in budgets.BUDGETS if b.scenario == "trust_scale.isolation")
    clean = checker()
    clean.check(A, result_row(101, "Ada Lovelace"), "lookup")
    row = isolation_row(clean, [A, B]) | {"dataset": "trust"}
    assert "LEAK" not in row["summary"] and "0 leaks" in row["summary"]
    assert [c["status"] for c in budgets.check_rows(isolation, [row])] == ["met"]

    leaky = checker()
    leaky.check(A, result_row(101, "Ada Lovelace"), "lookup")
    leaky.check(A, result_row(201, "Grace Hopper"), "lookup")
    row = isolation_row(leaky, [A, B]) | {"dataset": "trust"}
    assert row["summary"].startswith("LEAK: 2 identifiers of another school")
    assert "lookup for school 1 carried pupil 201 of school 2" in row["summary"]
    assert row["leaks"] == 2 and row["checked"] == 2
    assert [c["status"] for c in budgets.check_rows(isolation, [row])] == ["missed"]
