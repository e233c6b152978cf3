"""The one source of the current time, so tests can move it (the clock is a true boundary)."""

from __future__ import annotations

import datetime as dt


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
