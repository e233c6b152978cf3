"""The HTTP server `corridor serve` runs: uvicorn, one process or several workers, stopping without hanging.

uvicorn stops gracefully by waiting for every open response to finish. A live board's stream never finishes by
itself, so a SIGTERM (a deploy, `systemctl stop`) would wait for ever. Its HTTP protocol here tells this process's
streams to end as the server starts shutting down (app/live.py); ordinary requests still finish, for up to
GRACE_SECONDS. Pages reconnect their streams on their own (to another worker, or to this one once it is back).

uvloop and httptools (C event loop, C HTTP parser) are used where installed: on this project's 2-core machine
they cut the server's CPU per request by about a fifth on a page and a third on a bare endpoint. Without them
(a platform with no wheel) it is asyncio and h11, as before.

The protocol classes are named here, at module level, so a worker process (uvicorn spawns them) can import them.
"""

from __future__ import annotations

import importlib.util

from uvicorn.protocols.http.h11_impl import H11Protocol

from app import live

# How long a stopping server waits for requests other than streams (a photo upload, an import) before it cancels
# them. Streams end at once.
GRACE_SECONDS = 10


class StreamEndingH11(H11Protocol):
    """uvicorn's h11 protocol, ending the process's live streams when the server asks connections to shut down."""

    def shutdown(self) -> None:
        live.stop_streams()
        super().shutdown()


if importlib.util.find_spec("httptools") is not None:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class StreamEndingHttpTools(HttpToolsProtocol):
        """uvicorn's httptools protocol, ending the process's live streams when the server shuts down."""

        def shutdown(self) -> None:
            live.stop_streams()
            super().shutdown()

    HTTP: type = StreamEndingHttpTools
else:  # pragma: no cover - a platform without httptools' wheel
    HTTP = StreamEndingH11

LOOP = "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"
