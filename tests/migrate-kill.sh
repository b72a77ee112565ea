#!/bin/sh
# Kill-and-rerun test of `graphpipe migrate` (TAP): the golden legacy root
# is migrated with the process SIGKILLed at a handful of crash points
# (GRAPHPIPE_TEST_CRASH_AT, see stages/common/migrate-common.c) and at a
# few wall-clock delays; a rerun must then end in exactly the golden tree
# (expected/tree.txt: no stale temporaries, same bytes, modes and links),
# and a further run must change nothing.
set -u

top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${GP_TOP_BUILDDIR:-.}
shared=${GP_SHARED_DIR:-$top_builddir/tests/shared}
golden=$shared/golden/public
GRAPHPIPE=${GRAPHPIPE:-$top_builddir/graphpipe}
treesh=$top_srcdir/tests/golden-tree.sh
# Crash points to try (1-based), and delays in seconds.
points=${GP_KILL_POINTS:-1 5 12 25 40 52 60 65}
delays=${GP_KILL_DELAYS:-0.1 0.3}

. "$top_srcdir/tests/migrate-tap.sh"
. "$top_srcdir/tests/forensics-lib.sh"
plan 11
fx_require_golden
fx_skip_unless_root

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gp-kill-XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

fx_extract "$tmp/pristine" || bail_out "cannot extract legacy-root.tar.gz"
fx_normalise_tree < "$golden/expected/tree.txt" > "$tmp/expected"

# How many crash points a whole run passes.
fx_extract "$tmp/count"
GRAPHPIPE_TEST_CRASH_LOG=1 "$GRAPHPIPE" migrate -q --root "$tmp/count" 2> "$tmp/count.log" > /dev/null
total=$(grep -c '^crash point' "$tmp/count.log")
if [ "$total" -gt 20 ]; then ok "a run passes $total crash points"; else not_ok "a run passes $total crash points"; fi

# check_rerun NAME ROOT: rerun, compare with the golden tree, run again.
check_rerun () {
  name=$1 root=$2
  "$GRAPHPIPE" migrate -q --root "$root" > "$tmp/rerun.log" 2>&1
  rc=$?
  sh "$treesh" "$tmp/pristine" "$root" | fx_normalise_tree > "$tmp/tree"
  if [ "$rc" = 0 ] && diff -u "$tmp/expected" "$tmp/tree" > "$tmp/diff"; then
    fx_snapshot "$root" > "$tmp/snap1"
    "$GRAPHPIPE" migrate -q --root "$root" > /dev/null 2>&1
    fx_snapshot "$root" > "$tmp/snap2"
    if cmp -s "$tmp/snap1" "$tmp/snap2"; then
      ok "$name: rerun ends in the golden tree, a further run changes nothing"
    else
      not_ok "$name: a further run changed something"
      diff "$tmp/snap1" "$tmp/snap2" | sed 's/^/# /' | head -10
    fi
  else
    not_ok "$name: rerun ends in the golden tree (rerun exit $rc)"
    sed 's/^/# /' "$tmp/rerun.log" | head -10
    sed 's/^/# /' "$tmp/diff" | head -20
  fi
}

for n in $points; do
  [ "$n" -le "$total" ] || continue
  root=$tmp/root
  fx_extract "$root"
  GRAPHPIPE_TEST_CRASH_AT=$n "$GRAPHPIPE" migrate -q --root "$root" > /dev/null 2>&1
  rc=$?
  if [ "$rc" != 137 ]; then
    not_ok "crash point $n: killed (exit $rc)"
    continue
  fi
  check_rerun "killed at crash point $n" "$root"
done

for d in $delays; do
  root=$tmp/root
  fx_extract "$root"
  "$GRAPHPIPE" migrate -q --root "$root" > /dev/null 2>&1 &
  pid=$!
  sleep "$d"
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  check_rerun "killed after ${d}s" "$root"
done

done_testing
