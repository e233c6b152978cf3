"""The one source of the current time, so tests can move it (the clock is a true boundary)."""

from __future__ import annotations

import datetime as dt
from typing import Any


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# Dates a person could mean: far enough to cover any school record, near enough that date arithmetic
# (a day either side, a time zone) can never leave Python's 1..9999 range.
EARLIEST_DATE, LATEST_DATE = dt.date(1900, 1, 1), dt.date(2200, 12, 31)


def parse_date(raw: Any) -> dt.date | None:
    """An ISO date (YYYY-MM-DD) within EARLIEST_DATE..LATEST_DATE; else None."""
    if not isinstance(raw, str) or not raw.isascii():
        return None
    try:
        value = dt.date.fromisoformat(raw.strip())
    except ValueError:
        return None
    return value if EARLIEST_DATE <= value <= LATEST_DATE else None
