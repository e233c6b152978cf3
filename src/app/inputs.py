"""Ids in paths and query strings checked before any handler runs.

Python's int() and str.isdigit() accept digits of any script ("١٢", "１２", "²" passes isdigit() but not int()),
and a database id column has a range: a value outside it must be refused as bad input, not reach the database
and come back as a server error. Ids and dates from forms are parsed by app.db.parse_id and
app.clock.parse_date, which the services use too.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import NotFoundException, ValidationException

from app.db import parse_id


def _takes_int(field: Any) -> bool:
    return field.annotation is int or any(arg is int for arg in field.args or ())


async def ids_in_range(request: Request) -> None:
    """A before_request hook for every route: Litestar's `{x:int}` and `FromQuery[int]` accept any integer, so
    without it every handler would pass 2**31 (or 2**64) on to the database. A path id no record can have is simply not
    found; a query id out of range is bad input. Async on purpose: Litestar runs a plain function given as
    before_request in a worker thread, on every request."""
    for value in request.path_params.values():
        if isinstance(value, int) and parse_id(value) is None:
            raise NotFoundException()
        # A NUL byte or a name longer than any file system allows reaches no record and no file.
        if "\x00" in str(value) or any(len(part) > 255 for part in str(value).split("/")):
            raise NotFoundException()
    parameters = request.route_handler.parsed_fn_signature.parameters
    for name in request.query_params:
        if name in parameters and name not in request.path_params and _takes_int(parameters[name]):
            for raw in request.query_params.getall(name):
                try:
                    value = int(raw)
                except ValueError:
                    continue  # not a number at all: Litestar refuses it with its own 400
                if parse_id(value) is None:
                    raise ValidationException(f"{name} is not a valid id.")
