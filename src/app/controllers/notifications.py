"""In-app notifications: a list, and a live stream (Server-Sent Events) that renders the same partial."""

from __future__ import annotations

import json
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.channels import ChannelsPlugin
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, ServerSentEvent, ServerSentEventMessage

from app.controllers import AppSettings, CurrentActor
from app.domain.notifications import push
from app.domain.notifications import service as notifications
from app.domain.schools.service import Actor
from app.errors import BadRequest, NotFound
from app.live import session_bound
from app.rendering import render


class NotificationsController(Controller):
    path = "/notifications"

    @get("/", name="notifications.index")
    async def index(self, request: Request, actor: CurrentActor) -> Response:
        return render(request, "notifications/index.html", {"actor": actor,
                                                             "items": await notifications.unread(actor)})

    @post("/{notification_id:int}/open", name="notifications.open")
    async def open(self, actor: CurrentActor, notification_id: FromPath[int]) -> Response:
        item = await notifications.get_for(actor, notification_id)
        if not item:
            raise NotFound()  # someone else's alert: the same answer as one that never existed
        await notifications.mark_read(actor, notification_id)
        return Redirect(item["link"] or "/notifications/", status_code=303)

    @get("/push/key", name="notifications.push_key")
    async def push_key(self, settings: AppSettings) -> dict[str, str]:
        return {"key": push.vapid_public_key(settings)}

    @post("/push/subscribe", name="notifications.push_subscribe", status_code=200)
    async def push_subscribe(self, request: Request, actor: CurrentActor, settings: AppSettings) -> dict[str, bool]:
        try:
            data = await request.json()
        except Exception:
            data = None
        if not isinstance(data, dict):
            raise BadRequest("The push subscription was missing.")
        await push.subscribe(settings, actor, data)
        return {"subscribed": True}

    @get("/stream", name="notifications.stream", skip_compression=True)
    async def stream(self, request: Request, actor: CurrentActor,
                     channels: NamedDependency[ChannelsPlugin]) -> ServerSentEvent:
        env = request.app.template_engine.engine

        async def anyone_signed_in(current: Actor) -> bool:
            return True

        async def render_item(current: Actor, message: Any) -> ServerSentEventMessage | None:
            mine = json.loads(message).get("to", {}).get(str(current.person_id))
            if mine is None:
                return None  # an alert for someone else at the school
            item = await notifications.get_for(current, int(mine))
            if not item:
                return None
            html = env.get_template("notifications/_item.html").render(item=item)
            return ServerSentEventMessage(data=html, event="notification", id=str(item["id"]))

        async def unread(current: Actor):
            # First on every page load: the header's count of unread alerts, not only after a live one.
            yield ServerSentEventMessage(data=str(await notifications.unread_count(current)), event="count")

        return session_bound(request, actor, channels, [notifications.school_channel(actor.school_id)],
                             allowed=anyone_signed_in, render=render_item, catch_up=unread)
