"""Subject access requests: start one for a pupil, review the safeguarding items, download the PDF and JSON."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.handlers import BaseRouteHandler
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect

from app.controllers import AppSettings, CurrentActor
from app.controllers.concerns import ask_for_step_up
from app.controllers.forms import save_form
from app.controllers.incidents import submission_key
from app.db import parse_id
from app.domain.schools.service import Actor
from app.domain.subject_access import service as sar
from app.errors import NeedsVerification, ValidationFailed
from app.rendering import render
from app.settings import Settings

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
PRIVATE = {"Cache-Control": "no-store"}


def may_handle_requests(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    actor = connection.user
    if not isinstance(actor, Actor) or not sar.can_use(actor):
        raise NotFoundException()


def _typed(data: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in data.items() if not isinstance(v, list)}


async def _form_page(request: Request, actor: Actor, pupil_id: int | None, form: dict, errors: dict | None = None,
                     key: str | None = None, status: int = 200) -> Response:
    context = await sar.form_context(actor, pupil_id)
    return render(request, "subject_access/new.html", {
        "actor": actor, **context, "form": form, "errors": errors or {}, "key": key or str(uuid.uuid4()),
        "today": sar.today()}, status=status, headers=PRIVATE)


async def _review_page(request: Request, settings: Settings, actor: Actor, request_id: int,
                       form: dict | None = None, errors: dict | None = None, status: int = 200,
                       done: str = "") -> Response:
    found = await sar.review(settings, actor, request_id)
    return render(request, "subject_access/review.html", {
        "actor": actor, "sar": found["request"], "items": found["items"], "undecided": found["undecided"],
        "pupil": found["request"].pupil, "form": form or {}, "errors": errors or {},
        "done": done, "staff_names": sar.STAFF_NAMES, "local": sar._when}, status=status, headers=PRIVATE)


class SubjectAccessController(Controller):
    path = "/subject-access"
    guards = [may_handle_requests]
    exception_handlers = {NeedsVerification: ask_for_step_up}

    @get("/", name="subject_access.list")
    async def index(self, request: Request, actor: CurrentActor) -> Response:
        return render(request, "subject_access/list.html", {"actor": actor, "requests": await sar.requests(actor)},
                      headers=PRIVATE)

    @get("/new", name="subject_access.new")
    async def new(self, request: Request, actor: CurrentActor, pupil: FromQuery[str | None] = None) -> Response:
        return await _form_page(request, actor, parse_id(pupil), {"staff_names": "keep"})

    @post("/", name="subject_access.create")
    async def create(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        key, typed = submission_key(request, data), _typed(data)
        return await save_form(
            request, actor, data, key, partial(sar.start, actor, typed),
            lambda errors, key: _form_page(request, actor, parse_id(typed.get("pupil_id")), typed, errors, key,
                                           status=400),
            lambda made: f"/subject-access/{made['id']}")

    @get("/{request_id:int}", name="subject_access.view")
    async def view(self, request: Request, settings: AppSettings, actor: CurrentActor, request_id: FromPath[int],
                   done: FromQuery[str | None] = None) -> Response:
        return await _review_page(request, settings, actor, request_id, done=done or "")

    @post("/{request_id:int}/decisions", name="subject_access.decide")
    async def decide(self, request: Request, settings: AppSettings, actor: CurrentActor,
                     request_id: FromPath[int], data: Form) -> Response:
        typed = _typed(data)
        try:
            await sar.decide(settings, actor, request_id, typed)
        except ValidationFailed as exc:
            return await _review_page(request, settings, actor, request_id, typed, exc.errors, status=400)
        anchor = f"#item-{parse_id(typed.get('concern_id'))}"
        return Redirect(f"/subject-access/{request_id}?done=decision{anchor}", status_code=303)

    @post("/{request_id:int}/staff-names", name="subject_access.staff_names")
    async def staff_names(self, request: Request, settings: AppSettings, actor: CurrentActor,
                          request_id: FromPath[int], data: Form) -> Response:
        typed = _typed(data)
        try:
            await sar.set_staff_names(settings, actor, request_id, typed)
        except ValidationFailed as exc:
            return await _review_page(request, settings, actor, request_id, typed, exc.errors, status=400)
        return Redirect(f"/subject-access/{request_id}?done=staff#export", status_code=303)

    @get("/{request_id:int}/export.pdf", name="subject_access.pdf")
    async def pdf(self, settings: AppSettings, actor: CurrentActor, request_id: FromPath[int]) -> Response:
        return await _download(settings, actor, request_id, "pdf")

    @get("/{request_id:int}/export.json", name="subject_access.json")
    async def json(self, settings: AppSettings, actor: CurrentActor, request_id: FromPath[int]) -> Response:
        return await _download(settings, actor, request_id, "json")


async def _download(settings: Settings, actor: Actor, request_id: int, fmt: str) -> Response:
    body, media_type, filename = await sar.export(settings, actor, request_id, fmt)
    return Response(body, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff"})
