"""Attendance: the admin's import of register marks (upload, dry-run preview, apply, result), the school's bands,
and the Attendance panel of a pupil's profile."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect

from app.controllers import CurrentActor
from app.controllers.admin import requires_role
from app.domain.attendance import service as attendance
from app.domain.imports.formats import MAX_UPLOAD_BYTES
from app.errors import BadRequest, ValidationFailed
from app.rendering import render

Multipart = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]
Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
BAND_FIELDS = ("expected_from", "persistent_below", "severe_at_or_below")


async def _file(value: Any) -> tuple[str, bytes]:
    if isinstance(value, UploadFile):
        try:
            if value.filename:
                return value.filename, await value.read()
        finally:
            await value.close()
    return "", b""


class AttendanceImportController(Controller):
    path = "/admin/attendance"
    guards = [requires_role("admin")]

    async def _start(self, request: Request, actor, *, error: str = "", errors: dict | None = None,
                     bands: dict | None = None, done: str = "", status: int = 200) -> Response:
        saved = await attendance.bands_for_admin(actor)
        shown = bands or {k: f"{saved[k]:g}" for k in BAND_FIELDS}
        return render(request, "attendance/import.html", {
            "actor": actor, "upload_error": error, "errors": errors or {}, "bands": shown,
            "done": done if done == "bands" else ""}, status=status)

    @get("/", name="attendance.import_start")
    async def start(self, request: Request, actor: CurrentActor, done: FromQuery[str] = "") -> Response:
        return await self._start(request, actor, done=done)

    # A little over the file's own limit, for the multipart framing; the service checks the file itself.
    @post("/", name="attendance.upload", request_max_body_size=MAX_UPLOAD_BYTES + 1024 * 1024)
    async def upload(self, request: Request, actor: CurrentActor, data: Multipart) -> Response:
        filename, content = await _file(data.get("file"))
        try:
            key = await attendance.store_upload(actor, filename, content)
        except BadRequest as exc:
            return await self._start(request, actor, error=exc.message, status=400)
        return Redirect(request.app.route_reverse("attendance.preview", key=key), status_code=303)

    @post("/bands", name="attendance.bands")
    async def bands(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        try:
            await attendance.set_bands(actor, data)
        except ValidationFailed as exc:
            typed = {k: str(data.get(k, ""))[:20] for k in BAND_FIELDS}
            return await self._start(request, actor, errors=exc.errors, bands=typed, status=400)
        return Redirect(request.app.route_reverse("attendance.import_start") + "?done=bands", status_code=303)

    @get("/{key:str}", name="attendance.preview")
    async def preview(self, request: Request, actor: CurrentActor, key: FromPath[str]) -> Response:
        plan = await attendance.preview(actor, key)
        if plan.applied_at is not None:
            return Redirect(request.app.route_reverse("attendance.result", key=key), status_code=303)
        return render(request, "attendance/preview.html", {"actor": actor, "plan": plan})

    @post("/{key:str}/apply", name="attendance.apply")
    async def apply(self, request: Request, actor: CurrentActor, key: FromPath[str]) -> Response:
        await attendance.apply(actor, key)
        return Redirect(request.app.route_reverse("attendance.result", key=key), status_code=303)

    @get("/{key:str}/result", name="attendance.result")
    async def result(self, request: Request, actor: CurrentActor, key: FromPath[str]) -> Response:
        return render(request, "attendance/result.html", {"actor": actor, "done": await attendance.result(actor, key)})


class AttendanceController(Controller):
    path = "/attendance"

    @get("/pupil/{pupil_id:int}", name="attendance.panel")
    async def panel(self, request: Request, actor: CurrentActor, pupil_id: FromPath[int]) -> Response:
        """The Attendance panel of a pupil's profile (pastoral, heads of year for their years, the DSL team)."""
        return render(request, "attendance/_panel.html",
                      {"actor": actor, "a": await attendance.pupil_attendance(actor, pupil_id)})
