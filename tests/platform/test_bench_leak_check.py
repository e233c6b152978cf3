"""The trust-scale benchmark's cross-school check (bench/trust_scale.py) can fail: its wrk script
(bench/wrk/trust.lua), run against a local server that answers in the app's own markup with another school's rows,
finds every identifier it reads, and the Python side reports each one as a leak; a response of the client's own school
is not a leak; and every response the threads get is read."""

import datetime as dt
import gzip
import shutil
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench import budgets  # noqa: E402
from bench.trust_scale import Client, LeakCheck, drive, isolation_row, pupil_name  # noqa: E402

sys.path.remove(str(ROOT))

A, B = 1, 2
OWNERS = {"pupil": {101: A, 102: A, 201: B}, "category": {11: A, 21: B}, "location": {12: A, 22: B},
          "incident": {}, "oncall": {}}
NAMES = {"Ada Lovelace": {A}, "Grace Hopper": {B}, "Sam Smith": {A, B}}
needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)")


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


# A stand-in for the app: each route answers as the app would, with a page carrying school B's rows ---------------

def quick_entry_page() -> str:
    """The quick-entry page after a POST (/incidents/new?logged=9001), cut down: the category radios, the room
    select, a recently chosen pupil and the link to the incident just logged."""
    return ('<a href="/incidents/9001">View it</a><input type="radio" name="category_id" value="11">'
            '<input type="radio" name="category_id" value="21"><select id="location_id" name="location_id">'
            '<option value="">Choose</option><option value="12" selected>Hall</option><option value="22">Gym</option>'
            '</select><button type="button" class="pick" data-pupil-id="201" data-name="x">'
            '<span class="pupil-name">Ada Lovelace</span></button>')


