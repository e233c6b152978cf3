"""Lates at the gate (the duty member of staff's screen) and the school's register-close times (the admin's)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect

from app.controllers import CurrentActor
from app.controllers.admin import requires_role
from app.controllers.incidents import submission_key
from app.domain.attendance import exports, first_day, gate
from app.domain.notifications.service import release, request_hash
from app.domain.schools.service import Actor
from app.errors import NotFound, ValidationFailed
from app.rendering import csv_response, render

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _results(found: list) -> list[dict]:
    # Each pupil's button is its own form with its own key: two taps on one button are one late.
    return [{"id": e.id, "name": e.display_name, "form": e.tutor_group, "key": str(uuid.uuid4())} for e in found]


async def _page(request: Request, actor: Actor, *, q: str = "", results: list | None = None,
                logged: int | None = None, errors: dict | None = None, typed: dict | None = None,
                status: int = 200) -> Response:
    today = await gate.todays_lates(actor)
    shown = next((late for late in today["lates"] if late["incident"] == logged), None) if logged else None
    return render(request, "attendance/gate.html", {
        "actor": actor, "q": q, "results": results, "searched": results is not None, "logged": shown,
        "errors": errors or {}, "typed": typed or {}, "reason_limit": gate.REASON_LIMIT, **today}, status=status)


class GateController(Controller):
    path = "/gate"

    @get("/", name="gate.index")
    async def index(self, request: Request, actor: CurrentActor, logged: FromQuery[int | None] = None) -> Response:
        if not gate.can_gate(actor):
            raise NotFound()
        return await _page(request, actor, logged=logged)

    @get("/today.csv", name="gate.csv")
    async def today_csv(self, actor: CurrentActor) -> Response:
        """Today's lates as the page lists them, for the office to enter into the MIS (audited)."""
        filename, rows = await exports.todays_lates_csv(actor)
        return csv_response(filename, exports.LATES_COLUMNS, rows)

    @post("/find", name="gate.find", status_code=200)
    async def find(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        q = str(data.get("q", ""))[:100]
        results = _results(await gate.find(actor, q))
        if request.headers.get("hx-request"):
            return render(request, "attendance/_gate_results.html", {"actor": actor, "results": results,
                                                                      "searched": True, "q": q, "errors": {},
                                                                      "typed": {}, "reason_limit": gate.REASON_LIMIT})
        return await _page(request, actor, q=q, results=results)

    @post("/", name="gate.log")
    async def log(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        if not gate.can_gate(actor):
            raise NotFound()
        key, digest = submission_key(request, data), request_hash(request.url.path, data)
        try:
            done = await gate.log_late(actor, data, key=key, digest=digest)
        except ValidationFailed as exc:
            await release(actor, key, digest)
            typed = {k: str(data.get(k, ""))[:300] for k in ("pupil_id", "reason", "occurred_at")}
            q = str(data.get("_q", ""))[:100]  # transport ("_"): the search that found the pupil, for the page again
            found = await gate.find(actor, q) if q else []
            if not any(str(e.id) == typed["pupil_id"] for e in found):
                found = await gate.entry_for(actor, typed["pupil_id"]) + found
            results = _results(found)
            if typed["pupil_id"] and results:
                for r in results:
                    if str(r["id"]) == typed["pupil_id"]:
                        r["key"] = key or r["key"]  # a corrected resubmission is still the same entry
            return await _page(request, actor, q=q, results=results, errors=exc.errors,
                               typed=typed, status=400)
        return Redirect(request.app.route_reverse("gate.index") + f"?logged={done['incident']}", status_code=303)


class RegisterCloseController(Controller):
    path = "/admin/register-close"
    guards = [requires_role("admin")]

    @get("/", name="gate.settings")
    async def settings(self, request: Request, actor: CurrentActor, done: FromQuery[int | None] = None) -> Response:
        return render(request, "attendance/register_close.html", {
            "actor": actor, "times": await gate.close_times_for_admin(actor), "errors": {}, "done": bool(done)})

    @post("/", name="gate.settings_save")
    async def save(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        try:
            await gate.set_close_times(actor, data)
        except ValidationFailed as exc:
            typed = {k: str(data.get(k, ""))[:10] for k in ("am_close", "pm_close")}
            return render(request, "attendance/register_close.html",
                          {"actor": actor, "times": typed, "errors": exc.errors, "done": False}, status=400)
        return Redirect(request.app.route_reverse("gate.settings") + "?done=1", status_code=303)


class FirstDayController(Controller):
    path = "/attendance/first-day"
    guards = [requires_role(*first_day.USERS)]

    @get("/", name="first_day.index")
    async def index(self, request: Request, actor: CurrentActor) -> Response:
        """After the morning register closes: who is absent without a reason, their contacts and today's calls."""
        return render(request, "attendance/first_day.html", {"actor": actor, **await first_day.first_day_list(actor)})

    @get("/csv", name="first_day.csv")
    async def csv(self, actor: CurrentActor) -> Response:
        """The list as this actor's page shows it, as CSV (audited)."""
        filename, rows = await exports.first_day_csv(actor)
        return csv_response(filename, exports.FIRST_DAY_COLUMNS, rows)
