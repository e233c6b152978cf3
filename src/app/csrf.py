"""CSRF tokens bound to the session they were issued to.

Litestar's CSRF middleware is a signed double-submit cookie: any token it signed, with its cookie, passes for
any session. Here each token is signed with a key derived from the session cookie as well, so a token and
cookie taken from one session (or from before sign-in) are refused with another session's cookie; a page
loaded after sign-in or sign-out is given a new token for the session it now belongs to.
"""

from __future__ import annotations

import hashlib
from secrets import compare_digest
from typing import Any

from litestar.config.csrf import CSRFConfig
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware._utils import should_bypass_middleware
from litestar.middleware.csrf import CSRF_SECRET_LENGTH, CSRFMiddleware, generate_csrf_hash, generate_csrf_token
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState


def bound_secret(secret_key: str, session: str | None) -> str:
    """The key that signs CSRF tokens for one session (or for no session, before sign-in)."""
    bound_to = hashlib.sha256(session.encode()).hexdigest() if session else "signed-out"
    return f"{secret_key}:{bound_to}"


def token_for(secret_key: str, session: str | None) -> str:
    """A new CSRF token for this session: what a page loaded in it would carry (the benchmark sends these)."""
    return generate_csrf_token(secret=bound_secret(secret_key, session))


class SessionBoundCSRFMiddleware(CSRFMiddleware):
    def __init__(self, app: ASGIApp, config: CSRFConfig, session_cookie: str) -> None:
        super().__init__(app, config)
        self.session_cookie = session_cookie

    def _secret(self, cookies: dict[str, str]) -> str:
        return bound_secret(self.config.secret, cookies.get(self.session_cookie))

    @staticmethod
    def _signed(token: str | None, secret: str) -> bool:
        if not token or len(token) <= CSRF_SECRET_LENGTH:
            return False
        expected = generate_csrf_hash(token=token[:CSRF_SECRET_LENGTH], secret=secret)
        return compare_digest(token[CSRF_SECRET_LENGTH:], expected)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or should_bypass_middleware(
                scope=scope, scopes=self.scopes, exclude_opt_key=self.config.exclude_from_csrf_key,
                exclude_path_pattern=self.exclude):
            await self.app(scope, receive, send)
            return
        request: Any = scope["litestar_app"].request_class(scope=scope, receive=receive)
        secret = self._secret(request.cookies)
        cookie = request.cookies.get(self.config.cookie_name)
        cookie = cookie if self._signed(cookie, secret) else None  # a stale or another session's cookie
        state = ScopeState.from_scope(scope)
        if request.method in self.config.safe_methods:
            token = state.csrf_token = cookie or generate_csrf_token(secret=secret)
            await self.app(scope, receive, self.create_send_wrapper(send=send, csrf_cookie=cookie, token=token))
            return
        submitted = request.headers.get(self.config.header_name)
        content_type, _ = request.content_type
        if not submitted and content_type in {RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART}:
            submitted = (await request.form()).get("_csrf_token")
        if not (cookie and isinstance(submitted, str) and compare_digest(submitted.encode(), cookie.encode())):
            raise PermissionDeniedException("CSRF token verification failed")
        state.csrf_token = submitted
        await self.app(scope, receive, send)
