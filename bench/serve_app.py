"""Serve an ASGI app factory through `corridor serve` itself, so the server configuration (uvicorn, its flags,
workers, loop and HTTP implementation) is the app's by construction, not a copy that could drift.

    python -m bench.serve_app bench.floor_app:create_app serve --host 127.0.0.1 --port 8123

The floor uses it; so do the experiments' variants of the app (bench/variants.py).
"""

import sys

import uvicorn

from app import cli

_run = uvicorn.run


def main() -> None:
    target, rest = sys.argv[1], sys.argv[2:]

    def run_target(app_ref, **kwargs):
        assert app_ref == "app.main:create_app", f"corridor serve now serves {app_ref!r}: update bench/serve_app.py"
        _run(target, **kwargs)

    uvicorn.run = run_target
    cli.main(rest)


if __name__ == "__main__":
    main()
