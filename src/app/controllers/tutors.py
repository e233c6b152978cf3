"""Form tutors (the admin's page): who tutors each form, named by the admin or matched from the MIS tutor's name."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect

from app.controllers import CurrentActor
from app.controllers.admin import requires_role
from app.domain.pupils import tutors
from app.errors import ValidationFailed
from app.rendering import render

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


class TutorsController(Controller):
    path = "/admin/tutors"
    guards = [requires_role("admin")]

    @get("/", name="tutors.index")
    async def index(self, request: Request, actor: CurrentActor, done: FromQuery[int | None] = None) -> Response:
        return render(request, "tutors/index.html", {"actor": actor, **await tutors.tutors_page(actor),
                                                     "errors": {}, "typed": {}, "done": done})

    @post("/", name="tutors.set")
    async def set(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        people = data.get("person_ids", [])
        typed = {"tutor_group_id": str(data.get("tutor_group_id", ""))[:20],
                 "person_ids": [str(p)[:20] for p in (people if isinstance(people, list) else [people])]}
        try:
            await tutors.set_tutors(actor, typed)
        except ValidationFailed as exc:
            return render(request, "tutors/index.html", {"actor": actor, **await tutors.tutors_page(actor),
                                                         "errors": exc.errors, "typed": typed, "done": None},
                          status=400)
        group = typed["tutor_group_id"]
        return Redirect(request.app.route_reverse("tutors.index") + f"?done={group}#form-{group}", status_code=303)
