#!/usr/bin/env bash
# `make bench`'s set-up: the tools the harness drives, installed only when missing. Nothing here is needed
# by the app itself. wrk and chromium come from Debian's packages (as root); Lighthouse from npm into
# bench/node_modules (pinned by bench/package-lock.json). The Python side (Playwright, httpx, asyncpg) is
# already in the venv from `make install` ('.[test]'): nothing extra is pip-installed.
set -uo pipefail
cd "$(dirname "$0")/.."

apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "Installing wrk (Debian package) for the load scenarios..."
    apt_install wrk || { echo "Could not install wrk." >&2; exit 1; }
  else
    echo "The benchmark drives load with wrk. Install it with:  sudo apt-get install wrk" >&2
    exit 1
  fi
fi

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's chromium for page weight and Lighthouse..."
    apt_install chromium || echo "Could not install chromium: page weight and Lighthouse will be reported as not measured." >&2
  else
    echo "No /usr/bin/chromium (sudo apt-get install chromium): page weight and Lighthouse will not be measured." >&2
  fi
fi

if [ ! -f bench/node_modules/lighthouse/package.json ]; then
  if command -v npm >/dev/null; then
    echo "Installing Lighthouse 12 into bench/node_modules (npm ci)..."
    npm ci --prefix bench --no-audit --no-fund --loglevel=error >/dev/null \
      || echo "Could not install Lighthouse: it will be reported as not run." >&2
  else
    echo "No npm: Lighthouse will be reported as not run (install Node 20 and npm)." >&2
  fi
fi
exit 0
