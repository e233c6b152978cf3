#!/usr/bin/env bash
# The proxy journey (tests/e2e/test_proxy_journey.py) runs Corridor behind Debian's Caddy, terminating TLS with a
# certificate made at test time. Caddy is not needed to run Corridor, only to test the production set-up.
set -euo pipefail
if command -v caddy >/dev/null; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's caddy for the HTTPS proxy test..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq caddy >/dev/null
  # Debian's package enables a caddy service on ports 80 and 443 where systemd runs. The test starts its own
  # Caddy on a free port: put the machine back as it was.
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    systemctl disable --now caddy >/dev/null 2>&1 && echo "  (stopped and disabled the caddy service the package started)"
  fi
  exit 0
fi
echo "The HTTPS proxy test needs Caddy (it will be skipped without it, and fails under CI=true). Install it with:" >&2
echo "    sudo apt-get install caddy && sudo systemctl disable --now caddy" >&2
exit 0
