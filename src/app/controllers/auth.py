"""Signing in with a passkey, enrolling from a link, and signing out."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath
from litestar.response import Redirect

from app.controllers import AppSettings, RequestOrigin
from app.domain.accounts import service as accounts
from app.errors import BadRequest
from app.rendering import render


def session_cookie(settings: AppSettings, token: FromPath[str]) -> Cookie:
    return Cookie(key=settings.session_cookie, value=token, path="/", httponly=True, samesite="lax",
                  secure=settings.secure_cookies, max_age=settings.session_absolute_hours * 3600)


def signed_in(settings: AppSettings, token: FromPath[str]) -> Response:
    return Response({"redirect": "/"}, cookies=[session_cookie(settings, token)])


async def credential_from(request: Request) -> tuple[str, dict, str]:
    try:
        data = await request.json()
    except Exception:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("credential"), dict):
        raise BadRequest("The passkey response was missing or malformed.")
    return str(data.get("key", "")), data["credential"], str(data.get("name", ""))


class AuthController(Controller):
    @get("/signin", name="auth.signin_page", exclude_from_auth=True)
    async def signin_page(self, request: Request, settings: AppSettings, origin: RequestOrigin) -> Response:
        if await accounts.load_actor(settings, request.cookies.get(settings.session_cookie), origin):
            return Redirect("/")
        return render(request, "auth/signin.html", {})

    @post("/auth/signin/options", name="auth.signin_options", exclude_from_auth=True, status_code=200)
    async def signin_options(self, settings: AppSettings) -> dict[str, Any]:
        return await accounts.authentication_options(settings)

    @post("/auth/signin", name="auth.signin", exclude_from_auth=True, status_code=200)
    async def signin(self, request: Request, settings: AppSettings, origin: RequestOrigin) -> Response:
        key, credential, _ = await credential_from(request)
        token = await accounts.sign_in(settings, key, credential, origin=origin,
                                       user_agent=request.headers.get("user-agent", ""))
        return signed_in(settings, token)

    @get("/enrol/{token:str}", name="auth.enrol_page", exclude_from_auth=True)
    async def enrol_page(self, request: Request, token: FromPath[str]) -> Response:
        enrolment = await accounts.open_enrolment(token)
        return render(request, "auth/enrol.html", {"enrolment": enrolment, "token": token})

    @post("/enrol/{token:str}/options", name="auth.enrol_options", exclude_from_auth=True, status_code=200)
    async def enrol_options(self, settings: AppSettings, token: FromPath[str]) -> dict[str, Any]:
        enrolment = await accounts.open_enrolment(token)
        return await accounts.registration_options(settings, enrolment["person.id"], enrolment_id=enrolment["id"])

    @post("/enrol/{token:str}", name="auth.enrol", exclude_from_auth=True, status_code=200)
    async def enrol(self, request: Request, settings: AppSettings, origin: RequestOrigin, token: FromPath[str]) -> Response:
        key, credential, name = await credential_from(request)
        session_token = await accounts.complete_enrolment(
            settings, token, key, credential, passkey_name=name, origin=origin,
            user_agent=request.headers.get("user-agent", ""))
        return signed_in(settings, session_token)

    @post("/signout", name="auth.signout", status_code=303)
    async def signout(self, request: Request, settings: AppSettings) -> Response:
        actor = request.user
        await accounts.end_session(actor, actor.session_id)
        response = Redirect("/signed-out", status_code=303)
        response.set_cookie(Cookie(key=settings.session_cookie, value="", path="/", httponly=True, samesite="lax",
                                   secure=settings.secure_cookies, max_age=0))
        # Clear-Site-Data wipes this origin's caches and storage on the device (the service worker's
        # registration included; the next page registers it again): a shared phone keeps nothing of Corridor's.
        response.headers["Clear-Site-Data"] = '"cache", "storage"'
        return response

    @get("/signed-out", name="auth.signed_out", exclude_from_auth=True)
    async def signed_out(self, request: Request) -> Response:
        return render(request, "auth/signed_out.html", {})
