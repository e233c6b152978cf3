"""On-call: raise (two taps), the live board, the requester's live status, transitions, report."""

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
from app.controllers.incidents import submission_key
from app.domain.incidents import service as incidents
from app.domain.incidents.service import LONDON, ValidationFailed
from app.domain.notifications.service import release, request_hash
from app.domain.oncall import service as oncall
from app.domain.oncall.tables import OnCallRequest
from app.domain.physical_intervention import service as physical_intervention
from app.domain.schools.service import Actor
from app.errors import NotFound
from app.clock import parse_date
from app.live import once_per_process, session_bound
from app.rendering import csv_response, render

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


async def raise_context(actor: Actor, form: dict | None = None, errors: dict | None = None,
                        location: int | None = None, pupil: int | None = None) -> dict[str, Any]:
    form = dict(form or {})
    last = await OnCallRequest.select(OnCallRequest.location).where(
        (OnCallRequest.requester == actor.person_id) & (OnCallRequest.school == actor.school_id)).order_by(
        OnCallRequest.id, ascending=False).first()
    chosen = str(form.get("location_id") or location or (last["location"] if last else ""))
    # From a pupil's profile (?pupil=ID) or as sent: shown by name and form, and only if the raiser may see them.
    named = form.get("pupil_id") if "pupil_id" in form else [pupil] if pupil else []
    return {"actor": actor, "form": form, "errors": errors or {}, "location_id": chosen,
            "locations": await incidents.locations(actor.school_id), "reasons": await oncall.reasons(actor.school_id),
            "urgencies": oncall.URGENCIES, "key": str(uuid.uuid4()),
            "chosen": await oncall.chosen_pupils(actor, named)}


def log_incident_url(card: dict) -> str:
    """Quick entry after a request: with its pupil chosen, or (no pupil named) with its room as Where."""
    if card["pupils"]:
        return f"/incidents/new?pupil={card['pupils'][0]['id']}&oncall={card['id']}"
    return f"/incidents/new?location={card['location']}&oncall={card['id']}"


async def view_context(actor: Actor, card: dict, **extra: Any) -> dict[str, Any]:
    """The request page: the card, and what this person can do with it now."""
    mine = card["responder"] == actor.person_id
    return {"actor": actor, "r": card, "states": oncall.STATES, "urgencies": oncall.URGENCIES,
            "outcomes": oncall.OUTCOMES, "to_local": lambda d: d.astimezone(LONDON),
            "hand_over_to": await oncall.hand_over_choices(actor) if mine and card["open"] else [],
            "log_incident_url": log_incident_url(card) if mine else "", **extra}


def card_html(app: Litestar, card: dict) -> str:
    """The card as its school's responders and its requester see it (pupils' names included: both may see them)."""
    env = app.template_engine.engine
    return env.get_template("oncall/_request.html").render(
        r=card, states=oncall.STATES, urgencies=oncall.URGENCIES, outcomes=oncall.OUTCOMES,
        to_local=lambda d: d.astimezone(LONDON), csrf_value="")


async def rendered_event(app: Litestar, school_id: int, event_id: int) -> tuple[dict, str | None] | None:
    """An event of the school and its card as rendered, made once per process for every stream that sends it.

    The event is read with its school, so a stream can only ever be handed its own school's events; every stream
    still checks its own session and rights before sending it (app/live.py).
    """
    async def make() -> tuple[dict, str | None] | None:
        ev = await oncall.event(event_id, school_id)
        if ev is None:
            return None
        card = await oncall.card(ev["request"])
        return ev, card_html(app, card) if card else None

    return await once_per_process(app, ("oncall.card", school_id, event_id), make)


async def live(request: Request, actor: Actor, channels: ChannelsPlugin, request_id: int | None) -> ServerSentEvent:
    """Events for the board (all the school's requests) or one request, resuming from Last-Event-ID, for as long
    as the session lasts and the person may still see them."""
    # A reconnect sends Last-Event-ID; a first connect sends ?after=, the last event before the page was
    # rendered, so nothing that happened between rendering the page and connecting is missed.
    try:
        last_id = int(request.headers.get("last-event-id") or request.query_params.get("after") or 0)
    except ValueError:
        last_id = 0
    responder = await oncall.can_respond(actor)
    school_id = actor.school_id
    sent = last_id
    last_seen: list = []  # when this stream last marked its person online

    async def card_event(event_id: int) -> ServerSentEventMessage | None:
        nonlocal sent
        made = await rendered_event(request.app, school_id, event_id)
        if made is None:
            return None
        ev, html = made
        if ev["id"] <= sent or (request_id is not None and ev["request"] != request_id):
            return None
        sent = ev["id"]
        if html is None:
            return None
        return ServerSentEventMessage(data=html, event="request", id=str(ev["id"]))

    async def allowed(current: Actor) -> bool:
        if request_id is None:
            return await oncall.can_respond(current)
        return await oncall.may_view(current, request_id)

    async def catch_up(current: Actor) -> AsyncIterator[ServerSentEventMessage]:
        nonlocal sent
        if not last_id:
            sent = await oncall.latest_event_id(current.school_id)
            yield ServerSentEventMessage(comment="connected", id=str(sent))
            return
        for ev in await oncall.events_since(current.school_id, last_id, request_id):
            message = await card_event(ev["id"])
            if message:
                yield message

    async def render_event(current: Actor, raw: Any) -> ServerSentEventMessage | None:
        return await card_event(int(json.loads(raw)["event"]))

    async def beat(current: Actor) -> None:
        if responder:
            last_seen[:] = [await oncall.seen(current)]

    async def closed(opened_by: Actor) -> None:
        if last_seen:
            await oncall.gone(opened_by.person_id, last_seen[0])

    return session_bound(request, actor, channels, [oncall.school_channel(actor.school_id)], allowed=allowed,
                         render=render_event, catch_up=catch_up, beat=beat, closed=closed)


