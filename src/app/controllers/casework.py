"""Caseloads: the caseload page and its home-screen section, opening a case, the case page (status, plan,
targets), the review form, the keyworker line on a pupil's profile, and a school's own case types."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect

from app.controllers import CurrentActor
from app.controllers.forms import save_form
from app.db import parse_id
from app.domain.casework import service as casework
from app.domain.casework.service import ValidationFailed
from app.domain.notifications.service import clean_key
from app.domain.schools.service import Actor
from app.errors import NotFound
from app.rendering import render

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _key(data: dict[str, Any]) -> str | None:
    return clean_key(str(data.get("idempotency_key") or ""))


def _fields(data: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in data.items() if not k.startswith("_") and not isinstance(v, list)}


class CaseworkController(Controller):
    path = "/casework"

    @get("/", name="casework.index")
    async def index(self, request: Request, actor: CurrentActor) -> Response:
        lists = await casework.caseload(actor)
        return render(request, "casework/index.html", {"actor": actor, **lists, "today": casework.today()})

    @get("/mine", name="casework.mine")
    async def mine(self, request: Request, actor: CurrentActor) -> Response:
        """The home screen's "My caseload" section, fetched by the home page for those who have one."""
        lists = await casework.caseload(actor)
        return render(request, "casework/_my_caseload.html", {"actor": actor, **lists})

    @get("/pupil/{pupil_id:int}", name="casework.keyworker")
    async def keyworker(self, request: Request, actor: CurrentActor, pupil_id: FromPath[int]) -> Response:
        """The keyworker line of a pupil's profile."""
        return render(request, "casework/_keyworker.html", {"actor": actor, **await casework.keyworkers_of(actor, pupil_id)})

    async def _new_page(self, request: Request, actor: Actor, form: dict[str, str], errors: dict | None = None,
                        key: str | None = None, status: int = 200) -> Response:
        if not casework.can_work(actor):
            raise NotFound()
        pupil = await casework.pupil_for_case(actor, parse_id(form.get("pupil_id")))
        return render(request, "casework/new.html", {
            "actor": actor, "form": form, "errors": errors or {}, "pupil": pupil,
            "types": await casework.case_types(actor.school_id), "keyworkers": await casework.keyworker_choices(actor),
            "today": casework.today().isoformat(), "key": key or str(uuid.uuid4())}, status=status)

    @get("/new", name="casework.new")
    async def new(self, request: Request, actor: CurrentActor, pupil: FromQuery[int | None] = None) -> Response:
        return await self._new_page(request, actor, {"pupil_id": str(pupil or ""), "keyworker_id": str(actor.person_id),
                                                     "started_on": casework.today().isoformat()})

    @post("/", name="casework.create")
    async def create(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        form = _fields(data)
        return await save_form(request, actor, data, _key(data), partial(casework.open_case, actor, form),
                               lambda errors, key: self._new_page(request, actor, form, errors, key=key, status=400),
                               lambda case_id: f"/casework/{case_id}")

    async def _case_page(self, request: Request, actor: Actor, case_id: int, errors: dict | None = None,
                         typed: dict | None = None, status: int = 200) -> Response:
        page = await casework.case_page(actor, case_id)
        return render(request, "casework/case.html", {
            "actor": actor, **page, "errors": errors or {}, "typed": typed or {}, "statuses": casework.STATUSES,
            "outcomes": casework.OUTCOMES, "target_states": casework.TARGET_STATES, "max_targets": casework.MAX_TARGETS,
            "colleagues": await casework.colleagues(actor), "key": (typed or {}).get("idempotency_key") or str(uuid.uuid4()),
            "moves": casework.MOVES}, status=status)

    @get("/{case_id:int}", name="casework.view")
    async def view(self, request: Request, actor: CurrentActor, case_id: FromPath[int]) -> Response:
        return await self._case_page(request, actor, case_id)

    @post("/{case_id:int}/status", name="casework.status")
    async def status(self, request: Request, actor: CurrentActor, case_id: FromPath[int], data: Form) -> Response:
        typed = _fields(data)
        try:
            await casework.set_status(actor, case_id, typed.get("status", ""), typed.get("outcome", ""),
                                      typed.get("closing_summary", ""))
        except ValidationFailed as exc:
            return await self._case_page(request, actor, case_id, exc.errors, typed, 400)
        return Redirect(f"/casework/{case_id}", status_code=303)

    @post("/{case_id:int}/plan", name="casework.plan")
    async def plan(self, request: Request, actor: CurrentActor, case_id: FromPath[int], data: Form) -> Response:
        typed = _fields(data)
        return await save_form(
            request, actor, data, _key(data),
            partial(casework.save_plan, actor, case_id, {**typed, "remove_action": as_list(data.get("remove_action"))}),
            lambda errors, _: self._case_page(request, actor, case_id, errors, typed, 400),
            lambda _: f"/casework/{case_id}#plan")

    @post("/{case_id:int}/targets", name="casework.target")
    async def target(self, request: Request, actor: CurrentActor, case_id: FromPath[int], data: Form) -> Response:
        typed = _fields(data)
        return await save_form(
            request, actor, data, _key(data),
            partial(casework.add_target, actor, case_id, typed.get("target_text", ""), typed.get("pupil_words", "")),
            lambda errors, _: self._case_page(request, actor, case_id, errors, typed, 400),
            lambda _: f"/casework/{case_id}#targets")

    async def _review_page(self, request: Request, actor: Actor, case_id: int, errors: dict | None = None,
                           typed: dict | None = None, status: int = 200) -> Response:
        page = await casework.review_form(actor, case_id)
        return render(request, "casework/review.html", {
            "actor": actor, **page, "errors": errors or {}, "typed": typed or {"held_on": casework.today().isoformat()},
            "target_states": casework.TARGET_STATES, "today": casework.today().isoformat(),
            "key": (typed or {}).get("idempotency_key") or str(uuid.uuid4())}, status=status)

    @get("/{case_id:int}/review", name="casework.review_form")
    async def review_form(self, request: Request, actor: CurrentActor, case_id: FromPath[int]) -> Response:
        return await self._review_page(request, actor, case_id)

    @post("/{case_id:int}/review", name="casework.review")
    async def review(self, request: Request, actor: CurrentActor, case_id: FromPath[int], data: Form) -> Response:
        typed = _fields(data)
        return await save_form(request, actor, data, _key(data), partial(casework.record_review, actor, case_id, typed),
                               lambda errors, _: self._review_page(request, actor, case_id, errors, typed, 400),
                               lambda _: f"/casework/{case_id}#reviews")

    async def _types_page(self, request: Request, actor: Actor, errors: dict | None = None, typed: dict | None = None,
                          status: int = 200) -> Response:
        if not casework.can_set_types(actor):
            raise NotFound()
        return render(request, "casework/types.html", {
            "actor": actor, "types": await casework.case_types(actor.school_id, store=status == 200),
            "errors": errors or {}, "typed": typed or {},
            "key": (typed or {}).get("idempotency_key") or str(uuid.uuid4())}, status=status)

    @get("/types", name="casework.types")
    async def types(self, request: Request, actor: CurrentActor) -> Response:
        return await self._types_page(request, actor)

    @post("/types", name="casework.add_type")
    async def add_type(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        typed = _fields(data)
        return await save_form(request, actor, data, _key(data),
                               partial(casework.add_case_type, actor, typed.get("name", ""), typed.get("review_weeks", "")),
                               lambda errors, _: self._types_page(request, actor, errors, typed, 400),
                               lambda _: "/casework/types")
