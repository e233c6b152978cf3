"""The floor: a bare Litestar endpoint returning a small text, served exactly as `corridor serve` serves the app.

No middleware, no templates, no database. Every scenario's throughput is reported as a fraction of this one's,
measured in the same run on the same machine, because absolute figures drift on shared machines.
"""

from litestar import Litestar, get


@get("/", media_type="text/plain", sync_to_thread=False)
def floor() -> str:
    return "ok"


def create_app() -> Litestar:
    return Litestar(route_handlers=[floor], openapi_config=None, debug=False)
