#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/browser), only when missing. No test tool
# downloads a browser build of its own: Playwright drives /usr/bin/chromium.
# Without apt (or with LANDMARKET_NO_APT=1) it only reports; the browser tests then skip.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ -n "${LANDMARKET_NO_APT:-}" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium is missing: the browser tests will be skipped (apt-get install chromium)." >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "chromium is missing and this user cannot install it: the browser tests will be skipped." >&2
    exit 0
  fi
fi
echo "installing system packages: chromium"
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/tmp/landmarket-apt.log 2>&1; then
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
fi
