"""Safeguarding concerns: anyone records one and gets a receipt; the DSL team reads and acts on them."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect

from app.controllers import AppSettings, CurrentActor
from app.controllers.incidents import submission_key
from app.domain.concerns import service as concerns
from app.domain.incidents.service import LONDON, ValidationFailed, local_now
from app.domain.notifications.service import release, request_hash
from app.domain.pupils import service as pupils
from app.domain.schools.service import Actor
from app.errors import NeedsVerification, NotFound
from app.db import parse_id
from app.rendering import render

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


async def form_context(actor: Actor, form: dict | None = None, errors: dict | None = None,
                       pupil_id: int | None = None) -> dict[str, Any]:
    form = dict(form or {})
    chosen = None
    pid = parse_id(form.get("pupil_id") or pupil_id)
    if pid:
        entry = (await pupils._school_index(actor.school_id)).by_id.get(pid)
        chosen = {"id": entry.id, "name": entry.display_name, "meta": entry.tutor_group} if entry else None
    return {"actor": actor, "form": form, "errors": errors or {}, "chosen": chosen, "key": str(uuid.uuid4()),
            "now": local_now().strftime("%Y-%m-%dT%H:%M")}


# A path on this site and nothing else: no scheme or host, no "//" or "\\" (which browsers read as another host),
# no query string. Letters, digits and - _ . / only: record ids are fine, pupil data never rides in the URL.
LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9/_.\-]{0,199}")


def local_path(raw: object) -> str:
    """Where to go after a step-up: a path on this site, else the home screen. An open redirect here would let
    a link in an email send a signed-in DSL anywhere from a page they trust."""
    return raw if isinstance(raw, str) and LOCAL_PATH.fullmatch(raw) else "/"


def ask_for_step_up(request: Request, exc: NeedsVerification) -> Response:
    """The "Confirm it's you" page, offering the passkey check there and then, and a way back to the record."""
    # A form sent after the check lapsed goes back to its record's page (/concerns/7/entries -> /concerns/7).
    path = request.url.path if request.method == "GET" else request.url.path.rsplit("/", 1)[0]
    return render(request, "concerns/step_up.html", {"actor": request.user, "message": exc.message,
                                                      "to": local_path(path)}, block="content", status=403)


class ConcernsController(Controller):
    path = "/concerns"
    exception_handlers = {NeedsVerification: ask_for_step_up}

    @get("/continue", name="concerns.continue")
    async def continue_to(self, actor: CurrentActor, to: FromQuery[str] = "/") -> Response:
        """After the step-up page's passkey check: on to the record it was asked for."""
        return Redirect(local_path(to), status_code=303)

    @get("/new", name="concerns.new")
    async def new(self, request: Request, actor: CurrentActor, pupil: FromQuery[int | None] = None) -> Response:
        if not concerns.can_record(actor):
            raise NotFound()
        return render(request, "concerns/new.html", await form_context(actor, pupil_id=pupil))

    @post("/", name="concerns.create")
    async def create(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        key, digest = submission_key(request, data), request_hash(request.url.path, data)
        try:
            receipt = await concerns.record_concern(actor, {k: str(v) for k, v in data.items()}, key=key,
                                                    digest=digest)
        except ValidationFailed as exc:
            await release(actor, key, digest)  # nothing was saved: the corrected entry may use the key
            context = await form_context(actor, data, exc.errors)
            context["key"] = key or context["key"]
            return render(request, "concerns/new.html", context, status=400)
        return Redirect(f"/concerns/receipt/{receipt['reference']}", status_code=303)

    @get("/receipt/{reference:str}", name="concerns.receipt")
    async def receipt(self, request: Request, actor: CurrentActor, reference: FromPath[str]) -> Response:
        row = await concerns.receipt(actor, reference)
        return render(request, "concerns/receipt.html", {"actor": actor, "receipt": row,
                                                          "at": row["recorded_at"].astimezone(LONDON)})

    @get("/", name="concerns.inbox")
    async def inbox(self, request: Request, actor: CurrentActor, settings: AppSettings) -> Response:
        return render(request, "concerns/inbox.html", {"actor": actor, "rows": await concerns.inbox(settings, actor),
                                                        "to_local": lambda d: d.astimezone(LONDON)})

    @get("/{concern_id:int}", name="concerns.view")
    async def view(self, request: Request, actor: CurrentActor, settings: AppSettings,
                   concern_id: FromPath[int]) -> Response:
        return render(request, "concerns/view.html", await self._context(settings, actor, concern_id))

    async def _context(self, settings, actor, concern_id, errors=None, form=None) -> dict[str, Any]:
        return {"actor": actor, "concern": await concerns.open_concern(settings, actor, concern_id),
                "kinds": concerns.ENTRY_KINDS, "errors": errors or {}, "form": form or {},
                "to_local": lambda d: d.astimezone(LONDON)}

    @post("/{concern_id:int}/entries", name="concerns.entry")
    async def entry(self, request: Request, actor: CurrentActor, settings: AppSettings, concern_id: FromPath[int],
                    data: Form) -> Response:
        try:
            await concerns.add_entry(settings, actor, concern_id, str(data.get("kind", "")), str(data.get("body", "")),
                                     str(data.get("reason", "")))
        except ValidationFailed as exc:
            return render(request, "concerns/view.html",
                          await self._context(settings, actor, concern_id, exc.errors, data), status=400)
        return Redirect(f"/concerns/{concern_id}", status_code=303)

    @get("/chronology/{pupil_id:int}", name="concerns.chronology")
    async def chronology(self, request: Request, actor: CurrentActor, settings: AppSettings,
                         pupil_id: FromPath[int]) -> Response:
        return render(request, "concerns/chronology.html", {
            "actor": actor, "chronology": await concerns.chronology(settings, actor, pupil_id),
            "to_local": lambda d: d.astimezone(LONDON)})
