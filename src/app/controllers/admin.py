"""Admin: invite staff, set roles per school, disable, issue new enrolment links, read the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.handlers import BaseRouteHandler
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect

from app.controllers import AppSettings, CurrentActor
from app.db import parse_id
from app.domain.accounts import service as accounts
from app.domain.audit import service as audit
from app.domain.home_visits import service as home_visits
from app.domain.schools import service as schools
from app.domain.schools.service import ROLES, Actor
from app.errors import BadRequest
from app.rendering import render

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def requires_role(*roles: str):
    """A controller guard: the actor needs one of these roles at their current school (else 404)."""

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        actor = connection.user
        if not isinstance(actor, Actor) or not actor.has(*roles):
            raise NotFoundException()

    return guard


def form_roles(data: dict[str, Any]) -> list[str]:
    roles = data.get("roles", [])
    return [roles] if isinstance(roles, str) else list(roles)


class AdminController(Controller):
    path = "/admin"
    guards = [requires_role("admin")]

    @get("/people", name="admin.people")
    async def people(self, request: Request, actor: CurrentActor) -> Response:
        return render(request, "admin/people.html", {
            "actor": actor, "people": await schools.list_people(actor), "roles": ROLES, "form": {}, "error": ""})

    @post("/people", name="admin.invite")
    async def invite(self, request: Request, actor: CurrentActor, settings: AppSettings, data: Form) -> Response:
        try:
            person_id = await schools.add_person(
                email=str(data.get("email", "")), display_name=str(data.get("display_name", "")),
                school_id=actor.school_id, roles=form_roles(data), actor=actor, origin=actor.origin)
        except BadRequest as exc:
            # Validation is not an exception to the person: show the form again with what they typed.
            return render(request, "admin/people.html", {
                "actor": actor, "people": await schools.list_people(actor), "roles": ROLES,
                "form": {**data, "roles": form_roles(data)}, "error": exc.message}, status=400)
        if not await schools.manages_whole_person(actor, person_id):
            # A colleague from another school of the trust keeps their own passkeys: they get roles here, and
            # no link, which would let this school's admin sign in as them.
            person = await schools.visible_person(actor, person_id)
            return render(request, "admin/people.html", {
                "actor": actor, "people": await schools.list_people(actor), "roles": ROLES, "form": {}, "error": "",
                "notice": f"{person['display_name']} already has a Corridor account at another school of the trust. "
                          "They now have roles here too, and sign in with the passkey they already have."})
        link = await accounts.issue_enrolment(settings, person_id, by=actor, origin=actor.origin)
        return await self._show_link(request, actor, person_id, link)

    @get("/people/bulk", name="admin.bulk")
    async def bulk(self, request: Request, actor: CurrentActor) -> Response:
        return await self._bulk_page(request, actor)

    @post("/people/bulk/preview", name="admin.bulk_preview")
    async def bulk_preview(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        plan = await schools.plan_invites(actor, str(data.get("lines", "")))
        bad = bool(plan.problems or plan.faulty)
        return await self._bulk_page(request, actor, plan=plan, status=400 if bad else 200)

    @post("/people/bulk", name="admin.bulk_invite")
    async def bulk_invite(self, request: Request, actor: CurrentActor, settings: AppSettings, data: Form) -> Response:
        expected = parse_id(data.get("count"))
        try:
            invited = await accounts.invite_people(settings, actor, str(data.get("lines", "")), expected=expected)
        except schools.InvitesInvalid as exc:
            return await self._bulk_page(request, actor, plan=exc.plan, error=exc.message, status=400)
        return render(request, "admin/invited.html", {"actor": actor, "invited": invited})

    @post("/people/bulk/mis", name="admin.bulk_mis")
    async def bulk_mis(self, request: Request, actor: CurrentActor, settings: AppSettings, data: Form) -> Response:
        ticked = data.get("person", [])
        ticked = [ticked] if isinstance(ticked, str) else list(ticked)
        choices = [(str(p), str(data.get(f"role-{p}", "staff"))) for p in ticked]
        try:
            invited = await accounts.invite_from_mis(settings, actor, choices)
        except accounts.MisInvitesInvalid as exc:
            return await self._bulk_page(request, actor, mis_error=exc.message, ticked=set(ticked), status=400)
        return render(request, "admin/invited.html", {"actor": actor, "invited": invited})

    async def _bulk_page(self, request: Request, actor: Actor, *, plan: schools.InvitePlan | None = None,
                         error: str = "", mis_error: str = "", ticked: set[str] | None = None,
                         status: int = 200) -> Response:
        return render(request, "admin/bulk.html", {
            "actor": actor, "plan": plan, "error": error, "mis_error": mis_error, "roles": ROLES,
            "mis_roles": accounts.MIS_ROLES, "uninvited": await accounts.uninvited_staff(actor), "ticked": ticked,
            "max_people": schools.BULK_INVITE_MAX}, status=status)

    @get("/people/{person_id:int}", name="admin.person")
    async def person(self, request: Request, actor: CurrentActor, person_id: FromPath[int]) -> Response:
        person = await schools.visible_person(actor, person_id)
        return render(request, "admin/person.html", {
            "actor": actor, "person": person, "roles": ROLES,
            "current": await schools.roles_at(person_id, actor.school_id), "error": "",
            "years": await schools.years_led(person_id, actor.school_id),
            "whole": await schools.manages_whole_person(actor, person_id)})

    @post("/people/{person_id:int}/roles", name="admin.set_roles")
    async def set_roles(self, request: Request, actor: CurrentActor, person_id: FromPath[int], data: Form) -> Response:
        try:
            await schools.set_roles(actor, person_id, form_roles(data), str(data.get("years", "")))
        except BadRequest as exc:
            person = await schools.visible_person(actor, person_id)
            return render(request, "admin/person.html", {
                "actor": actor, "person": person, "roles": ROLES, "current": set(form_roles(data)),
                "error": exc.message, "years": str(data.get("years", "")),
                "whole": await schools.manages_whole_person(actor, person_id)}, status=400)
        return Redirect(f"/admin/people/{person_id}", status_code=303)

    @post("/people/{person_id:int}/remove", name="admin.remove")
    async def remove(self, actor: CurrentActor, person_id: FromPath[int]) -> Response:
        await schools.remove_from_school(actor, person_id)
        return Redirect("/admin/people", status_code=303)

    @post("/people/{person_id:int}/disable", name="admin.disable")
    async def disable(self, actor: CurrentActor, person_id: FromPath[int], data: Form) -> Response:
        await schools.disable_person(actor, person_id, str(data.get("reason", "")))
        return Redirect(f"/admin/people/{person_id}", status_code=303)

    @post("/people/{person_id:int}/enable", name="admin.enable")
    async def enable(self, actor: CurrentActor, person_id: FromPath[int]) -> Response:
        await schools.enable_person(actor, person_id)
        return Redirect(f"/admin/people/{person_id}", status_code=303)

    @post("/people/{person_id:int}/link", name="admin.new_link")
    async def new_link(self, request: Request, actor: CurrentActor, settings: AppSettings, person_id: FromPath[int]) -> Response:
        await schools.visible_person(actor, person_id)
        link = await accounts.issue_enrolment(settings, person_id, by=actor, origin=actor.origin)
        return await self._show_link(request, actor, person_id, link)

    async def _show_link(self, request: Request, actor: CurrentActor, person_id: FromPath[int], link: str) -> Response:
        # The link is shown once and never stored in clear; the page is no-store like every page.
        person = await schools.visible_person(actor, person_id)
        return render(request, "admin/link.html", {"actor": actor, "person": person, "link": link})

    @get("/audit", name="admin.audit")
    async def audit_log(self, request: Request, actor: CurrentActor, before: FromQuery[int | None] = None) -> Response:
        events = await audit.list_events(actor, before_id=before)
        # Older pages run from the last entry read, shown or not (a duress check-out's trail may be left out).
        older = events[-1]["id"] if len(events) == 200 else None
        events = await home_visits.audit_as_seen_by(actor, events)
        return render(request, "admin/audit.html", {"actor": actor, "events": events, "older": older},
                      block="events")
