"""Import from the MIS (admins): upload, check the dry-run preview, apply, see what was done."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect

from app.controllers import CurrentActor
from app.controllers.admin import requires_role
from app.domain.imports import service as imports
from app.controllers.school_settings import NEW_SCHOOL_DEFAULTS
from app.domain.imports.formats import MAX_UPLOAD_BYTES
from app.domain.schools import service as schools
from app.errors import BadRequest
from app.rendering import render

Multipart = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]
Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def confirmed_leavers(value: Any) -> dict[int, int]:
    """The ticked confirmations, each "school id:number of pupils marked as left"; anything else is ignored."""
    out: dict[int, int] = {}
    for item in value if isinstance(value, list) else [value]:
        school, _, count = str(item or "").partition(":")
        if school.isdigit() and count.isdigit():
            out[int(school)] = int(count)
    return out


async def _file(value: Any) -> tuple[str, bytes]:
    if isinstance(value, UploadFile):
        try:
            if value.filename:
                return value.filename, await value.read()
        finally:
            await value.close()
    return "", b""


class ImportsController(Controller):
    path = "/admin/import"
    guards = [requires_role("admin")]

    @get("/", name="imports.start")
    async def start(self, request: Request, actor: CurrentActor) -> Response:
        return render(request, "imports/upload.html", {"actor": actor, "error": "", "delta": False,
                                                        "trust_wide": await schools.is_trust_admin(actor)})

    # A little over the files' own limit, for the multipart framing; the service checks the files themselves.
    @post("/", name="imports.upload", request_max_body_size=MAX_UPLOAD_BYTES + 1024 * 1024)
    async def upload(self, request: Request, actor: CurrentActor, data: Multipart) -> Response:
        filename, content = await _file(data.get("file"))
        photos_filename, photos = await _file(data.get("photos"))
        delta = data.get("mode") == "delta"
        try:
            key = await imports.store_upload(actor, imports.Upload(
                filename=filename, data=content, photos_filename=photos_filename, photos=photos or None, delta=delta))
        except BadRequest as exc:
            return render(request, "imports/upload.html", {"actor": actor, "error": exc.message, "delta": delta,
                                                            "trust_wide": await schools.is_trust_admin(actor)},
                          status=400)
        return Redirect(request.app.route_reverse("imports.preview", key=key), status_code=303)

    @get("/{key:str}", name="imports.preview")
    async def preview(self, request: Request, actor: CurrentActor, key: FromPath[str]) -> Response:
        plan = await imports.preview(actor, key)
        if plan.applied_at is not None:
            return Redirect(request.app.route_reverse("imports.result", key=key), status_code=303)
        return render(request, "imports/preview.html", {"actor": actor, "plan": plan, "error": ""})

    @post("/{key:str}/apply", name="imports.apply")
    async def apply(self, request: Request, actor: CurrentActor, key: FromPath[str], data: Form) -> Response:
        try:
            await imports.apply(actor, key, confirm_left=confirmed_leavers(data.get("confirm_left")),
                                prepare=NEW_SCHOOL_DEFAULTS)
        except imports.LeaversUnconfirmed as exc:
            # Nothing was changed: the preview again, saying why.
            plan = await imports.preview(actor, key)
            return render(request, "imports/preview.html", {"actor": actor, "plan": plan, "error": exc.message},
                          status=400)
        return Redirect(request.app.route_reverse("imports.result", key=key), status_code=303)

    @get("/{key:str}/result", name="imports.result")
    async def result(self, request: Request, actor: CurrentActor, key: FromPath[str]) -> Response:
        return render(request, "imports/result.html", {"actor": actor, "done": await imports.result(actor, key)})
