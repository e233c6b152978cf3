"""Retention: the admin's page of retention periods, and the DSL team's legal hold on a pupil (a panel on the
profile and a page to set or lift it)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect

from app.controllers import CurrentActor
from app.controllers.admin import requires_role
from app.domain.retention import service as retention
from app.errors import ValidationFailed
from app.rendering import render

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _typed(data: dict[str, Any]) -> dict[str, str]:
    """What the admin typed, to show again with the messages."""
    names = [f"{k.key}_{part}" for k in retention.KINDS for part in ("basis", "years")]
    return {name: str(data.get(name, ""))[:10] for name in names}


class RetentionPolicyController(Controller):
    path = "/admin/retention"
    guards = [requires_role("admin")]

    async def _page(self, request: Request, actor, *, errors: dict | None = None, typed: dict | None = None,
                    saved: str = "", status: int = 200) -> Response:
        kinds = await retention.policy_for_admin(actor)
        shown = typed or {**{f"{k['kind'].key}_basis": k["rule"].basis for k in kinds},
                          **{f"{k['kind'].key}_years": str(k["rule"].years) for k in kinds}}
        return render(request, "retention/policy.html", {
            "actor": actor, "kinds": kinds, "shown": shown, "errors": errors or {}, "saved": saved == "1",
            "system": retention.SYSTEM_KINDS}, status=status)

    @get("/", name="retention.policy")
    async def policy(self, request: Request, actor: CurrentActor, saved: FromQuery[str] = "") -> Response:
        return await self._page(request, actor, saved=saved)

    @post("/", name="retention.save_policy")
    async def save_policy(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        try:
            await retention.set_policy(actor, data)
        except ValidationFailed as exc:
            return await self._page(request, actor, errors=exc.errors, typed=_typed(data), status=400)
        return Redirect(request.app.route_reverse("retention.policy") + "?saved=1", status_code=303)


class LegalHoldController(Controller):
    """For the DSL team; anyone else (and any pupil of another school) gets 404 from the service."""

    path = "/retention/hold"

    async def _page(self, request: Request, actor, pupil_id: int, *, errors: dict | None = None,
                    typed: dict | None = None, status: int = 200) -> Response:
        return render(request, "retention/hold.html", {
            "actor": actor, "h": await retention.holds_of(actor, pupil_id), "errors": errors or {},
            "typed": typed or {}}, status=status, headers={"Cache-Control": "no-store"})

    @get("/{pupil_id:int}", name="retention.hold")
    async def hold(self, request: Request, actor: CurrentActor, pupil_id: FromPath[int]) -> Response:
        return await self._page(request, actor, pupil_id)

    @get("/{pupil_id:int}/panel", name="retention.hold_panel")
    async def panel(self, request: Request, actor: CurrentActor, pupil_id: FromPath[int]) -> Response:
        """The Legal hold panel of a pupil's profile."""
        return render(request, "retention/_panel.html", {"actor": actor,
                                                          "h": await retention.holds_of(actor, pupil_id)},
                      headers={"Cache-Control": "no-store"})

    @post("/{pupil_id:int}", name="retention.set_hold")
    async def set_hold(self, request: Request, actor: CurrentActor, pupil_id: FromPath[int], data: Form) -> Response:
        try:
            await retention.set_hold(actor, pupil_id, data.get("reason"))
        except ValidationFailed as exc:
            return await self._page(request, actor, pupil_id, errors=exc.errors,
                                    typed={"reason": str(data.get("reason", ""))[:1000]}, status=400)
        return Redirect(request.app.route_reverse("retention.hold", pupil_id=pupil_id), status_code=303)

    @post("/{pupil_id:int}/lift", name="retention.lift_hold")
    async def lift_hold(self, request: Request, actor: CurrentActor, pupil_id: FromPath[int],
                        data: Form) -> Response:
        try:
            await retention.lift_hold(actor, pupil_id, data.get("lift_reason"))
        except ValidationFailed as exc:
            return await self._page(request, actor, pupil_id, errors=exc.errors,
                                    typed={"lift_reason": str(data.get("lift_reason", ""))[:1000]}, status=400)
        return Redirect(request.app.route_reverse("retention.hold", pupil_id=pupil_id), status_code=303)
