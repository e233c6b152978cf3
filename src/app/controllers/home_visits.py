"""Home visits: plan, checklist, override, authorise, start, on site, extend, "I'm safe", and the alarm page.

Addresses are on these pages: they are served no-store (as every page is, app.main.security_headers) and never
put in a URL. The visitors' taps carry idempotency keys so that a double tap, or (point 7) the outbox's replay,
counts once.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Annotated, Any, AsyncIterator

from litestar import Controller, Litestar, Request, Response, get, post
from litestar.channels import ChannelsPlugin
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, ServerSentEvent, ServerSentEventMessage

from app.controllers import CurrentActor
from app.controllers.admin import requires_role
from app.controllers.incidents import submission_key
from app.db import parse_id
from app.domain.home_visits import service as visits
from app.domain.incidents.service import local_now
from app.domain.notifications.service import release, request_hash
from app.domain.schools.service import Actor
from app.errors import NotFound, ValidationFailed
from app.live import once_per_process, session_bound
from app.rendering import render

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _typed(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if isinstance(v, list) else str(v)) for k, v in data.items()}


async def _plan_context(actor: Actor, pupil_id: int | None, form: dict, errors: dict | None = None,
                        key: str | None = None) -> dict[str, Any]:
    chosen = [str(p) for p in (form.get("pupil_id") if isinstance(form.get("pupil_id"), list)
                               else [form.get("pupil_id")]) if p]
    return {"actor": actor, "pupils": await visits.pupils_for_form(actor, pupil_id), "chosen": chosen,
            "staff": await visits.visitors_to_choose(actor), "buddies": await visits.buddies_to_choose(actor),
            "form": form, "errors": errors or {}, "key": key or str(uuid.uuid4()),
            "today": local_now().date().isoformat(), "max_minutes": visits.MAX_MINUTES}


async def _visit_page(request: Request, actor: Actor, visit_id: int, *, errors: dict | None = None,
                      form: dict | None = None, refused: str = "", status: int = 200) -> Response:
    visit = await visits.view(actor, visit_id)
    return render(request, "home_visits/visit.html", {
        "actor": actor, "v": visit, "errors": errors or {}, "form": form or {}, "refused": refused,
        "states": visits.STATES, "social_worker": visits.SOCIAL_WORKER, "key": str(uuid.uuid4()),
        "max_extensions": visits.MAX_EXTENSIONS, "outcomes": visits.OUTCOMES}, status=status)


def card_html(app: Litestar, card: dict, full: bool) -> str:
    """A visit's row on the leads' board; `full` for those who may know of duress (the DSL team, its recipients)."""
    return app.template_engine.engine.get_template("home_visits/_board_card.html").render(
        c=card, full=full, states=visits.STATES)


async def rendered_card(app: Litestar, school_id: int, event_id: int) -> tuple[dict, dict | None, str, str] | None:
    """An event of the school, its visit's card and the card's two renderings (plain, full), once per process."""
    async def make():
        ev = await visits.board_event(event_id, school_id)
        if ev is None:
            return None
        card = await visits.board_card(school_id, ev["visit"])
        if card is None:
            return ev, None, "", ""
        return ev, card, card_html(app, card, False), card_html(app, card, True)

    return await once_per_process(app, ("home_visits.card", school_id, event_id), make)


async def board_live(request: Request, actor: Actor, channels: ChannelsPlugin) -> ServerSentEvent:
    """The board's stream: each visit's card as it changes, resuming from Last-Event-ID (or ?after=)."""
    # A hostile or garbled resume point (not ASCII digits, or past the largest id a column holds: PostgreSQL's
    # integer stops at 2**31 - 1) counts as none: a fresh start.
    last_id = parse_id(str(request.headers.get("last-event-id") or request.query_params.get("after") or "")) or 0
    school_id = actor.school_id
    sent = last_id

    async def card_event(current: Actor, event_id: int) -> ServerSentEventMessage | None:
        nonlocal sent
        made = await rendered_card(request.app, school_id, event_id)
        if made is None:
            return None
        ev, card, plain, full = made
        if ev["id"] <= sent or card is None:
            return None
        sent = ev["id"]
        html = full if visits.duress_visible(current, card["alerted"], card["staff_ids"]) else plain
        return ServerSentEventMessage(data=html, event="visit", id=str(ev["id"]))

    async def allowed(current: Actor) -> bool:
        return visits.can_see_board(current)

    async def catch_up(current: Actor) -> AsyncIterator[ServerSentEventMessage]:
        nonlocal sent
        if not last_id:
            sent = await visits.latest_event_id(current.school_id)
            yield ServerSentEventMessage(comment="connected", id=str(sent))
            return
        for ev in await visits.board_events_since(current.school_id, last_id):
            message = await card_event(current, ev["id"])
            if message:
                yield message

    async def render_event(current: Actor, raw: Any) -> ServerSentEventMessage | None:
        return await card_event(current, int(json.loads(raw)["event"]))

    return session_bound(request, actor, channels, [visits.board_channel(actor.school_id)], allowed=allowed,
                         render=render_event, catch_up=catch_up)


async def _ladder_page(request: Request, actor: Actor, form: dict, errors: dict | None = None, *,
                       saved: bool = False, status: int = 200) -> Response:
    return render(request, "home_visits/ladder.html", {
        "actor": actor, "form": form, "errors": errors or {}, "saved": saved,
        "people": await visits.buddies_to_choose(actor)}, status=status)


class HomeVisitsController(Controller):
    path = "/home-visits"

    @get("/", name="home_visits.index", guards=[requires_role(*visits.PLANNERS)])
    async def index(self, request: Request, actor: CurrentActor) -> Response:
        return render(request, "home_visits/index.html", {"actor": actor, **await visits.list_visits(actor),
                                                          "states": visits.STATES})

    @get("/new", name="home_visits.new", guards=[requires_role(*visits.PLANNERS)])
    async def new(self, request: Request, actor: CurrentActor, pupil: FromQuery[str | None] = None) -> Response:
        pupil_id = parse_id(pupil)
        soon = local_now() + dt.timedelta(minutes=10)
        soon = soon.replace(minute=soon.minute - soon.minute % 5)
        form = {"pupil_id": str(pupil_id or ""), "date": soon.date().isoformat(), "start": soon.strftime("%H:%M"),
                "minutes": str(visits.DEFAULT_MINUTES), "staff_1": str(actor.person_id)}
        context = await _plan_context(actor, pupil_id, form)
        if not context["pupils"]:
            raise NotFound(visits.HIDDEN)
        return render(request, "home_visits/new.html", context)

    @post("/", name="home_visits.create", guards=[requires_role(*visits.PLANNERS)])
    async def create(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        key, digest = submission_key(request, data), request_hash(request.url.path, data)
        typed = _typed(data)
        try:
            made = await visits.plan_visit(actor, typed, key=key, digest=digest)
        except ValidationFailed as exc:
            await release(actor, key, digest)
            first = typed.get("pupil_id")
            first = first[0] if isinstance(first, list) and first else first
            context = await _plan_context(actor, parse_id(first), typed, exc.errors, key)
            if not context["pupils"]:
                raise NotFound(visits.HIDDEN) from None
            return render(request, "home_visits/new.html", context, status=400)
        return Redirect(f"/home-visits/{made['id']}", status_code=303)

    @get("/board", name="home_visits.board", guards=[requires_role(*visits.BOARD_ROLES)])
    async def board(self, request: Request, actor: CurrentActor) -> Response:
        after = await visits.latest_event_id(actor.school_id)  # before the cards: the stream resumes from here
        cards = await visits.board(actor)
        for card in cards:
            card["html"] = card_html(request.app, card, visits.duress_visible(actor, card["alerted"],
                                                                              card["staff_ids"]))
        return render(request, "home_visits/board.html", {
            "actor": actor, "after": after, "cards": cards, "not_seen": await visits.not_seen_today(actor)})

    @get("/board/stream", name="home_visits.board_stream", skip_compression=True,
         guards=[requires_role(*visits.BOARD_ROLES)])
    async def board_stream(self, request: Request, actor: CurrentActor,
                           channels: NamedDependency[ChannelsPlugin]) -> ServerSentEvent:
        if not visits.can_see_board(actor):
            raise NotFound(visits.HIDDEN)
        return await board_live(request, actor, channels)

    @get("/ladder", name="home_visits.ladder", guards=[requires_role("dsl", "admin")])
    async def ladder(self, request: Request, actor: CurrentActor) -> Response:
        conf = await visits.ladder(actor.school_id)
        form = {k: str(v) if v is not None else "" for k, v in conf.items() if k != "slt"}
        form["slt"] = [p for p in (conf.get("slt") or "").split(",") if p]
        return await _ladder_page(request, actor, form)

    @post("/ladder", name="home_visits.ladder_save", guards=[requires_role("dsl", "admin")])
    async def ladder_save(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        typed = _typed(data)
        typed["slt"] = typed.get("slt") if isinstance(typed.get("slt"), list) else [typed["slt"]] if typed.get(
            "slt") else []
        try:
            await visits.update_ladder(actor, typed)
        except ValidationFailed as exc:
            return await _ladder_page(request, actor, typed, exc.errors, status=400)
        return await _ladder_page(request, actor, typed, saved=True)

    @get("/{visit_id:int}", name="home_visits.view", guards=[requires_role(*visits.PLANNERS)])
    async def view(self, request: Request, actor: CurrentActor, visit_id: FromPath[int]) -> Response:
        return await _visit_page(request, actor, visit_id)

    @post("/{visit_id:int}/checklist", name="home_visits.checklist", guards=[requires_role(*visits.PLANNERS)])
    async def checklist(self, request: Request, actor: CurrentActor, visit_id: FromPath[int], data: Form) -> Response:
        typed = _typed(data)
        try:
            await visits.complete_checklist(actor, visit_id, typed)
        except ValidationFailed as exc:
            return await _visit_page(request, actor, visit_id, errors=exc.errors, form=typed, status=400)
        except visits.Conflict as exc:
            return await _visit_page(request, actor, visit_id, refused=exc.message, status=409)
        return Redirect(f"/home-visits/{visit_id}", status_code=303)

    @post("/{visit_id:int}/override", name="home_visits.override", guards=[requires_role(*visits.AUTHORISERS)])
    async def override(self, request: Request, actor: CurrentActor, visit_id: FromPath[int], data: Form) -> Response:
        typed = _typed(data)
        try:
            await visits.override_lone(actor, visit_id, str(typed.get("override_reason") or ""))
        except ValidationFailed as exc:
            return await _visit_page(request, actor, visit_id, errors=exc.errors, form=typed, status=400)
        except visits.Conflict as exc:
            return await _visit_page(request, actor, visit_id, refused=exc.message, status=409)
        return Redirect(f"/home-visits/{visit_id}", status_code=303)

    @post("/{visit_id:int}/authorise", name="home_visits.authorise", guards=[requires_role(*visits.AUTHORISERS)])
    async def authorise(self, request: Request, actor: CurrentActor, visit_id: FromPath[int]) -> Response:
        try:
            await visits.authorise(actor, visit_id)
        except ValidationFailed as exc:
            return await _visit_page(request, actor, visit_id, errors=exc.errors, status=400)
        except visits.Conflict as exc:
            return await _visit_page(request, actor, visit_id, refused=exc.message, status=409)
        return Redirect(f"/home-visits/{visit_id}", status_code=303)

    @post("/{visit_id:int}/cancel", name="home_visits.cancel", guards=[requires_role(*visits.PLANNERS)])
    async def cancel(self, request: Request, actor: CurrentActor, visit_id: FromPath[int], data: Form) -> Response:
        try:
            await visits.cancel(actor, visit_id, str(data.get("cancel_reason") or ""))
        except visits.Conflict as exc:
            return await _visit_page(request, actor, visit_id, refused=exc.message, status=409)
        return Redirect(f"/home-visits/{visit_id}", status_code=303)

    async def _tap(self, request: Request, actor: Actor, visit_id: int, data: dict, step) -> Response:
        key, digest = submission_key(request, data), request_hash(request.url.path, data)
        try:
            await step(actor, visit_id, key=key, digest=digest)
        except visits.Conflict as exc:
            return await _visit_page(request, actor, visit_id, refused=exc.message, status=409)
        return Redirect(f"/home-visits/{visit_id}", status_code=303)

    @post("/{visit_id:int}/start", name="home_visits.start", guards=[requires_role(*visits.PLANNERS)])
    async def start(self, request: Request, actor: CurrentActor, visit_id: FromPath[int], data: Form) -> Response:
        return await self._tap(request, actor, visit_id, data, visits.start)

    @post("/{visit_id:int}/arrive", name="home_visits.arrive", guards=[requires_role(*visits.PLANNERS)])
    async def arrive(self, request: Request, actor: CurrentActor, visit_id: FromPath[int], data: Form) -> Response:
        return await self._tap(request, actor, visit_id, data, visits.arrive)

    @post("/{visit_id:int}/extend", name="home_visits.extend", guards=[requires_role(*visits.PLANNERS)])
    async def extend(self, request: Request, actor: CurrentActor, visit_id: FromPath[int], data: Form) -> Response:
        return await self._tap(request, actor, visit_id, data, visits.extend)

    @post("/{visit_id:int}/safe", name="home_visits.safe", guards=[requires_role(*visits.PLANNERS)])
    async def safe(self, request: Request, actor: CurrentActor, visit_id: FromPath[int], data: Form) -> Response:
        return await self._tap(request, actor, visit_id, data, visits.finish_safe)

    # The second check-out (point 5, duress): answers exactly as "I'm safe" does. Its path says nothing either.
    @post("/{visit_id:int}/checkout", name="home_visits.checkout", guards=[requires_role(*visits.PLANNERS)])
    async def checkout(self, request: Request, actor: CurrentActor, visit_id: FromPath[int], data: Form) -> Response:
        return await self._tap(request, actor, visit_id, data, visits.finish_duress)

    @post("/{visit_id:int}/outcome", name="home_visits.outcome", guards=[requires_role(*visits.PLANNERS)])
    async def outcome(self, request: Request, actor: CurrentActor, visit_id: FromPath[int], data: Form) -> Response:
        key, digest = submission_key(request, data), request_hash(request.url.path, data)
        typed = _typed(data)
        try:
            await visits.record_outcome(actor, visit_id, typed, key=key, digest=digest)
        except ValidationFailed as exc:  # the claim on the key is released by the service (releases_claim)
            return await _visit_page(request, actor, visit_id, errors=exc.errors, form=typed, status=400)
        except visits.Conflict as exc:
            return await _visit_page(request, actor, visit_id, refused=exc.message, status=409)
        return Redirect(f"/home-visits/{visit_id}", status_code=303)

    # The alarm: its recipients include the buddy and the on-call responders, who may hold no pastoral role, so
    # the service decides (alerted for this visit, or the DSL team and pastoral leads; else 404).
    @get("/{visit_id:int}/alarm", name="home_visits.alarm")
    async def alarm(self, request: Request, actor: CurrentActor, visit_id: FromPath[int]) -> Response:
        return render(request, "home_visits/alarm.html", {"actor": actor, "v": await visits.alarm(actor, visit_id),
                                                          "refused": ""})

    @post("/{visit_id:int}/acknowledge", name="home_visits.acknowledge")
    async def acknowledge(self, request: Request, actor: CurrentActor, visit_id: FromPath[int]) -> Response:
        try:
            await visits.acknowledge(actor, visit_id)
        except visits.Conflict as exc:
            return render(request, "home_visits/alarm.html", {"actor": actor, "v": await visits.alarm(actor, visit_id),
                                                              "refused": exc.message}, status=409)
        return Redirect(f"/home-visits/{visit_id}/alarm", status_code=303)
