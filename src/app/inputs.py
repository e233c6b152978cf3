"""Strict parsing of untrusted input: record ids and dates, from forms, query strings, headers and paths.

Python's int() and str.isdigit() accept digits of any script ("١٢", "１２", "²" passes isdigit() but not int()),
and a database id column has a range: a value outside it must be refused as bad input, not reach the database
and come back as a server error.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request
from litestar.exceptions import NotFoundException, ValidationException

# Piccolo's Serial ids (and the foreign keys to them) are INTEGER on PostgreSQL: 32 bits, whatever SQLite allows.
MAX_ID = 2**31 - 1
# Dates a person could mean: far enough to cover any school record, near enough that date arithmetic
# (a day either side, a time zone) can never leave Python's 1..9999 range.
EARLIEST_DATE, LATEST_DATE = dt.date(1900, 1, 1), dt.date(2200, 12, 31)


def parse_id(raw: Any) -> int | None:
    """A database id from a form field, a query string or a header: ASCII digits only, 1..MAX_ID; else None."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw if 1 <= raw <= MAX_ID else None
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    # Checked before int(): a huge string of digits must not be converted at all.
    if not text or len(text) > 20 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def parse_date(raw: Any) -> dt.date | None:
    """An ISO date (YYYY-MM-DD) within EARLIEST_DATE..LATEST_DATE; else None."""
    if not isinstance(raw, str) or not raw.isascii():
        return None
    try:
        value = dt.date.fromisoformat(raw.strip())
    except ValueError:
        return None
    return value if EARLIEST_DATE <= value <= LATEST_DATE else None


def _takes_int(field: Any) -> bool:
    return field.annotation is int or any(arg is int for arg in field.args or ())


def ids_in_range(request: Request) -> None:
    """A before_request hook for every route: Litestar's `{x:int}` and `FromQuery[int]` accept any integer, so
    without it every handler would pass 2**31 (or 2**64) on to the database. A path id no record can have is simply not
    found; a query id out of range is bad input."""
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
