"""Drop and create the PostgreSQL test database named by the URL; exit 1 if the server is unreachable."""

import asyncio
import sys
from urllib.parse import urlsplit

import asyncpg


async def main(url: str) -> int:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.replace("_", "").isalnum():
        print(f"unsafe database name {name!r}", file=sys.stderr)
        return 1
    try:
        conn = await asyncpg.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username or "postgres",
                                     password=parts.password, database="postgres", timeout=5)
    except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as exc:
        print(f"PostgreSQL not reachable: {exc}", file=sys.stderr)
        return 1
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
