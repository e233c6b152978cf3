"""The school's own details (name, URN, LAESTAB) for its admin, and further schools of the trust for a trust admin."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect

from app.controllers import CurrentActor
from app.controllers.admin import requires_role
from app.domain.incidents.service import ensure_defaults as incident_defaults
from app.domain.oncall.service import ensure_defaults as oncall_defaults
from app.domain.schools import service as schools
from app.domain.schools.service import Actor, SchoolDetailsInvalid
from app.rendering import render

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]

# What a new school starts with, wired here (set-up code) so the schools service imports no feature above it.
NEW_SCHOOL_DEFAULTS = (incident_defaults, oncall_defaults)


def laestab_of(school: dict) -> str:
    return f"{school['la_code']}{school['establishment_number']}"


def fields(data: dict[str, Any]) -> dict[str, str]:
    return {"name": str(data.get("name", "")), "urn": str(data.get("urn", "")), "laestab": str(data.get("laestab", ""))}


class SchoolSettingsController(Controller):
    path = "/admin/school"
    guards = [requires_role("admin")]

    async def _page(self, request: Request, actor: Actor, *, form: dict | None = None, errors: dict | None = None,
                    new_form: dict | None = None, new_errors: dict | None = None, done: str = "",
                    status: int = 200) -> Response:
        school = await schools.school_details(actor)
        return render(request, "admin/school.html", {
            "actor": actor, "school": school, "errors": errors or {}, "new_errors": new_errors or {},
            "form": form or {"name": school["name"], "urn": school["urn"] or "", "laestab": laestab_of(school)},
            "new_form": new_form or {}, "trust_schools": await schools.trust_schools(actor),
            "done": done if done in ("saved", "added") else ""}, status=status)

    @get("/", name="school_settings.index")
    async def index(self, request: Request, actor: CurrentActor, done: FromQuery[str] = "") -> Response:
        return await self._page(request, actor, done=done)

    @post("/", name="school_settings.update")
    async def update(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        try:
            await schools.update_school(actor, **fields(data))
        except SchoolDetailsInvalid as exc:
            return await self._page(request, actor, form=fields(data), errors=exc.errors, status=400)
        return Redirect("/admin/school/?done=saved", status_code=303)

    @post("/new", name="school_settings.add")
    async def add(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        try:
            await schools.add_school(actor, **fields(data), prepare=NEW_SCHOOL_DEFAULTS)
        except SchoolDetailsInvalid as exc:
            return await self._page(request, actor, new_form=fields(data), new_errors=exc.errors, status=400)
        return Redirect("/admin/school/?done=added", status_code=303)
