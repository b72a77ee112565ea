#!/bin/sh
# The data root's mode after a migration (TAP).  The Docker 1.10.3 daemon
# sets its root to 0701 at start-up, before it migrates (setupDaemonRoot,
# daemon/daemon_unix.go, v1.10.3), so a migration in place leaves the root
# at 0701 too: whatever the mode before, with every sync mode, through
# `graphpipe run migrate` too, flushed (fsync of the root) before the
# store is written, and a rerun changes nothing (not even the ctime).
# --target, --dry-run and a root with no graph/ leave the root's mode and
# ctime as they were.  Legacy roots from gp-mklegacy.
set -u

top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${GP_TOP_BUILDDIR:-.}
GRAPHPIPE=${GRAPHPIPE:-$top_builddir/graphpipe}
MKLEGACY=${MKLEGACY:-$top_builddir/tests/gp-mklegacy}

. "$top_srcdir/tests/migrate-tap.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gp-rootmode-XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

cat > "$tmp/legacy.ini" <<'INI'
[root]
driver=vfs
repositories={"Repositories":{"old":{"latest":"4444444444444444444444444444444444444444444444444444444444444444"}}}

[image old]
id=4444444444444444444444444444444444444444444444444444444444444444
tarsplit=no
json={"id":"4444444444444444444444444444444444444444444444444444444444444444","comment":"Imported from -","created":"2014-06-13T14:03:50.821769-07:00","container_config":{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":null,"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null},"docker_version":"1.0.0","architecture":"amd64","os":"linux","Size":2}
files=d data 0755;f data/x 0644 x\n
INI

# mk NAME MODE: a legacy root $tmp/NAME whose own mode is MODE.
mk () {
  rm -rf "$tmp/$1"
  "$MKLEGACY" "$tmp/legacy.ini" "$tmp/$1" || bail_out "gp-mklegacy $1 failed"
  chmod "$2" "$tmp/$1"
}

# mode_ctime DIR: permission bits (with set-id and sticky bits) and ctime.
mode_ctime () {
  stat -c '%a %Z.%z' "$1"
}

# run_ok MSG ARGS...: graphpipe ARGS exits 0.
run_ok () {
  msg=$1
  shift
  "$GRAPHPIPE" "$@" > "$tmp/out" 2>&1
  ok_eq "$?" 0 "$msg: exit 0" || sed 's/^/# /' "$tmp/out" | head -10
}

# In place, from the modes a legacy root is found with (Docker's own
# 0700, a umask-022 0755, set-id and sticky bits).
for m in 700 755 2775 1777; do
  mk "m$m" "$m"
  run_ok "migrate in place (root $m)" migrate -q --root "$tmp/m$m"
  ok_eq "$(stat -c %a "$tmp/m$m")" 701 "migrate in place: a root at $m ends at 0701"
done
ok_eq "$(stat -c %a "$tmp/m700/image/vfs")" 700 "the store itself keeps its modes (image/vfs 0700)"

# A rerun changes nothing, not even the ctime.
sleep 0.02
before=$(mode_ctime "$tmp/m700")
run_ok "rerun" migrate -q --root "$tmp/m700"
ok_eq "$(mode_ctime "$tmp/m700")" "$before" "rerun: mode and ctime of the root unchanged"
# Set back by hand: the rerun (all done already) sets it again, as the
# daemon does at each start.
chmod 700 "$tmp/m700"
run_ok "rerun after chmod 700" migrate -q --root "$tmp/m700"
ok_eq "$(stat -c %a "$tmp/m700")" 701 "rerun of a finished migration sets 0701 again"

# Every way of running the migration in place.
mk each 700
run_ok "--sync each" migrate -q --sync each --root "$tmp/each"
ok_eq "$(stat -c %a "$tmp/each")" 701 "--sync each: 0701"
mk viarun 700
run_ok "run migrate" run -q --driver vfs --root "$tmp/viarun" migrate
ok_eq "$(stat -c %a "$tmp/viarun")" 701 "graphpipe run migrate: 0701"
mk ro 700
run_ok "--read-only-source" migrate -q --read-only-source --root "$tmp/ro"
ok_eq "$(stat -c %a "$tmp/ro")" 701 "--read-only-source (the store is still written in the root): 0701"

# What writes nothing into the root leaves it alone.
mk dry 700
before=$(mode_ctime "$tmp/dry")
run_ok "--dry-run" migrate -q --dry-run --root "$tmp/dry"
ok_eq "$(mode_ctime "$tmp/dry")" "$before" "--dry-run: mode and ctime of the root unchanged"
mk src 700
before=$(mode_ctime "$tmp/src")
run_ok "--target" migrate -q --root "$tmp/src" --target "$tmp/out-store"
ok_eq "$(mode_ctime "$tmp/src")" "$before" "--target: mode and ctime of the source root unchanged"
ok_eq "$(test -d "$tmp/out-store/image/vfs" && echo yes)" yes "--target: the store was written"
mkdir "$tmp/nograph"
chmod 700 "$tmp/nograph"
before=$(mode_ctime "$tmp/nograph")
run_ok "no graph/" migrate -q --driver vfs --root "$tmp/nograph"
ok_eq "$(mode_ctime "$tmp/nograph")" "$before" "a root with no graph/: nothing written, mode unchanged"

# Durable before the store is written: the chmod of the root is followed
# by an fsync of the same descriptor, both before image/ is created.
if command -v strace > /dev/null 2>&1; then
  mk traced 700
  # (LeakSanitizer refuses to run under ptrace: no leak check here.)
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    strace -f -qq -o "$tmp/trace" -e trace=fchmod,fsync,mkdir,mkdirat \
    "$GRAPHPIPE" migrate -q --root "$tmp/traced" > "$tmp/out" 2>&1
  ok_eq "$?" 0 "migrate under strace: exit 0"
  awk -v img="$tmp/traced/image" '
    /fchmod\([0-9]+, 0701\) *= 0/ { if (!chmod) { chmod = NR; fd = $0; sub(/.*fchmod\(/, "", fd); sub(/,.*/, "", fd) } }
    chmod && !synced && $0 ~ "fsync\\(" fd "\\) *= 0" { synced = NR }
    /mkdir/ && index($0, "\"" img "\"") && !made { made = NR }
    END { print (chmod ? "chmod" : "no-chmod"), (synced ? "fsync" : "no-fsync"),
                (made && synced && synced < made ? "before-image" : "not-before-image") }' \
    "$tmp/trace" > "$tmp/order"
  ok_eq "$(cat "$tmp/order")" "chmod fsync before-image" "fchmod 0701 and fsync of the root come before image/ is made"
else
  skip "chmod and fsync before image/ (strace)" "strace not installed"
fi

done_testing
