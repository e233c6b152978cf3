"""The case-conference pack: options, preview with redactions, and the PDF and CSV downloads."""

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
from app.domain.chronology import pack as packs
from app.domain.chronology.pack_export import LONDON
from app.domain.schools.service import Actor
from app.errors import NeedsVerification, ValidationFailed
from app.settings import Settings
from app.rendering import render

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def may_make_packs(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    actor = connection.user
    if not isinstance(actor, Actor) or not packs.can_use(actor):
        raise NotFoundException()


def _typed(data: dict[str, Any]) -> dict[str, Any]:
    """What was typed, to show again: text as text, the ticked sources as a list."""
    typed: dict[str, Any] = {k: str(v) for k, v in data.items() if not isinstance(v, list)}
    raw = data.get("sources")
    typed["sources"] = [str(v) for v in raw] if isinstance(raw, list) else [str(raw)] if raw else []
    return typed


async def _form_page(request: Request, actor: Actor, pupil_id: int | None, form: dict, errors: dict | None = None,
                     key: str | None = None, status: int = 200) -> Response:
    context = await packs.form_context(actor, pupil_id)
    return render(request, "case_pack/new.html", {"actor": actor, **context, "form": form, "errors": errors or {},
                                                  "key": key or str(uuid.uuid4())}, status=status)


async def _preview_page(request: Request, settings: Settings, actor: Actor, pack_id: int, form: dict | None = None,
                        errors: dict | None = None, status: int = 200, added: str = "") -> Response:
    found = await packs.preview(settings, actor, pack_id)
    return render(request, "case_pack/preview.html", {
        "actor": actor, "found": found, "pack": found.pack, "pupil": found.pack.pupil, "form": form or {},
        "errors": errors or {}, "labels": packs.source_labels(), "added": added,
        "local": lambda d: d.astimezone(LONDON)}, status=status, headers={"Cache-Control": "no-store"})


class CasePackController(Controller):
    path = "/case-pack"
    guards = [may_make_packs]
    exception_handlers = {NeedsVerification: ask_for_step_up}

    @get("/new", name="case_pack.new")
    async def new(self, request: Request, actor: CurrentActor, pupil: FromQuery[str | None] = None) -> Response:
        """The options: every source the actor may see ticked, no dates (the whole chronology)."""
        pupil_id = parse_id(pupil)
        context = await packs.form_context(actor, pupil_id)
        return await _form_page(request, actor, pupil_id, {"sources": list(context["sources"])})

    @post("/", name="case_pack.create")
    async def create(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        key, typed = submission_key(request, data), _typed(data)
        return await save_form(
            request, actor, data, key, partial(packs.create_draft, actor, typed),
            lambda errors, key: _form_page(request, actor, parse_id(typed.get("pupil_id")), typed, errors, key,
                                           status=400),
            lambda made: f"/case-pack/{made['id']}")

    @get("/{pack_id:int}", name="case_pack.view")
    async def view(self, request: Request, settings: AppSettings, actor: CurrentActor, pack_id: FromPath[int],
                   added: FromQuery[str | None] = None) -> Response:
        return await _preview_page(request, settings, actor, pack_id, added=added or "")

    @post("/{pack_id:int}/redactions", name="case_pack.redact")
    async def redact(self, request: Request, settings: AppSettings, actor: CurrentActor, pack_id: FromPath[int],
                     data: Form) -> Response:
        typed = _typed(data)
        try:
            added = await packs.add_redaction(settings, actor, pack_id, typed)
        except ValidationFailed as exc:
            return await _preview_page(request, settings, actor, pack_id, typed, exc.errors, status=400)
        return Redirect(f"/case-pack/{pack_id}?added={'1' if added else '0'}#redactions", status_code=303)

    @get("/{pack_id:int}/pack.pdf", name="case_pack.pdf")
    async def pdf(self, settings: AppSettings, actor: CurrentActor, pack_id: FromPath[int]) -> Response:
        return await _download(settings, actor, pack_id, "pdf")

    @get("/{pack_id:int}/pack.csv", name="case_pack.csv")
    async def csv(self, settings: AppSettings, actor: CurrentActor, pack_id: FromPath[int]) -> Response:
        return await _download(settings, actor, pack_id, "csv")


async def _download(settings: Settings, actor: Actor, pack_id: int, fmt: str) -> Response:
    body, media_type, filename = await packs.export(settings, actor, pack_id, fmt)
    return Response(body, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff"})
