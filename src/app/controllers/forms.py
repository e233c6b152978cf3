"""Saving a form once: the shape of the pastoral record pages' POST handlers (a new pack, request, referral, case,
contact, programme, and the forms on them).

The page mints a submission key; the service claims it with a hash of what was sent, so a double tap or an
outbox replay saves one record. Bad input saves nothing: the key is freed for the corrected form, which comes
back with its messages and what was typed. Otherwise See Other to the record (POST, redirect, GET).
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, TypeVar

from litestar import Request, Response
from litestar.response import Redirect

from app.domain.notifications.service import release, request_hash
from app.domain.schools.service import Actor
from app.errors import ValidationFailed

T = TypeVar("T")


async def save_form(request: Request, actor: Actor, data: dict[str, Any], key: str | None,
                    save: Callable[..., Awaitable[T]],
                    again: Callable[[dict[str, str], str | None], Awaitable[Response]],
                    then: Callable[[T], str]) -> Response:
    """`save(key=, digest=)`, then a 303 to `then(saved)`; on bad input free the key and return `again(errors, key)`."""
    digest = request_hash(request.url.path, data)
    try:
        saved = await save(key=key, digest=digest)
    except ValidationFailed as exc:
        await release(actor, key, digest)  # nothing was saved: the corrected form may use the key
        return await again(exc.errors, key)
    return Redirect(then(saved), status_code=303)
