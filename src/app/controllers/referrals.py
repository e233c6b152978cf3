"""Referrals to outside services (pastoral, heads of year, the DSL team) and the admin's list of services."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect

from app.controllers import CurrentActor
from app.controllers.admin import requires_role
from app.controllers.forms import save_form
from app.controllers.incidents import submission_key
from app.db import parse_id
from app.domain.incidents.service import ValidationFailed
from app.domain.referrals import service as referrals
from app.domain.schools.service import Actor
from app.errors import NotFound
from app.rendering import render

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _text(data: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in data.items()}


def _shared() -> dict[str, Any]:
    return {"states": referrals.STATES, "actions": referrals.ACTIONS, "consent_how": referrals.CONSENT_HOW,
            "local": lambda d: d.astimezone(referrals.LONDON), "today": referrals.today().isoformat()}


async def _form_context(actor: Actor, pupil_id: int | None, form: dict | None = None,
                        errors: dict | None = None, key: str | None = None) -> dict[str, Any]:
    return {"actor": actor, "pupil": await referrals.visible_pupil(actor, pupil_id),
            "services": await referrals.services(actor.school_id), "form": form or {}, "errors": errors or {},
            "key": key or str(uuid.uuid4()), **_shared()}


class ReferralsController(Controller):
    path = "/referrals"
    guards = [requires_role(*referrals.USERS)]

    @get("/", name="referrals.index")
    async def index(self, request: Request, actor: CurrentActor) -> Response:
        return render(request, "referrals/index.html", {
            "actor": actor, "rows": await referrals.open_referrals(actor),
            "chase_count": len(await referrals.to_chase(actor)), **_shared()})

    @get("/chase", name="referrals.chase")
    async def chase(self, request: Request, actor: CurrentActor) -> Response:
        return render(request, "referrals/chase.html", {
            "actor": actor, "rows": await referrals.to_chase(actor),
            "days": await referrals.chase_after_days(actor.school_id), **_shared()})

    @get("/pupil/{pupil_id:int}", name="referrals.pupil")
    async def pupil(self, request: Request, actor: CurrentActor, pupil_id: FromPath[int]) -> Response:
        return render(request, "referrals/pupil.html", {"actor": actor, **await referrals.for_pupil(actor, pupil_id),
                                                         **_shared()})

    @get("/new", name="referrals.new")
    async def new(self, request: Request, actor: CurrentActor, pupil: FromQuery[int | None] = None) -> Response:
        context = await _form_context(actor, parse_id(pupil))
        if context["pupil"] is None:
            raise NotFound(referrals.HIDDEN)
        return render(request, "referrals/new.html", context)

    @post("/", name="referrals.create")
    async def create(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        async def again(errors: dict[str, str], key: str | None) -> Response:
            context = await _form_context(actor, parse_id(data.get("pupil_id")), _text(data), errors, key)
            return render(request, "referrals/new.html", context, status=400)

        return await save_form(request, actor, data, submission_key(request, data),
                               partial(referrals.create_referral, actor, _text(data)), again,
                               lambda made: f"/referrals/{made['id']}")

    async def _view(self, request: Request, actor: Actor, referral_id: int, *, errors: dict | None = None,
                    form: dict | None = None, status: int = 200) -> Response:
        referral = await referrals.open_referral(actor, referral_id)
        return render(request, "referrals/view.html", {
            "actor": actor, "referral": referral, "errors": errors or {}, "form": form or {}, **_shared()},
            status=status)

    @get("/{referral_id:int}", name="referrals.view")
    async def view(self, request: Request, actor: CurrentActor, referral_id: FromPath[int]) -> Response:
        return await self._view(request, actor, referral_id)

    @post("/{referral_id:int}/move", name="referrals.move")
    async def move(self, request: Request, actor: CurrentActor, referral_id: FromPath[int], data: Form) -> Response:
        try:
            await referrals.move(actor, referral_id, str(data.get("to_state", "")), str(data.get("note", "")),
                                 str(data.get("from_state", "")))
        except ValidationFailed as exc:
            return await self._view(request, actor, referral_id, errors=exc.errors, form=_text(data), status=400)
        return Redirect(f"/referrals/{referral_id}", status_code=303)

    @post("/{referral_id:int}/consent", name="referrals.consent")
    async def consent(self, request: Request, actor: CurrentActor, referral_id: FromPath[int],
                      data: Form) -> Response:
        try:
            await referrals.record_consent(actor, referral_id, _text(data))
        except ValidationFailed as exc:
            return await self._view(request, actor, referral_id, errors=exc.errors,
                                    form={**_text(data), "consent_form": "1"}, status=400)
        return Redirect(f"/referrals/{referral_id}", status_code=303)


class ReferralSettingsController(Controller):
    path = "/admin/referrals"
    guards = [requires_role("admin")]

    async def _page(self, request: Request, actor: Actor, *, errors: dict | None = None, form: dict | None = None,
                    editing: int | None = None, status: int = 200) -> Response:
        return render(request, "referrals/admin.html", {
            "actor": actor, "services": await referrals.services(actor.school_id, retired=True),
            "days": await referrals.chase_after_days(actor.school_id), "errors": errors or {}, "form": form or {},
            "editing": editing}, status=status)

    @get("/", name="referral_settings.index")
    async def index(self, request: Request, actor: CurrentActor) -> Response:
        return await self._page(request, actor)

    @post("/services", name="referral_settings.add")
    async def add(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        try:
            await referrals.add_service(actor, str(data.get("name", "")))
        except ValidationFailed as exc:
            return await self._page(request, actor, errors=exc.errors, form=_text(data), status=400)
        return Redirect("/admin/referrals/", status_code=303)

    @post("/services/{service_id:int}", name="referral_settings.rename")
    async def rename(self, request: Request, actor: CurrentActor, service_id: FromPath[int], data: Form) -> Response:
        try:
            await referrals.rename_service(actor, service_id, str(data.get("name", "")))
        except ValidationFailed as exc:
            return await self._page(request, actor, errors=exc.errors, form=_text(data), editing=service_id,
                                    status=400)
        return Redirect("/admin/referrals/", status_code=303)

    @post("/services/{service_id:int}/retire", name="referral_settings.retire")
    async def retire(self, actor: CurrentActor, service_id: FromPath[int]) -> Response:
        await referrals.retire_service(actor, service_id)
        return Redirect("/admin/referrals/", status_code=303)

    @post("/settings", name="referral_settings.update")
    async def update(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        try:
            await referrals.set_chase_after_days(actor, str(data.get("chase_after_days", "")))
        except ValidationFailed as exc:
            return await self._page(request, actor, errors=exc.errors, form=_text(data), status=400)
        return Redirect("/admin/referrals/", status_code=303)
