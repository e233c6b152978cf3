"""`corridor serve` on a network where one push service host name leads to a test's fake push service.

Browser tests only: python tests/e2e/fake_push_network.py HOST PORT serve --port N

The app accepts only push endpoints that are https on port 443 at a public address (app/domain/notifications/
push.py: a forged subscription must not make the server reach inside the school's network). A test's fake push
service listens on 127.0.0.1, so this process stands in for the network and nothing else:
- name resolution, where the app checks an endpoint, answers a public address for HOST (the unit tests stand in
  for `push.resolve` the same way); that address is never connected to;
- the HTTP client that sends pushes (aiohttp, under pywebpush) reaches HOST:443 at 127.0.0.1:PORT.
TLS is still verified: the test puts the fake's certificate in SSL_CERT_FILE. Every other host resolves as usual,
and the app itself (PUSH_SERVICE_HOSTS, the https/port/public-address checks, the sending) runs unchanged.
"""

from __future__ import annotations

import socket
import sys

from aiohttp import connector, resolver

from app import cli
from app.domain.notifications import push

PUBLIC_ADDRESS = "93.184.215.14"  # what HOST "resolves to" for the app's check: any public address would do


def main() -> None:
    host, port, argv = sys.argv[1].lower(), int(sys.argv[2]), sys.argv[3:]
    real_resolve = push.resolve

    async def resolve(name: str) -> list[str]:
        return [PUBLIC_ADDRESS] if name.lower() == host else await real_resolve(name)

    class ToTheFake(resolver.ThreadedResolver):
        async def resolve(self, name: str, port_: int = 0, family: socket.AddressFamily = socket.AF_INET):
            if name.lower() == host and port_ == 443:
                return [{"hostname": name, "host": "127.0.0.1", "port": port, "family": socket.AF_INET,
                         "proto": 0, "flags": socket.AI_NUMERICHOST}]
            return await super().resolve(name, port_, family)

    push.resolve = resolve
    connector.DefaultResolver = ToTheFake  # the resolver every new aiohttp connector makes for itself
    cli.main(argv)


if __name__ == "__main__":
    main()
