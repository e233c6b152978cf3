"""The contact log: the form (offline-capable through the outbox), a pupil's recent contacts on their profile,
and one logged contact."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery

from app.controllers import CurrentActor
from app.controllers.admin import requires_role
from app.controllers.forms import save_form
from app.controllers.incidents import submission_key
from app.db import parse_id
from app.domain.contact_log import service as contact_log
from app.domain.incidents.service import LONDON, local_now
from app.domain.schools.service import Actor
from app.errors import NotFound
from app.rendering import render

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _shared() -> dict[str, Any]:
    return {"methods": contact_log.METHODS, "directions": contact_log.DIRECTIONS, "outcomes": contact_log.OUTCOMES,
            "local": lambda d: d.astimezone(LONDON)}


async def _form_context(actor: Actor, pupil_id: int | None, form: dict[str, str], errors: dict | None = None,
                        key: str | None = None) -> dict[str, Any]:
    pupil = await contact_log.visible_pupil(actor, pupil_id)
    return {"actor": actor, "pupil": pupil, "contacts": await contact_log.family_contacts(pupil["id"]) if pupil else [],
            "form": form, "errors": errors or {}, "key": key or str(uuid.uuid4()),
            "now": local_now().strftime("%Y-%m-%dT%H:%M"), **_shared()}


class ContactLogController(Controller):
    path = "/contact-log"
    guards = [requires_role(*contact_log.USERS)]

    @get("/new", name="contact_log.new")
    async def new(self, request: Request, actor: CurrentActor, pupil: FromQuery[int | None] = None,
                  contact: FromQuery[str | None] = None, method: FromQuery[str | None] = None) -> Response:
        """The form, with the contact and method filled in when the profile's link (or a call just made) says."""
        form = {"contact_id": str(parse_id(contact) or ("agency" if contact == "agency" else "")),
                "method": method if method in contact_log.METHODS else "phone", "direction": "out"}
        context = await _form_context(actor, parse_id(pupil), form)
        if context["pupil"] is None:
            raise NotFound(contact_log.HIDDEN)
        if not form["contact_id"]:
            # One family contact who may be contacted: choose them already (one tap fewer from the profile).
            allowed = [c for c in context["contacts"] if not c["no_contact"]]
            if len(allowed) == 1:
                form["contact_id"] = str(allowed[0]["id"])
        return render(request, "contact_log/new.html", context)

    @post("/", name="contact_log.create")
    async def create(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        key, typed = submission_key(request, data), {k: str(v) for k, v in data.items()}

        async def again(errors: dict[str, str], key: str | None) -> Response:
            context = await _form_context(actor, parse_id(typed.get("pupil_id")), typed, errors, key)
            return render(request, "contact_log/new.html", context, status=400)

        return await save_form(request, actor, data, key, partial(contact_log.log_contact, actor, typed), again,
                               lambda made: f"/pupils/{made['pupil_id']}#contact-log")

    @get("/pupil/{pupil_id:int}", name="contact_log.pupil")
    async def pupil(self, request: Request, actor: CurrentActor, pupil_id: FromPath[int]) -> Response:
        """The recent contacts on a pupil's profile, with "Log contact"."""
        return render(request, "contact_log/_recent.html", {"actor": actor,
                                                             **await contact_log.for_pupil(actor, pupil_id),
                                                             **_shared()})

    @get("/{log_id:int}", name="contact_log.view")
    async def view(self, request: Request, actor: CurrentActor, log_id: FromPath[int]) -> Response:
        return render(request, "contact_log/view.html", {"actor": actor, **await contact_log.open_log(actor, log_id),
                                                          **_shared()})