class App(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as uvicorn: wrk's one connection per thread stays open
    seen: list = []

    def log_message(self, *args):
        pass

    def answer(self, status: int, body: str = "", location: str = "", zipped: bool = False):
        raw = body.encode()
        self.send_response(status)
        if zipped and "gzip" in self.headers.get("Accept-Encoding", ""):
            raw = gzip.compress(raw)
            self.send_header("Content-Encoding", "gzip")
        if location:
            self.send_header("Location", location)
        self.send_header("Server-Timing", "app;dur=1.5")
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        App.seen.append((self.command, self.path, self.headers.get("Cookie"), self.headers.get("X-CSRFToken"), body))
        if self.path == "/pupils/search":  # gzipped, as the app sends anything over 500 bytes
            self.answer(200, result_row(101, "Ada Lovelace") + result_row(201, "Grace Hopper"), zipped=True)
        elif self.path == "/incidents/":
            self.answer(303, location="/incidents/new?logged=9001")
        elif self.path == "/oncall/":  # the second member of staff's raise is never on the board
            self.answer(303, location="/oncall/7001" if "s=t" in self.headers.get("Cookie", "") else "/oncall/7005")
        elif self.path.endswith("/cancel"):
            self.answer(303, location=self.path.removesuffix("/cancel"))
        else:
            self.answer(404, "not here")

    def do_GET(self):
        App.seen.append((self.command, self.path, self.headers.get("Cookie"), None, ""))
        if self.path == "/incidents/new?logged=9001":
            self.answer(200, quick_entry_page(), zipped=True)
        elif self.path == "/oncall/board":
            self.answer(200, board_card(7001, "Staff 3 (school 2)", "Grace Hopper"))
        else:
            self.answer(404, "not here")


class Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # wrk drops its connections when it stops


@pytest.fixture
def app_url():
    App.seen = []
    server = Quiet(("127.0.0.1", 0), App)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run_part(url: str, part: str, tmp_path: Path) -> tuple[dict, LeakCheck]:
    """One second of `part` through trust.lua: two members of staff at school A."""
    pupils = [{"id": 101, "first": "Ada", "last": "Lovelace", "preferred": None, "form": "9C"},
              {"id": 102, "first": "Sam", "last": "Smith", "preferred": None, "form": "9C"}]
    plan = {"pupils": {A: pupils}, "rooms": {A: 12}, "reasons": {A: 5},
            "ctx": SimpleNamespace(pupils={A: pupils}, categories={A: [11]}, locations={A: [12]})}
    check = checker()
    tally = drive(url, part, [Client("t", A, 5), Client("u", A, 6)], plan, 1, check, ("s", "c"),
                  lambda token: (f"c-{token}", f"x-{token}"), tmp_path, part)
    return tally, check


def answered(tally: dict) -> int:
    return sum(sum(k["statuses"].values()) for k in tally["kinds"].values())


def leaks(check: LeakCheck) -> set:
    return {(x.what, x.kind, x.value, x.owner) for x in check.leaks}


@needs_wrk
def test_a_lookup_row_of_another_school_is_found_in_every_response_and_its_own_is_not(app_url, tmp_path):
    tally, check = run_part(app_url, "lookup", tmp_path)
    n = answered(tally)
    assert n > 0 and tally["undecodable"] == 0 and check.checked == n  # every response read, gzip inflated
    assert leaks(check) == {("lookup", "pupil", "201", B), ("lookup", "pupil_name", "Grace Hopper", "2")}
    assert check.leak_count == 2 * n and check.ids_seen == 4 * n  # 101, Ada Lovelace: read, not leaks
    assert tally["kinds"]["lookup"]["server"][:1] == [1.5]  # Server-Timing app;dur
    method, path, cookie, token, body = App.seen[0]
    assert (method, path) == ("POST", "/pupils/search") and body.startswith("q=")
    assert cookie in ("s=t; c=c-t", "s=u; c=c-u") and token == "x-" + cookie[2]  # each thread its own session


@needs_wrk
def test_the_quick_entry_page_its_post_leads_to_is_read_and_its_choices_of_another_school_are_leaks(app_url,
                                                                                                     tmp_path):
    tally, check = run_part(app_url, "quick_entry", tmp_path)
    assert tally["flows"] > 0 and tally["flow_ms"] and tally["undecodable"] == 0
    assert ("GET", "/incidents/new?logged=9001") in {(m, p) for m, p, *_ in App.seen}
    posts = [body for m, p, _, _, body in App.seen if p == "/incidents/"]
    assert len({b.split("&")[0] for b in posts}) == len(posts)  # a fresh idempotency key every time
    assert leaks(check) == {("quick entry page", "category", "21", B), ("quick entry page", "location", "22", B),
                            ("quick entry page", "pupil", "201", B)}
    assert check.pending and {x[1:3] for x in check.pending} == {("incident", 9001)}
    late = check.resolve({"incident": {9001: B}})
    assert {(x.what, x.kind, x.value) for x in late} == {("quick entry page", "incident", "9001")}


@needs_wrk
def test_an_on_call_board_of_another_school_is_a_leak_and_a_raise_missing_from_it_is_counted(app_url, tmp_path):
    tally, check = run_part(app_url, "oncall_board", tmp_path)
    assert {p for _, p, *_ in App.seen} >= {"/oncall/", "/oncall/board", "/oncall/7001/cancel", "/oncall/7005/cancel"}
    raised_by_u = sum(1 for m, p, cookie, *_ in App.seen if p == "/oncall/" and cookie.startswith("s=u"))
    # 7005 is never on the board, 7001 always is (the last raise's board may not have come back when wrk stopped)
    assert raised_by_u - 1 <= tally["missing"] <= raised_by_u and tally["missing"] > 0
    assert len(tally["flow_ms"]) == tally["flows"] > 0
    assert leaks(check) == {("on-call board", "staff", "2", B), ("on-call board", "pupil_name", "Grace Hopper", "2")}
    check.resolve({"oncall": {7001: B, 7005: A}})
    assert ("on-call board", "oncall", "7001", B) in leaks(check)
    assert not any(x.value == "7005" for x in check.leaks)


def test_a_name_both_schools_have_is_not_a_leak_but_another_schools_id_is():
    check = checker()
    assert check.absorb(A, {"lookup\tpupil\t102": 3, "lookup\tpupil_name\tSam Smith": 3}, 3, 6) == []
    found = check.absorb(B, {"lookup\tpupil\t102": 2, "lookup\tpupil_name\tSam Smith": 2}, 2, 4)
    assert [(x.kind, x.value, x.count) for x in found] == [("pupil", "102", 2)]
    assert check.leak_count == 2 and check.checked == 5 and check.ids_seen == 10


def test_names_are_unescaped_and_unknown_identifiers_counted():
    check = checker()
    check.names["Ada O'Neill"] = {B}
    found = check.absorb(A, {"board\tpupil_name\tAda O&#39;Neill": 1, "board\tpupil\t999": 4}, 1, 2)
    assert [(x.kind, x.value) for x in found] == [("pupil_name", "Ada O'Neill")]
    assert check.unknown == {"pupil": 4}


def test_the_names_are_read_as_the_pages_show_them():
    assert pupil_name("Alexandra", "Jones", "Alex", None) == "Alex Jones"
    assert pupil_name("Alexandra", "Jones", None, "Smith-Jones") == "Alexandra Smith-Jones"


def test_a_leak_makes_the_isolation_row_say_leak_and_miss_its_budget():
    isolation = next(b for b in budgets.BUDGETS if b.scenario == "trust_scale.isolation")
    clean = checker()
    clean.absorb(A, {"lookup\tpupil\t101": 1, "lookup\tpupil_name\tAda Lovelace": 1}, 1, 2)
    row = isolation_row(clean, [A, B]) | {"dataset": "trust"}
    assert "LEAK" not in row["summary"] and "0 leaks" in row["summary"]
    assert [c["status"] for c in budgets.check_rows(isolation, [row])] == ["met"]

    leaky = checker()
    leaky.absorb(A, {"lookup\tpupil\t101": 1, "lookup\tpupil\t201": 1, "lookup\tpupil_name\tGrace Hopper": 1},
                 2, 3)
    row = isolation_row(leaky, [A, B]) | {"dataset": "trust"}
    assert row["summary"].startswith("LEAK: 2 identifiers of another school")
    assert "lookup for school 1 carried pupil 201 of school 2" in row["summary"]
    assert row["leaks"] == 2 and row["checked"] == 2
    assert [c["status"] for c in budgets.check_rows(isolation, [row])] == ["missed"]
