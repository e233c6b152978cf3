"""Interventions: the list of programmes, setting one up, instruments, the programme page, adding pupils, the
session register, measures, and the impact report per programme and per term (a page and a CSV)."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath

from app.controllers import CurrentActor
from app.controllers.forms import save_form
from app.domain.interventions import service as interventions
from app.domain.notifications.service import clean_key
from app.domain.schools.service import Actor
from app.errors import NotFound
from app.rendering import render

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _key(data: dict[str, Any]) -> str | None:
    return clean_key(str(data.get("idempotency_key") or ""))


def _fields(data: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in data.items() if not k.startswith("_") and not isinstance(v, list)}


def _csv(body: str, name: str) -> Response:
    # The file name says which programme or term by id only: no pupil's name in a URL or a file name.
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


class InterventionsController(Controller):
    path = "/interventions"

    @get("/", name="interventions.index")
    async def index(self, request: Request, actor: CurrentActor) -> Response:
        programmes = await interventions.visible_programmes(actor)
        return render(request, "interventions/index.html", {
            "actor": actor, "programmes": programmes, "terms": interventions.terms(programmes)})

    async def _new_page(self, request: Request, actor: Actor, form: dict[str, str], errors: dict | None = None,
                        status: int = 200) -> Response:
        return render(request, "interventions/new.html", {
            "actor": actor, "form": form, "errors": errors or {}, "kinds": interventions.KINDS,
            "instruments": await interventions.instruments(actor, store=status == 200),
            "staff": await interventions.colleagues(actor),
            "key": form.get("idempotency_key") or str(uuid.uuid4())}, status=status)

    @get("/new", name="interventions.new")
    async def new(self, request: Request, actor: CurrentActor) -> Response:
        if not interventions.can_work(actor):
            raise NotFound()
        return await self._new_page(request, actor, {"facilitator_id": str(actor.person_id), "planned_sessions": "6",
                                                     "starts_on": interventions.today().isoformat(), "cost": "0"})

    @post("/", name="interventions.create")
    async def create(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        form = _fields(data)
        return await save_form(request, actor, data, _key(data), partial(interventions.create_programme, actor, form),
                               lambda errors, _: self._new_page(request, actor, form, errors, 400),
                               lambda programme_id: f"/interventions/{programme_id}")

    async def _instruments_page(self, request: Request, actor: Actor, errors: dict | None = None,
                                typed: dict | None = None, status: int = 200) -> Response:
        return render(request, "interventions/instruments.html", {
            "actor": actor, "instruments": await interventions.instruments(actor, store=status == 200),
            "errors": errors or {}, "typed": typed or {"kind": "scale", "direction": "higher"}, "kinds": interventions.INSTRUMENT_KINDS,
            "key": (typed or {}).get("idempotency_key") or str(uuid.uuid4())}, status=status)

    @get("/instruments", name="interventions.instruments")
    async def instruments(self, request: Request, actor: CurrentActor) -> Response:
        return await self._instruments_page(request, actor)

    @post("/instruments", name="interventions.add_instrument")
    async def add_instrument(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        typed = _fields(data)
        return await save_form(request, actor, data, _key(data), partial(interventions.add_instrument, actor, typed),
                               lambda errors, _: self._instruments_page(request, actor, errors, typed, 400),
                               lambda _: "/interventions/instruments")

    async def _programme_page(self, request: Request, actor: Actor, programme_id: int, errors: dict | None = None,
                              typed: dict | None = None, status: int = 200) -> Response:
        page = await interventions.programme_page(actor, programme_id)
        return render(request, "interventions/programme.html", {
            "actor": actor, **page, "errors": errors or {}, "typed": typed or {},
            "choices": await interventions.pupil_choices(actor), "stages": interventions.STAGES,
            "key": (typed or {}).get("idempotency_key") or str(uuid.uuid4())}, status=status)

    @get("/{programme_id:int}", name="interventions.view")
    async def view(self, request: Request, actor: CurrentActor, programme_id: FromPath[int]) -> Response:
        return await self._programme_page(request, actor, programme_id)

    @post("/{programme_id:int}/pupils", name="interventions.add_pupil")
    async def add_pupil(self, request: Request, actor: CurrentActor, programme_id: FromPath[int], data: Form) -> Response:
        typed = _fields(data)
        return await save_form(request, actor, data, _key(data),
                               partial(interventions.add_pupil, actor, programme_id, typed),
                               lambda errors, _: self._programme_page(request, actor, programme_id, errors, typed, 400),
                               lambda _: f"/interventions/{programme_id}#pupils")

    async def _register_page(self, request: Request, actor: Actor, programme_id: int, errors: dict | None = None,
                             typed: dict | None = None, status: int = 200) -> Response:
        page = await interventions.register_form(actor, programme_id)
        return render(request, "interventions/register.html", {
            "actor": actor, **page, "errors": errors or {}, "marks": interventions.MARKS,
            "typed": typed or {"held_on": interventions.today().isoformat()}, "today": interventions.today().isoformat(),
            "key": (typed or {}).get("idempotency_key") or str(uuid.uuid4())}, status=status)

    @get("/{programme_id:int}/register", name="interventions.register_form")
    async def register_form(self, request: Request, actor: CurrentActor, programme_id: FromPath[int]) -> Response:
        return await self._register_page(request, actor, programme_id)

    @post("/{programme_id:int}/register", name="interventions.register")
    async def register(self, request: Request, actor: CurrentActor, programme_id: FromPath[int], data: Form) -> Response:
        typed = _fields(data)
        return await save_form(request, actor, data, _key(data),
                               partial(interventions.take_register, actor, programme_id, typed),
                               lambda errors, _: self._register_page(request, actor, programme_id, errors, typed, 400),
                               lambda _: f"/interventions/{programme_id}#sessions")

    async def _measure_page(self, request: Request, actor: Actor, programme_id: int, participant_id: int,
                            errors: dict | None = None, typed: dict | None = None, status: int = 200) -> Response:
        page = await interventions.measure_form(actor, programme_id, participant_id)
        baseline = page["taken"].get("baseline")
        return render(request, "interventions/measure.html", {
            "actor": actor, **page, "errors": errors or {}, "stages": interventions.STAGES,
            "typed": typed or {"stage": page["stage"], "taken_on": interventions.today().isoformat(),
                               "rater": baseline["rater"] if baseline else ""},
            "today": interventions.today().isoformat(),
            "key": (typed or {}).get("idempotency_key") or str(uuid.uuid4())}, status=status)

    @get("/{programme_id:int}/measures/{participant_id:int}", name="interventions.measure_form")
    async def measure_form(self, request: Request, actor: CurrentActor, programme_id: FromPath[int],
                           participant_id: FromPath[int]) -> Response:
        return await self._measure_page(request, actor, programme_id, participant_id)

    @post("/{programme_id:int}/measures/{participant_id:int}", name="interventions.measure")
    async def measure(self, request: Request, actor: CurrentActor, programme_id: FromPath[int],
                      participant_id: FromPath[int], data: Form) -> Response:
        typed = _fields(data)
        return await save_form(
            request, actor, data, _key(data), partial(interventions.record_measure, actor, programme_id, participant_id,
                                                      typed),
            lambda errors, _: self._measure_page(request, actor, programme_id, participant_id, errors, typed, 400),
            lambda _: f"/interventions/{programme_id}#pupils")

    @get("/{programme_id:int}/impact", name="interventions.impact")
    async def impact(self, request: Request, actor: CurrentActor, programme_id: FromPath[int]) -> Response:
        report = await interventions.programme_impact(actor, programme_id)
        return render(request, "interventions/impact.html", {"actor": actor, "reports": [report], "term": None,
                                                               "title": f"Impact: {report['programme']['name']}",
                                                               "csv": f"/interventions/{programme_id}/impact.csv"})

    @get("/{programme_id:int}/impact.csv", name="interventions.impact_csv")
    async def impact_csv(self, actor: CurrentActor, programme_id: FromPath[int]) -> Response:
        report = await interventions.programme_impact(actor, programme_id)
        return _csv(interventions.impact_csv([report]), f"intervention-impact-{programme_id}.csv")

    async def _term(self, actor: Actor, term: str) -> tuple[str, list[dict]]:
        parsed = interventions.parse_term(term)
        if parsed is None:
            raise NotFound()
        return parsed, await interventions.term_impact(actor, parsed)

    @get("/terms/{term:str}", name="interventions.term")
    async def term(self, request: Request, actor: CurrentActor, term: FromPath[str]) -> Response:
        parsed, reports = await self._term(actor, term)
        return render(request, "interventions/impact.html", {
            "actor": actor, "reports": reports, "term": parsed,
            "title": f"Impact: {interventions.term_label(parsed)}", "csv": f"/interventions/terms/{parsed}/impact.csv"})

    @get("/terms/{term:str}/impact.csv", name="interventions.term_csv")
    async def term_csv(self, actor: CurrentActor, term: FromPath[str]) -> Response:
        parsed, reports = await self._term(actor, term)
        return _csv(interventions.impact_csv(reports), f"intervention-impact-{parsed}.csv")
