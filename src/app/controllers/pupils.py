"""Pupil lookup (search as you type; the term travels in a POST body, never the URL) and the profile."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect

from app.controllers import CurrentActor
from app.domain.pupils import service as pupils
from app.rendering import render

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


class PupilsController(Controller):
    path = "/pupils"

    @get("/", name="pupils.lookup")
    async def lookup(self, request: Request, actor: CurrentActor) -> Response:
        return render(request, "pupils/lookup.html", {
            "actor": actor, "query": "", "include_left": False, "results": None,
            "recent": await pupils.recently_viewed(actor)})

    @post("/search", name="pupils.search", status_code=200)
    async def search(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        query = str(data.get("q", ""))
        include_left = data.get("include_left") == "on"
        results = await pupils.search(actor, query, include_left=include_left)
        return render(request, "pupils/lookup.html", {
            "actor": actor, "query": query, "include_left": include_left, "results": results,
            "recent": [] if query.strip() else await pupils.recently_viewed(actor)}, block="results")

    @get("/{pupil_id:int}", name="pupils.profile")
    async def profile(self, request: Request, actor: CurrentActor, pupil_id: FromPath[int]) -> Response:
        return render(request, "pupils/profile.html", {"actor": actor, "pupil": await pupils.open_profile(actor, pupil_id)})

    @post("/{pupil_id:int}/safeguarding", name="pupils.safeguarding")
    async def safeguarding(self, actor: CurrentActor, pupil_id: FromPath[int], data: Form) -> Response:
        await pupils.set_safeguarding_flags(actor, pupil_id, {k: str(v) for k, v in data.items()})
        return Redirect(f"/pupils/{pupil_id}", status_code=303)

    @get("/{pupil_id:int}/photo", name="pupils.photo", skip_compression=True)
    async def photo(self, actor: CurrentActor, pupil_id: FromPath[int], size: FromQuery[str] = "full") -> Response:
        data = await pupils.photo(actor, pupil_id, thumb=size == "thumb")
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})
