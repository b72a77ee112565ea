#!/bin/sh
# A modern Docker daemon on a migrated root (TAP): the golden legacy root
# is migrated, then Docker 20.10 (dockerd, vfs) is started on it with a
# private socket, no networking setup: it must list every tag with Docker
# 1.10.3's image ID (expected/files/image/vfs/repositories.json) and
# `docker save` each one.  Skipped without root, dockerd or docker, and
# with GP_SKIP_DOCKERD=1 (failed instead under GP_REQUIRE_ALL).
set -u

top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${GP_TOP_BUILDDIR:-.}
shared=${GP_SHARED_DIR:-$top_builddir/tests/shared}
golden=$shared/golden/public
GRAPHPIPE=${GRAPHPIPE:-$top_builddir/graphpipe}

. "$top_srcdir/tests/migrate-tap.sh"
. "$top_srcdir/tests/forensics-lib.sh"
plan 8
fx_require_golden
if [ "$(id -u)" != 0 ]; then
  skip_all "dockerd needs root"
fi
if ! command -v dockerd > /dev/null 2>&1 || ! command -v docker > /dev/null 2>&1; then
  skip_all "dockerd or docker not installed (Debian package docker.io)"
fi
if [ "${GP_SKIP_DOCKERD:-0}" = 1 ]; then
  skip_all "GP_SKIP_DOCKERD=1"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gp-docker-XXXXXX") || exit 99
pid=
cleanup () {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

root=$tmp/root
fx_extract "$root" || bail_out "cannot extract legacy-root.tar.gz"
"$GRAPHPIPE" migrate -q --root "$root" > "$tmp/migrate.log" 2>&1
ok_eq "$?" 0 "migrate exits 0" || sed 's/^/# /' "$tmp/migrate.log"

sock=$tmp/docker.sock
dockerd --data-root "$root" --storage-driver vfs -H "unix://$sock" --pidfile "$tmp/dockerd.pid" \
  --exec-root "$tmp/exec" --iptables=false --ip6tables=false --bridge=none --ip-masq=false \
  > "$tmp/dockerd.log" 2>&1 &
pid=$!
export DOCKER_HOST=unix://$sock
i=0
until docker version > /dev/null 2>&1; do
  i=$((i + 1))
  if [ $i -gt 300 ] || ! kill -0 "$pid" 2>/dev/null; then
    not_ok "dockerd starts on the migrated root"
    sed 's/^/# /' "$tmp/dockerd.log" | tail -20
    done_testing
    exit 1
  fi
  sleep 0.1
done
ok "dockerd $(docker version --format '{{.Server.Version}}' 2>/dev/null) starts on the migrated root"

# Every tag of Docker 1.10.3's repositories.json, with its image ID.
tr ',' '\n' < "$golden/expected/files/image/vfs/repositories.json" |
  sed -n 's/.*"\([^"@]*:[^"@]*\)":"\(sha256:[0-9a-f]*\)".*/\1 \2/p' | LC_ALL=C sort > "$tmp/expected"
docker images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}' | grep -v '^<none>' |
  LC_ALL=C sort > "$tmp/listed"
n=$(wc -l < "$tmp/expected")
if [ "$n" -gt 0 ] && diff -u "$tmp/expected" "$tmp/listed" > "$tmp/diff"; then
  ok "docker images lists all $n tags with Docker 1.10.3's image IDs"
else
  not_ok "docker images lists all $n tags with Docker 1.10.3's image IDs"
  sed 's/^/# /' "$tmp/diff"
fi

while read -r tag id; do
  if docker save -o "$tmp/save.tar" "$tag" > "$tmp/save.log" 2>&1 && [ -s "$tmp/save.tar" ]; then
    ok "docker save $tag"
  else
    not_ok "docker save $tag"
    sed 's/^/# /' "$tmp/save.log"
  fi
done < "$tmp/expected"

done_testing
