"""The outbox's server side: the list of unsent entries (filled in on the phone), who is signed in, and whether
the server holds an entry."""

from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.params import FromPath
from litestar.utils.scope.state import ScopeState

from app.controllers import CurrentActor
from app.domain.notifications import service as notifications
from app.domain.notifications.service import clean_key
from app.errors import NotFound
from app.rendering import render


class OutboxController(Controller):
    path = "/outbox"

    @get("/", name="outbox.index")
    async def index(self, request: Request, actor: CurrentActor) -> Response:
        # The entries live on the phone, not here, but they hold what the school holds (a child's own words):
        # the page is for a signed-in person, and the worker shows them only the entries they made. Signed out,
        # the badge still counts what waits, and signing in again shows and sends it.
        return render(request, "outbox/index.html", {"actor": actor})

    @get("/receipts/{key:str}", name="outbox.receipt")
    async def receipt(self, actor: CurrentActor, key: FromPath[str]) -> dict[str, object]:
        """Whether the server holds this entry. The phone deletes an entry only on this answer: a redirect or a
        page could also come from a Wi-Fi login page standing in the way."""
        key = clean_key(key) or ""
        if not await notifications.answered(actor, key):
            raise NotFound("No entry with this key has been received from you.")
        return {"key": key, "received": True}

    @get("/session", name="outbox.session")
    async def session(self, request: Request, actor: CurrentActor) -> dict[str, str]:
        """Who is signed in, and a CSRF token to replay with (the cookie may be new since the entry was made)."""
        token = ScopeState.from_scope(request.scope).csrf_token
        return {"person": str(actor.person_id), "label": actor.display_name,
                "csrf": token if isinstance(token, str) else ""}
