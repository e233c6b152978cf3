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
from app.domain.imports.formats import MAX_UPLOAD_BYTES
from app.errors import BadRequest
from app.rendering import render

Multipart = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]


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
        return render(request, "imports/upload.html", {"actor": actor, "error": "", "delta": False})

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
            return render(request, "imports/upload.html", {"actor": actor, "error": exc.message, "delta": delta},
                          status=400)
        return Redirect(request.app.route_reverse("imports.preview", key=key), status_code=303)

    @get("/{key:str}", name="imports.preview")
    async def preview(self, request: Request, actor: CurrentActor, key: FromPath[str]) -> Response:
        plan = await imports.preview(actor, key)
        if plan.applied_at is not None:
            return Redirect(request.app.route_reverse("imports.result", key=key), status_code=303)
        return render(request, "imports/preview.html", {"actor": actor, "plan": plan})

    @post("/{key:str}/apply", name="imports.apply")
    async def apply(self, request: Request, actor: CurrentActor, key: FromPath[str]) -> Response:
        await imports.apply(actor, key)
        return Redirect(request.app.route_reverse("imports.result", key=key), status_code=303)

    @get("/{key:str}/result", name="imports.result")
    async def result(self, request: Request, actor: CurrentActor, key: FromPath[str]) -> Response:
        return render(request, "imports/result.html", {"actor": actor, "done": await imports.result(actor, key)})
