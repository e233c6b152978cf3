"""Rewards for the year team: totals for any period (with CSV), the assembly leaderboard (and its present mode
without the app's chrome), milestone certificates as PDF, and the school's milestones."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect

from app.controllers import CurrentActor
from app.domain.rewards import certificate, service as rewards
from app.domain.schools.service import Actor
from app.errors import NotFound, ValidationFailed
from app.rendering import csv_response, render

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


async def _scope(actor: Actor, year: str | None, period: str | None, start: str | None,
                 end: str | None) -> rewards.Scope:
    return await rewards.scope_for(actor, year, period, start, end)


def _context(actor: Actor, scope: rewards.Scope, **more: Any) -> dict[str, Any]:
    return {"actor": actor, "scope": scope, "query": f"year={scope.year}&{scope.period.query}",
            "labels": rewards.PRESET_LABELS, **more}


async def _certificates_page(request: Request, actor: Actor, scope: rewards.Scope, *, errors: dict | None = None,
                             status: int = 200) -> Response:
    found = await rewards.certificates(actor, scope)
    keys = {x.pick: str(uuid.uuid4()) for x in found["waiting"] + found["printed"]}
    return render(request, "rewards/certificates.html", _context(
        actor, scope, **found, milestones=await rewards.milestones_of(actor.school_id), keys=keys,
        key=str(uuid.uuid4()), print_errors=errors or {},
        can_set=rewards.can_set_milestones(actor)), status=status)


class RewardsController(Controller):
    path = "/rewards"

    @get("/", name="rewards.index")
    async def index(self, request: Request, actor: CurrentActor, year: FromQuery[str | None] = None,
                    period: FromQuery[str | None] = None, start: FromQuery[str | None] = None,
                    end: FromQuery[str | None] = None) -> Response:
        scope = await _scope(actor, year, period, start, end)
        return render(request, "rewards/index.html", _context(actor, scope, totals=await rewards.totals(actor, scope)),
                      status=400 if scope.errors else 200)

    @get("/csv/{table:str}", name="rewards.csv")
    async def csv(self, actor: CurrentActor, table: FromPath[str], year: FromQuery[str | None] = None,
                  period: FromQuery[str | None] = None, start: FromQuery[str | None] = None,
                  end: FromQuery[str | None] = None) -> Response:
        scope = await _scope(actor, year, period, start, end)
        filename, header, rows = await rewards.export_totals(actor, scope, table)
        return csv_response(filename, header, rows)

    @get("/leaderboard", name="rewards.leaderboard")
    async def leaderboard(self, request: Request, actor: CurrentActor, year: FromQuery[str | None] = None,
                          period: FromQuery[str | None] = None, start: FromQuery[str | None] = None,
                          end: FromQuery[str | None] = None) -> Response:
        scope = await _scope(actor, year, period, start, end)
        return render(request, "rewards/leaderboard.html",
                      _context(actor, scope, board=await rewards.leaderboard(actor, scope)),
                      status=400 if scope.errors else 200)

    @get("/leaderboard/present", name="rewards.present")
    async def present(self, request: Request, actor: CurrentActor, year: FromQuery[str | None] = None,
                      period: FromQuery[str | None] = None, start: FromQuery[str | None] = None,
                      end: FromQuery[str | None] = None) -> Response:
        """The board for the hall's projector: the whole screen, no app bar, big type."""
        scope = await _scope(actor, year, period, start, end)
        return render(request, "rewards/present.html",
                      _context(actor, scope, board=await rewards.leaderboard(actor, scope)))

    @get("/leaderboard.csv", name="rewards.leaderboard_csv")
    async def leaderboard_csv(self, actor: CurrentActor, year: FromQuery[str | None] = None,
                              period: FromQuery[str | None] = None, start: FromQuery[str | None] = None,
                              end: FromQuery[str | None] = None) -> Response:
        scope = await _scope(actor, year, period, start, end)
        filename, header, rows = await rewards.export_leaderboard(actor, scope)
        return csv_response(filename, header, rows)

    @get("/certificates", name="rewards.certificates")
    async def certificates(self, request: Request, actor: CurrentActor, year: FromQuery[str | None] = None,
                           period: FromQuery[str | None] = None, start: FromQuery[str | None] = None,
                           end: FromQuery[str | None] = None) -> Response:
        scope = await _scope(actor, year, period, start, end)
        return await _certificates_page(request, actor, scope, status=400 if scope.errors else 200)

    @post("/certificates", name="rewards.print", status_code=200)
    async def print(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        """Print the certificates picked (one, or a batch in one PDF); recorded and audited before the PDF."""
        scope = await _scope(actor, str(data.get("year") or "") or None, str(data.get("period") or "") or None,
                             str(data.get("start") or "") or None, str(data.get("end") or "") or None)
        try:
            done = await rewards.print_certificates(actor, scope, as_list(data.get("pick")),
                                                    str(data.get("key") or ""), bool(data.get("reprint")))
        except ValidationFailed as exc:
            return await _certificates_page(request, actor, scope, errors=exc.errors, status=400)
        body = certificate.pdf(done.school, done.certificates, rewards.today())
        name = "certificate" if len(done.certificates) == 1 else "certificates"
        return Response(body, media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="reward-{name}-{done.batch_id}.pdf"',
            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})

    @get("/milestones", name="rewards.milestones")
    async def milestones(self, request: Request, actor: CurrentActor, done: FromQuery[str] = "") -> Response:
        values = await rewards.milestones_for(actor)
        return render(request, "rewards/milestones.html", {
            "actor": actor, "typed": ", ".join(str(v) for v in values), "errors": {}, "done": done == "1"})

    @post("/milestones", name="rewards.set_milestones")
    async def set_milestones(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        typed = str(data.get("milestones") or "")[:200]
        try:
            await rewards.set_milestones(actor, typed)
        except ValidationFailed as exc:
            if not rewards.can_set_milestones(actor):
                raise NotFound() from exc
            return render(request, "rewards/milestones.html",
                          {"actor": actor, "typed": typed, "errors": exc.errors, "done": False}, status=400)
        return Redirect(request.app.route_reverse("rewards.milestones") + "?done=1", status_code=303)
