#!/usr/bin/env bash
# Installs what landmarket needs from the system, only when it is missing:
# PostgreSQL server binaries, PostGIS for that PostgreSQL version, GDAL's command-line tools,
# Poppler's PDF tools (tests) and Python's venv module. Quick (no apt call at all) when everything is present.
# Set LANDMARKET_NO_APT=1 to forbid installing; the script then only reports what is missing.
set -euo pipefail

missing=()

pg_versions() {
  ls -1 /usr/lib/postgresql 2>/dev/null | sort -rn || true
}

have_server() {
  local v
  for v in $(pg_versions); do
    [ -x "/usr/lib/postgresql/$v/bin/initdb" ] && return 0
  done
  command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]
}

postgis_missing_for() {
  local v out=()
  for v in $(pg_versions); do
    if [ -x "/usr/lib/postgresql/$v/bin/initdb" ] &&
      [ ! -f "/usr/share/postgresql/$v/extension/postgis.control" ]; then
      out+=("postgresql-$v-postgis-3")
    fi
  done
  echo "${out[@]:-}"
}

have_server || missing+=(postgresql)
command -v ogr2ogr >/dev/null 2>&1 || missing+=(gdal-bin)
# pdftoppm/pdftotext: the test suite renders and reads the regional PDF report.
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
# tests/scale: a throwaway Redis (limits shared between API processes), PgBouncer
# (transaction pooling) and HAProxy (two API processes behind one address).
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)

if [ ${#missing[@]} -eq 0 ] && [ -z "$(postgis_missing_for)" ]; then
  exit 0
fi

if [ -n "${LANDMARKET_NO_APT:-}" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "landmarket needs: ${missing[*]} $(postgis_missing_for) (PostgreSQL 15+ with PostGIS 3)." >&2
  echo "Install them with your package manager, or set LANDMARKET_DATABASE_URL to a PostGIS server." >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "Missing system packages: ${missing[*]} $(postgis_missing_for)" >&2
    echo "Run as root: apt-get install -y ${missing[*]} $(postgis_missing_for)" >&2
    exit 1
  fi
fi

apt_install() {
  echo "installing system packages: $*"
  # Try with the current package lists first; refresh them only when that fails.
  if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/tmp/landmarket-apt.log 2>&1; then
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
  fi
}

if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}"
fi
# PostGIS must match the installed server's major version, so resolve it after the server.
postgis=$(postgis_missing_for)
if [ -n "$postgis" ]; then
  # shellcheck disable=SC2086
  apt_install $postgis
fi
