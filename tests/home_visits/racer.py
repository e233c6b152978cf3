"""One 'server process' for tests/home_visits/test_race.py: binds the test database and runs the visit timer at
the given moments, as every Corridor process's loop does, starting together with the other racer."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import time


async def main(start_at: float, moments: list[str]) -> None:
    from app import db
    from app.domain.home_visits import service as visits
    from app.settings import Settings

    settings = Settings.from_env()
    engine = db.bind(settings.database_url)
    if settings.is_postgres:
        await engine.start_connection_pool(min_size=1, max_size=4)
    taken = 0
    for i, moment in enumerate(moments):
        # Both racers start each moment together (0.4 s apart), four ticks at once in each.
        while time.time() < start_at + 0.4 * i:
            await asyncio.sleep(0.002)
        now = dt.datetime.fromisoformat(moment)
        taken += sum(await asyncio.gather(*[visits.tick(now) for _ in range(4)]))
    print(taken)
    if settings.is_postgres:
        await engine.close_connection_pool()
    await db.close(engine)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main(float(sys.argv[1]), sys.argv[2:]))
