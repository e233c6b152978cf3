"""The visit pack (issue 14, point 2): the pack as JSON for the visiting staff's phones, and the offline visit
page the service worker shows in place of a visit page when there is no signal (it holds no data: its script
reads the pack from the phone's encrypted store)."""

from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.params import FromPath

from app.controllers import CurrentActor
from app.controllers.admin import requires_role
from app.domain.home_visits import pack as packs
from app.domain.home_visits import service as visits
from app.rendering import render


class VisitPackController(Controller):
    path = "/home-visits"

    @get("/{visit_id:int}/pack", name="home_visits.pack", guards=[requires_role(*visits.PLANNERS)])
    async def pack(self, actor: CurrentActor, visit_id: FromPath[int]) -> Response:
        # no-store said here too (not only by the app-wide default): the pack goes to IndexedDB, sealed, never
        # to any cache.
        return Response(await packs.visit_pack(actor, visit_id), headers={"Cache-Control": "no-store"})

    @get("/offline", name="home_visits.offline", exclude_from_auth=True)
    async def offline(self, request: Request) -> Response:
        # Rendered without the person or any visit: the service worker precaches it.
        return render(request, "home_visits/offline.html", {"outcomes": visits.OUTCOMES})
