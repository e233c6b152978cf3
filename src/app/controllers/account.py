"""A person's own account: passkeys (add, rename, remove after step-up), sessions, school."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect

from app.controllers import AppSettings, CurrentActor
from app.controllers.auth import credential_from
from app.domain.accounts import service as accounts
from app.domain.schools.service import schools_of
from app.db import parse_id
from app.errors import ValidationFailed
from app.rendering import render

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def back_to_account(notice: str = "") -> Response:
    return Redirect("/account" + (f"?done={notice}" if notice else ""), status_code=303)


NOTICES = {
    "added": "Passkey added.", "renamed": "Passkey renamed.", "removed": "Passkey removed.",
    "ended": "Session ended.", "school": "School changed.", "mobile": "Mobile number saved.",
}


async def _account_page(request: Request, actor, settings, *, notice: str = "", errors: dict | None = None,
                        mobile: str | None = None, status: int = 200) -> Response:
    return render(request, "account/account.html", {
        "actor": actor,
        "passkeys": await accounts.list_passkeys(actor),
        "sessions": await accounts.list_sessions(actor),
        "schools": await schools_of(actor.person_id),
        "notice": notice,
        "verified": accounts.recently_verified(settings, actor),
        "errors": errors or {},
        "mobile": mobile if mobile is not None else await accounts.mobile_of(actor.person_id),
    }, status=status)


class AccountController(Controller):
    path = "/account"

    @get("/", name="account.index")
    async def index(self, request: Request, actor: CurrentActor, settings: AppSettings, done: FromQuery[str] = "") -> Response:
        return await _account_page(request, actor, settings, notice=NOTICES.get(done, ""))

    @post("/mobile", name="account.mobile")
    async def mobile(self, request: Request, actor: CurrentActor, settings: AppSettings, data: Form) -> Response:
        typed = str(data.get("mobile", ""))
        try:
            await accounts.set_mobile(actor, typed)
        except ValidationFailed as exc:
            return await _account_page(request, actor, settings, errors=exc.errors, mobile=typed, status=400)
        return back_to_account("mobile")

    @post("/passkeys/options", name="account.passkey_options", status_code=200)
    async def passkey_options(self, actor: CurrentActor, settings: AppSettings) -> dict[str, Any]:
        return await accounts.registration_options(settings, actor.person_id, session_id=actor.session_id)

    @post("/passkeys", name="account.passkey_add", status_code=200)
    async def passkey_add(self, request: Request, actor: CurrentActor, settings: AppSettings) -> dict[str, Any]:
        key, credential, name = await credential_from(request)
        await accounts.add_passkey(settings, actor, key, credential, name)
        return {"redirect": "/account?done=added"}

    @post("/passkeys/{passkey_id:int}/name", name="account.passkey_rename")
    async def passkey_rename(self, actor: CurrentActor, passkey_id: FromPath[int], data: Form) -> Response:
        await accounts.rename_passkey(actor, passkey_id, str(data.get("name", "")))
        return back_to_account("renamed")

    @post("/passkeys/{passkey_id:int}/remove", name="account.passkey_remove")
    async def passkey_remove(self, actor: CurrentActor, settings: AppSettings, passkey_id: FromPath[int]) -> Response:
        await accounts.remove_passkey(settings, actor, passkey_id)
        return back_to_account("removed")

    @post("/verify/options", name="account.verify_options", status_code=200)
    async def verify_options(self, actor: CurrentActor, settings: AppSettings) -> dict[str, Any]:
        return await accounts.authentication_options(settings, actor=actor)

    @post("/verify", name="account.verify", status_code=200)
    async def verify(self, request: Request, actor: CurrentActor, settings: AppSettings) -> dict[str, Any]:
        key, credential, _ = await credential_from(request)
        await accounts.step_up(settings, actor, key, credential)
        return {"verified": True}

    @post("/sessions/{session_id:int}/end", name="account.session_end")
    async def session_end(self, actor: CurrentActor, session_id: FromPath[int]) -> Response:
        await accounts.end_session(actor, session_id, reason="ended by owner")
        if session_id == actor.session_id:
            return Redirect("/signin", status_code=303)
        return back_to_account("ended")

    @post("/school", name="account.school")
    async def school(self, actor: CurrentActor, data: Form) -> Response:
        await accounts.switch_school(actor, parse_id(data.get("school_id")) or -1)
        return back_to_account("school")
