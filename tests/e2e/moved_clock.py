"""`corridor serve` whose clock a browser test can move, on the fake push network of tests/e2e/fake_push_network.py.

Browser tests only: python tests/e2e/moved_clock.py CLOCK_FILE PUSH_HOST PUSH_PORT serve --port N

The clock is a true boundary: the unit tests move it with `frozen_clock` (tests/conftest.py), which replaces
`app.clock.now`. A server in its own process needs the same, and several processes must agree on the time, so they
all read one file: it holds an offset in seconds (absent or empty: none), added to the real time by `app.clock.now`,
the one source of the time in the app. The test moves the clock forward by writing a larger offset; the servers'
timers, sessions and everything else run unchanged. The rest of the arguments go to fake_push_network.py.
"""

from __future__ import annotations

import datetime as dt
import os
import sys

from app import clock


def main() -> None:
    path, argv = sys.argv[1], sys.argv[2:]
    real_now = clock.now
    seen: dict[str, object] = {"stamp": None, "offset": dt.timedelta(0)}

    def now() -> dt.datetime:
        try:
            info = os.stat(path)
            stamp = (info.st_ino, info.st_mtime_ns, info.st_size)  # the test replaces the file: a new inode
        except FileNotFoundError:
            stamp = None
        if stamp != seen["stamp"]:
            try:
                with open(path) as f:
                    text = f.read().strip()
            except FileNotFoundError:
                text = ""
            seen["stamp"], seen["offset"] = stamp, dt.timedelta(seconds=float(text or 0))
        return real_now() + seen["offset"]

    clock.now = now
    sys.argv = [sys.argv[0], *argv]
    import fake_push_network  # beside this file (the script's folder is first on sys.path)

    fake_push_network.main()


if __name__ == "__main__":
    main()
