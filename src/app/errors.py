"""The app's error types, and the one handler that turns them (and Litestar's) into pages or fragments."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
)
from litestar.status_codes import HTTP_303_SEE_OTHER

log = logging.getLogger("corridor")


class CorridorError(Exception):
    """A domain error with the status it maps to and a message safe to show the person."""

    status_code = 400
    title = "That did not work"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.title)
        self.message = message or self.title


class NotFound(CorridorError):
    """Also what a person gets for a record they may not see: its existence must not leak."""

    status_code = 404
    title = "Not found"


class Forbidden(CorridorError):
    status_code = 403
    title = "You cannot do that"


class BadRequest(CorridorError):
    status_code = 400
    title = "That request could not be used"


class ValidationFailed(BadRequest):
    """Form errors, field by field: the form is shown again with the messages and what was typed."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("Please check the highlighted fields.")
        self.errors = errors


class Gone(CorridorError):
    """An enrolment link that was used, revoked or has expired."""

    status_code = 410
    title = "This link can no longer be used"


class NeedsVerification(CorridorError):
    """A sensitive action needs a fresh passkey check first (step-up)."""

    status_code = 403
    title = "Confirm it's you first"


class AuthenticationFailed(CorridorError):
    status_code = 400
    title = "Sign-in did not work"


class TooManyAttempts(CorridorError):
    status_code = 429
    title = "Too many attempts"


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def refusal_reason(exc: Exception) -> str | None:
    """Why a request was refused, for the log: a name, never the message (which may name a record)."""
    if isinstance(exc, NotAuthorizedException):
        return "no session"
    if isinstance(exc, PermissionDeniedException) and "CSRF" in str(exc.detail):
        return "csrf"
    status = exc.status_code if isinstance(exc, (CorridorError, HTTPException)) else None
    if isinstance(exc, NeedsVerification):
        return None  # an everyday step-up prompt, not a refusal
    return {403: "not allowed", 404: "not found or not allowed", 405: "method not allowed",
            429: "too many attempts"}.get(status or 0)


def error_handler(request: Request, exc: Exception) -> Response[Any]:
    from app.rendering import render

    if isinstance(exc, NotAuthorizedException):
        # Signed out, expired or disabled: a navigation goes to the sign-in page; htmx is told to go there.
        if wants_json(request):
            return Response({"error": "Please sign in again."}, status_code=401)
        if is_htmx(request):
            return Response("", status_code=401, headers={"HX-Location": "/signin"})
        return Response("", status_code=HTTP_303_SEE_OTHER, headers={"Location": "/signin"})

    if isinstance(exc, CorridorError):
        status, title, message = exc.status_code, exc.title, exc.message
    elif isinstance(exc, PermissionDeniedException) and "CSRF" in str(exc.detail):
        status, title = 403, "This form has expired"
        message = "The page was open too long or came from somewhere else. Go back, reload it and try again."
    elif isinstance(exc, HTTPException):
        status = exc.status_code
        title = {404: "Not found", 405: "Not allowed", 429: "Too many attempts"}.get(status, "That did not work")
        message = {
            404: "There is nothing here, or you do not have access to it.",
            429: "Too many attempts in a short time. Wait a minute and try again.",
        }.get(status, str(exc.detail) if status < 500 else "Something went wrong on our side.")
        if status == 403:
            # A role guard refused: answer as if the page does not exist, so nothing leaks.
            status, title, message = 404, "Not found", "There is nothing here, or you do not have access to it."
    else:
        log.exception("unhandled error on %s %s", request.method, request.scope.get("path"))
        status, title, message = 500, "Something went wrong", "Something went wrong on our side. Please try again."

    headers = {}
    if isinstance(exc, HTTPException) and exc.headers:
        headers.update(exc.headers)
    if wants_json(request):
        return Response({"error": message}, status_code=status, headers=headers)
    response = render(
        request, "errors/error.html", {"title": title, "message": message, "status": status},
        block="content", status=status,
    )
    response.headers.update(headers)
    return response
