"""Quick entry of incidents and rewards, the follow-up list, an incident's page, and school settings."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect

from app.controllers import CurrentActor
from app.domain.incidents import service as incidents
from app.domain.incidents.service import IncidentForm, ValidationFailed
from app.domain.notifications.service import clean_key, release, request_hash, require_maker
from app.domain.physical_intervention import service as physical_intervention
from app.domain.pupils import service as pupils
from app.domain.rewards import service as reward_totals
from app.domain.schools.service import Actor
from app.errors import BadRequest, NotFound
from app.db import parse_id
from app.rendering import render

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def submission_key(request: Request, data: dict[str, Any]) -> str | None:
    """The idempotency key the page minted: the Idempotency-Key header (the outbox) or the form field."""
    # The page names who made the entry; the outbox replays it with that name (docs/offline.md).
    require_maker(request.user, request.headers.get("x-corridor-person") or str(data.get("_person") or ""))
    return clean_key(request.headers.get("idempotency-key") or data.get("idempotency_key"))


async def quick_entry_context(actor: Actor, form: IncidentForm | None = None, errors: dict | None = None,
                              logged: int | None = None, undone: bool = False,
                              refused: str = "") -> dict[str, Any]:
    cats = await incidents.categories(actor.school_id)
    form = form or IncidentForm()
    chosen = []
    if form.pupil_ids:
        index = (await pupils._school_index(actor.school_id)).by_id
        for i, pid in enumerate(form.pupil_ids):
            entry = index.get(parse_id(pid))
            if entry:
                chosen.append({"id": entry.id, "name": entry.display_name, "meta": entry.tutor_group,
                               "role": form.roles[i] if i < len(form.roles) else "involved",
                               "category": form.pupil_categories[i] if i < len(form.pupil_categories) else ""})
    last = await incidents.last_location(actor)
    return {
        "actor": actor, "form": form, "errors": errors or {}, "chosen": chosen,
        "negative": [c for c in cats if c["kind"] == "negative"], "positive": [c for c in cats if c["kind"] == "positive"],
        "parts": [c for c in cats if c["kind"] == "neutral"],
        "locations": await incidents.locations(actor.school_id),
        "location_id": form.location_id or (str(last) if last else ""),
        "now": incidents.local_now().strftime("%Y-%m-%dT%H:%M"), "roles": incidents.PUPIL_ROLES,
        "today": await incidents.logged_today(actor), "recent": await pupils.recently_viewed(actor),
        "key": str(uuid.uuid4()), "note_limit": incidents.NOTE_LIMIT,
        "logged": await incidents.logged_summary(actor, logged) if logged else None, "undone": undone,
        "refused": refused,
    }


class IncidentsController(Controller):
    path = "/incidents"

    @get("/new", name="incidents.new")
    async def new(self, request: Request, actor: CurrentActor, logged: FromQuery[int | None] = None,
                  pupil: FromQuery[int | None] = None, oncall: FromQuery[int | None] = None,
                  undone: FromQuery[int | None] = None, location: FromQuery[int | None] = None) -> Response:
        if not incidents.can_log(actor):
            raise NotFound()
        form = IncidentForm(pupil_ids=[str(pupil)], roles=["instigator"], oncall_id=str(oncall or "")) if pupil else None
        if location:
            # After an on-call request that named no pupil: its room is Where (another school's room matches nothing).
            form = form or IncidentForm(oncall_id=str(oncall or ""))
            form.location_id = str(location)
        return render(request, "incidents/new.html",
                      await quick_entry_context(actor, form, logged=logged, undone=bool(undone)))

    @post("/{incident_id:int}/undo", name="incidents.undo")
    async def undo(self, request: Request, actor: CurrentActor, incident_id: FromPath[int]) -> Response:
        try:
            await incidents.undo_incident(actor, incident_id)
        except incidents.TooLateToUndo as exc:
            context = await quick_entry_context(actor, logged=incident_id, refused=exc.message)
            return render(request, "incidents/new.html", context, status=409)
        return Redirect("/incidents/new?undone=1", status_code=303)

    @post("/pick", name="incidents.pick", status_code=200)
    async def pick(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        results = await pupils.search(actor, str(data.get("q", "")))
        return render(request, "incidents/_pick.html", {"results": results, "actor": actor})

    @post("/", name="incidents.create")
    async def create(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        form = IncidentForm(
            pupil_ids=as_list(data.get("pupil_id")), roles=as_list(data.get("role")),
            category_id=str(data.get("category_id", "")), pupil_categories=as_list(data.get("pupil_category")),
            location_id=str(data.get("location_id", "")), occurred_at=str(data.get("occurred_at", "")),
            note=str(data.get("note", "")), oncall_id=str(data.get("oncall_id", "")))
        key, digest = submission_key(request, data), request_hash(request.url.path, data)
        try:
            incident_id = await incidents.record_incident(actor, form, key=key, digest=digest)
        except ValidationFailed as exc:
            await release(actor, key, digest)  # nothing was saved: the corrected entry may use the key
            context = await quick_entry_context(actor, form, exc.errors)
            context["key"] = key or context["key"]  # a corrected resubmission is still the same entry
            return render(request, "incidents/new.html", context, status=400)
        return Redirect(f"/incidents/new?logged={incident_id}", status_code=303)

    @get("/follow-up", name="incidents.follow_up")
    async def follow_up(self, request: Request, actor: CurrentActor, before: FromQuery[str | None] = None) -> Response:
        # `before` is the id of the last row already shown (the keyset cursor of the next, older page).
        cursor = parse_id(before) if before is not None else None
        if before is not None and cursor is None:
            raise BadRequest("That page of the list does not exist.")
        page = await incidents.follow_up_list(actor, before=cursor)
        return render(request, "incidents/follow_up.html", {"actor": actor, "rows": page["rows"], "next": page["next"],
                                                             "older": cursor is not None, "statuses": incidents.STATUSES},
                      block="rows" if cursor is not None else None)

    @get("/rewards", name="incidents.rewards")
    async def rewards(self, request: Request, actor: CurrentActor, year: FromQuery[str | None] = None) -> Response:
        """The old totals page: now the rewards pages' totals, for any period (checked here, so the unseen 404)."""
        scope = await reward_totals.scope_for(actor, year)
        return Redirect(request.app.route_reverse("rewards.index") + f"?year={scope.year}", status_code=303)

    @get("/{incident_id:int}", name="incidents.view")
    async def view(self, request: Request, actor: CurrentActor, incident_id: FromPath[int]) -> Response:
        return render(request, "incidents/view.html", await self._context(actor, incident_id))

    async def _context(self, actor: Actor, incident_id: int, errors: dict | None = None) -> dict[str, Any]:
        return {"actor": actor, "incident": await incidents.view_incident(actor, incident_id), "errors": errors or {},
                "statuses": incidents.STATUSES, "actions": incidents.ACTIONS, "roles": incidents.PUPIL_ROLES,
                "reasons": incidents.EXCLUSION_REASONS, "kinds": incidents.STATEMENT_KINDS,
                "locations": await incidents.locations(actor.school_id),
                "categories": await incidents.categories(actor.school_id),
                "to_local": lambda d: d.astimezone(incidents.LONDON),
                "pi_start": {"field": "incident_id", "id": incident_id, "key": str(uuid.uuid4())}
                if await physical_intervention.may_record(actor) else None}

    async def _again(self, request: Request, actor: Actor, incident_id: int, exc: ValidationFailed) -> Response:
        return render(request, "incidents/view.html", await self._context(actor, incident_id, exc.errors), status=400)

    @post("/links/{link_id:int}/status", name="incidents.status")
    async def status(self, request: Request, actor: CurrentActor, link_id: FromPath[int], data: Form) -> Response:
        incident_id = await incidents.set_status(actor, link_id, str(data.get("status", "")))
        return Redirect(f"/incidents/{incident_id}", status_code=303)

    @post("/links/{link_id:int}/actions", name="incidents.action")
    async def action(self, request: Request, actor: CurrentActor, link_id: FromPath[int], data: Form) -> Response:
        try:
            incident_id = await incidents.record_action(actor, link_id, str(data.get("action", "")),
                                                        str(data.get("note", "")), as_list(data.get("reasons")))
        except ValidationFailed as exc:
            return await self._again(request, actor, parse_id(data.get("incident_id")) or 0, exc)
        return Redirect(f"/incidents/{incident_id}", status_code=303)

    @post("/{incident_id:int}/statements", name="incidents.statement")
    async def statement(self, request: Request, actor: CurrentActor, incident_id: FromPath[int], data: Form) -> Response:
        try:
            await incidents.add_statement(actor, incident_id, str(data.get("kind", "")), str(data.get("from_name", "")),
                                          str(data.get("body", "")))
        except ValidationFailed as exc:
            return await self._again(request, actor, incident_id, exc)
        return Redirect(f"/incidents/{incident_id}", status_code=303)

    @post("/{incident_id:int}/edit", name="incidents.edit")
    async def edit(self, request: Request, actor: CurrentActor, incident_id: FromPath[int], data: Form) -> Response:
        roles = {parse_id(k[5:]): str(v) for k, v in data.items() if k.startswith("role_") and parse_id(k[5:])}
        cats = {parse_id(k[9:]): str(v) for k, v in data.items() if k.startswith("category_") and parse_id(k[9:])}
        try:
            await incidents.edit_incident(
                actor, incident_id, version=str(data.get("version", "")), occurred_at=str(data.get("occurred_at", "")),
                location_id=str(data.get("location_id", "")), note=str(data.get("note", "")),
                outcome=str(data.get("outcome", "")), roles=roles, link_categories=cats)
        except ValidationFailed as exc:
            return await self._again(request, actor, incident_id, exc)
        return Redirect(f"/incidents/{incident_id}", status_code=303)

    @post("/{incident_id:int}/delete", name="incidents.delete")
    async def delete(self, request: Request, actor: CurrentActor, incident_id: FromPath[int], data: Form) -> Response:
        try:
            await incidents.delete_incident(actor, incident_id, str(data.get("reason", "")))
        except ValidationFailed as exc:
            return await self._again(request, actor, incident_id, exc)
        return Redirect("/incidents/follow-up", status_code=303)