class OnCallController(Controller):
    path = "/oncall"

    @get("/new", name="oncall.new")
    async def new(self, request: Request, actor: CurrentActor, location: FromQuery[int | None] = None,
                  pupil: FromQuery[int | None] = None) -> Response:
        # A QR code on a door encodes /oncall/new?location=ID: the room is then already chosen.
        if not oncall.can_raise(actor):
            raise NotFound()
        return render(request, "oncall/new.html", await raise_context(actor, location=location, pupil=pupil))

    @post("/", name="oncall.raise")
    async def create(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        key, digest = submission_key(request, data), request_hash(request.url.path, data)
        try:
            result = await oncall.raise_request(actor, data, key=key, digest=digest)
        except ValidationFailed as exc:
            await release(actor, key, digest)  # nothing was saved: the corrected request may use the key
            context = await raise_context(actor, data, exc.errors)
            context["key"] = key or context["key"]
            return render(request, "oncall/new.html", context, status=400)
        return Redirect(f"/oncall/{result['id']}", status_code=303)

    @get("/board", name="oncall.board")
    async def board(self, request: Request, actor: CurrentActor) -> Response:
        page = await oncall.board_page(actor)  # the last event id before the cards: the stream resumes from there
        return render(request, "oncall/board.html", {
            "actor": actor, **page, "states": oncall.STATES, "urgencies": oncall.URGENCIES,
            "outcomes": oncall.OUTCOMES, "to_local": lambda d: d.astimezone(LONDON)})

    @get("/board/stream", name="oncall.board_stream", skip_compression=True)
    async def board_stream(self, request: Request, actor: CurrentActor,
                           channels: NamedDependency[ChannelsPlugin]) -> ServerSentEvent:
        if not await oncall.can_respond(actor):
            raise NotFound()
        return await live(request, actor, channels, None)

    @post("/duty", name="oncall.duty")
    async def duty(self, actor: CurrentActor, data: Form) -> Response:
        await oncall.set_on_duty(actor, data.get("on") == "yes")
        return Redirect("/oncall/board", status_code=303)

    @get("/{request_id:int}", name="oncall.view")
    async def view(self, request: Request, actor: CurrentActor, request_id: FromPath[int]) -> Response:
        after = await oncall.latest_event_id(actor.school_id)  # before the card: the stream resumes from here
        card = await oncall.view(actor, request_id)
        nobody = card["state"] == "raised" and not await oncall.online(await oncall.on_call(actor.school_id, None))
        pi_start = {"field": "oncall_id", "id": card["id"], "key": str(uuid.uuid4())} if card["state"] == "resolved" \
            and await physical_intervention.may_record(actor) else None
        return render(request, "oncall/view.html", await view_context(actor, card, nobody_online=nobody, after=after,
                                                                      pi_start=pi_start))

    @get("/{request_id:int}/stream", name="oncall.stream", skip_compression=True)
    async def stream(self, request: Request, actor: CurrentActor, request_id: FromPath[int],
                     channels: NamedDependency[ChannelsPlugin]) -> ServerSentEvent:
        await oncall.view(actor, request_id)
        return await live(request, actor, channels, request_id)

    async def _step(self, request: Request, actor: Actor, request_id: int, step) -> Response:
        try:
            await step()
        except oncall.Conflict as exc:
            card = await oncall.view(actor, request_id)
            return render(request, "oncall/view.html", await view_context(actor, card, message=exc.message),
                          status=409)
        back = request.headers.get("referer", "")
        return Redirect("/oncall/board" if back.endswith("/oncall/board") else f"/oncall/{request_id}", status_code=303)

    @post("/{request_id:int}/acknowledge", name="oncall.acknowledge")
    async def acknowledge(self, request: Request, actor: CurrentActor, request_id: FromPath[int]) -> Response:
        return await self._step(request, actor, request_id, lambda: oncall.acknowledge(actor, request_id))

    @post("/{request_id:int}/en-route", name="oncall.en_route")
    async def en_route(self, request: Request, actor: CurrentActor, request_id: FromPath[int]) -> Response:
        return await self._step(request, actor, request_id, lambda: oncall.en_route(actor, request_id))

    @post("/{request_id:int}/on-scene", name="oncall.on_scene")
    async def on_scene(self, request: Request, actor: CurrentActor, request_id: FromPath[int]) -> Response:
        return await self._step(request, actor, request_id, lambda: oncall.on_scene(actor, request_id))

    @post("/{request_id:int}/resolve", name="oncall.resolve")
    async def resolve(self, request: Request, actor: CurrentActor, request_id: FromPath[int], data: Form) -> Response:
        outcome = str(data.get("outcome", ""))
        try:
            response = await self._step(request, actor, request_id, lambda: oncall.resolve(actor, request_id, outcome))
        except ValidationFailed as exc:
            card = await oncall.view(actor, request_id)
            return render(request, "oncall/view.html",
                          await view_context(actor, card, message=" ".join(exc.errors.values())), status=400)
        if data.get("log_incident") == "yes" and response.status_code == 303:
            # Resolved with an incident to record: quick entry with the pupil chosen, or with the room as Where.
            card = await oncall.card(request_id)
            if card:
                return Redirect(log_incident_url(card), status_code=303)
        return response

    @post("/{request_id:int}/cancel", name="oncall.cancel")
    async def cancel(self, request: Request, actor: CurrentActor, request_id: FromPath[int]) -> Response:
        return await self._step(request, actor, request_id, lambda: oncall.cancel(actor, request_id))

    @post("/{request_id:int}/hand-over", name="oncall.hand_over")
    async def hand_over(self, request: Request, actor: CurrentActor, request_id: FromPath[int], data: Form) -> Response:
        to = oncall._int(data.get("to"))
        try:
            return await self._step(request, actor, request_id, lambda: oncall.hand_over(actor, request_id, to or -1))
        except ValidationFailed as exc:
            card = await oncall.view(actor, request_id)
            return render(request, "oncall/view.html",
                          await view_context(actor, card, message=" ".join(exc.errors.values())), status=400)

    @post("/{request_id:int}/note", name="oncall.note")
    async def note(self, request: Request, actor: CurrentActor, request_id: FromPath[int], data: Form) -> Response:
        return await self._step(request, actor, request_id,
                                lambda: oncall.add_note(actor, request_id, str(data.get("note", ""))))

    @get("/report", name="oncall.report")
    async def report(self, request: Request, actor: CurrentActor, start: FromQuery[str] = "", end: FromQuery[str] = "",
                     format: FromQuery[str] = "html") -> Response:
        today = incidents.local_now().date()
        # A date that cannot be read (or is centuries away) falls back to the last 30 days.
        since = parse_date(start) or today - dt.timedelta(days=30)
        until = parse_date(end) or today
        data = await oncall.report(actor, since, until)
        if format == "csv":
            return csv_response(
                f"on-call-{since}-{until}.csv",
                ["raised", "urgency", "location", "reason", "requester", "responder", "state", "outcome",
                 "seconds_to_acknowledge", "seconds_to_resolve", "escalations"],
                [[r["local"].isoformat(timespec="seconds"), r["urgency"], r["location.name"], r["reason.name"],
                  r["requester.display_name"], r["responder.display_name"] or "", r["state"], r["outcome"],
                  r["ack_seconds"] or "", r["resolve_seconds"] or "", r["escalations"]] for r in data["rows"]])
        return render(request, "oncall/report.html", {"actor": actor, "report": data, "start": since, "end": until})


class RotaController(Controller):
    """Admins set the weekly rota, date changes, the escalation timer and tiers."""

    path = "/admin/oncall"

    async def _page(self, request: Request, actor: Actor, errors: dict | None = None, status: int = 200) -> Response:
        return render(request, "oncall/rota.html", {"actor": actor, **await oncall.rota(actor), "errors": errors or {}},
                      status=status)

    @get("/", name="rota.index")
    async def index(self, request: Request, actor: CurrentActor) -> Response:
        return await self._page(request, actor)

    async def _do(self, request: Request, actor: Actor, work) -> Response:
        try:
            await work()
        except ValidationFailed as exc:
            return await self._page(request, actor, exc.errors, 400)
        return Redirect("/admin/oncall/", status_code=303)

    @post("/slots", name="rota.add_slot")
    async def add_slot(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        return await self._do(request, actor, lambda: oncall.add_slot(actor, data))

    @post("/slots/{slot_id:int}/remove", name="rota.remove_slot")
    async def remove_slot(self, request: Request, actor: CurrentActor, slot_id: FromPath[int]) -> Response:
        return await self._do(request, actor, lambda: oncall.remove_slot(actor, slot_id))

    @post("/overrides", name="rota.add_override")
    async def add_override(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        return await self._do(request, actor, lambda: oncall.add_override(actor, data))

    @post("/settings", name="rota.settings")
    async def update_settings(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        return await self._do(request, actor, lambda: oncall.update_settings(actor, data.get("ack_seconds"),
                                                                             data.get("top_tier")))
