"""Loggers that would write record contents at DEBUG or INFO, pinned at WARNING whatever LOG_LEVEL says.

A concern's text, the child's own words, pupils' names and import files all pass through the database
drivers as query parameters, and aiosqlite logs every call with its arguments at DEBUG. Turning up the
log level to chase a bug must never copy safeguarding records into a log file that is kept, shipped and
read by people who may not see them. Pinning the loggers by name (rather than trusting each library's
defaults) also catches their child loggers.
"""

from __future__ import annotations

import copy
from typing import Any

QUIET_LOGGERS = (
    "aiosqlite",   # DEBUG: "executing <partial(execute, 'INSERT ...', [parameters])>" for every statement
    "asyncpg",     # no parameters today; pinned so an upgrade cannot start
    "piccolo",     # engine messages; Piccolo's own query logging (log_queries) prints, and stays off
    "PIL",         # DEBUG: image chunks and EXIF tag values of pupils' photos (an MIS photo can carry GPS)
    "urllib3",     # DEBUG: push-service URLs, which are bearer capabilities for a person's device
    "httpx",
    "httpcore",
)


def quiet_loggers() -> dict[str, dict[str, Any]]:
    """The `loggers` section of a logging dictConfig that pins QUIET_LOGGERS at WARNING."""
    return {name: {"level": "WARNING", "propagate": True} for name in QUIET_LOGGERS}


def uvicorn_log_config(*, with_pid: bool = False) -> dict[str, Any]:
    """uvicorn's own logging config with QUIET_LOGGERS pinned, so they are quiet before the app is built.

    With several workers their lines are interleaved in one stream (the journal, a log file): `with_pid` puts
    each line's process id after its level, so a line can be traced to the worker that wrote it."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"].update(quiet_loggers())
    if with_pid:
        for formatter in config["formatters"].values():
            formatter["fmt"] = formatter["fmt"].replace("%(levelprefix)s ", "%(levelprefix)s [%(process)d] ", 1)
    return config
