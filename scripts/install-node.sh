#!/usr/bin/env bash
# Node.js and npm for building the web app (web/), from the distribution, only when missing.
# The build works with Debian 12's Node.js 18 as well as newer ones (Vite 6, TypeScript 5).
set -euo pipefail
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  exit 0
fi
if [ -n "${LANDMARKET_NO_APT:-}" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "The web app needs Node.js 18+ and npm: install them with your package manager." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; fi
echo "installing system packages: nodejs npm"
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/tmp/landmarket-apt.log 2>&1; then
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm
fi
