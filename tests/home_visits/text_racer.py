"""One 'server process' for tests/home_visits/test_texts.py: binds the test database, wires the SMS gateway from the
environment as create_app does, and at each given moment runs the visit timer and the text sender (four of each at
once), starting together with the other racer. Prints how many texts it sent."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import time


async def main(start_at: float, moments: list[str]) -> None:
    from app import db
    from app.domain.home_visits import service as visits
    from app.domain.notifications import sms
    from app.settings import Settings

    settings = Settings.from_env()
    engine = db.bind(settings.database_url)
    if settings.is_postgres:
        await engine.start_connection_pool(min_size=1, max_size=4)

    async def text(to: str, body: str, reference: str) -> None:
        await sms.send(settings, to, body, reference)

    visits.set_texter(text, settings.public_url)
    sent = 0
    for i, moment in enumerate(moments):
        while time.time() < start_at + 0.6 * i:
            await asyncio.sleep(0.002)
        now = dt.datetime.fromisoformat(moment)
        await asyncio.gather(*[visits.tick(now) for _ in range(4)])
        sent += sum(await asyncio.gather(*[visits.send_texts(now) for _ in range(4)]))
    print(sent)
    if settings.is_postgres:
        await engine.close_connection_pool()
    await db.close(engine)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main(float(sys.argv[1]), sys.argv[2:]))
