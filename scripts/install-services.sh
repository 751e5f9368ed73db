#!/bin/sh
# Installs Debian's redis-server and postgresql for the tests of Vigil as a shared service,
# when they are missing.
set -e
missing=""
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    missing="$missing postgresql"
fi
if [ -z "$missing" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "$missing missing and apt-get is not here: their tests will be skipped." >&2
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "Installing$missing for the shared-service tests..."
$SUDO apt-get update -qq
# the package's own cluster is not needed: the tests start throwaway ones
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