class IncidentSettingsController(Controller):
    """Admins configure categories (with severity and points) and locations; retiring keeps history."""

    path = "/admin/incidents"

    @get("/", name="incident_settings.index")
    async def index(self, request: Request, actor: CurrentActor) -> Response:
        return await self._page(request, actor)

    async def _page(self, request: Request, actor: Actor, errors: dict | None = None, status: int = 200,
                    editing: int | None = None, typed: dict | None = None) -> Response:
        if not actor.has("admin"):
            raise NotFound()
        return render(request, "incidents/settings.html", {
            "actor": actor, "categories": await incidents.categories(actor.school_id, include_retired=True),
            "locations": await incidents.locations(actor.school_id, include_retired=True), "errors": errors or {},
            "watchers": await incidents.category_watchers(actor), "people": await incidents.watcher_candidates(actor),
            "editing": editing, "typed": typed or {}}, status=status)

    @post("/categories", name="incident_settings.add_category")
    async def add_category(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        try:
            await incidents.add_category(actor, kind=str(data.get("kind", "")), name=str(data.get("name", "")),
                                         severity=int(data.get("severity") or 0), points=int(data.get("points") or 0))
        except ValueError:
            return await self._page(request, actor, {"points": "Severity and points are whole numbers."}, 400)
        except ValidationFailed as exc:
            return await self._page(request, actor, exc.errors, 400)
        return Redirect("/admin/incidents/", status_code=303)

    @post("/categories/{category_id:int}/retire", name="incident_settings.retire_category")
    async def retire_category(self, actor: CurrentActor, category_id: FromPath[int]) -> Response:
        await incidents.retire_category(actor, category_id)
        return Redirect("/admin/incidents/", status_code=303)

    @post("/categories/{category_id:int}", name="incident_settings.edit_category")
    async def edit_category(self, request: Request, actor: CurrentActor, category_id: FromPath[int],
                            data: Form) -> Response:
        typed = {"name": str(data.get("name", "")), "severity": str(data.get("severity", "")),
                 "points": str(data.get("points", "")), "watchers": as_list(data.get("watchers"))}
        try:
            await incidents.edit_category(actor, category_id, **typed)
        except ValidationFailed as exc:
            return await self._page(request, actor, exc.errors, 400, editing=category_id, typed=typed)
        return Redirect("/admin/incidents/", status_code=303)

    @post("/locations", name="incident_settings.add_location")
    async def add_location(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        try:
            await incidents.add_location(actor, str(data.get("name", "")))
        except ValidationFailed as exc:
            return await self._page(request, actor, exc.errors, 400)
        return Redirect("/admin/incidents/", status_code=303)

    @post("/locations/{location_id:int}/retire", name="incident_settings.retire_location")
    async def retire_location(self, actor: CurrentActor, location_id: FromPath[int]) -> Response:
        await incidents.retire_location(actor, location_id)
        return Redirect("/admin/incidents/", status_code=303)
