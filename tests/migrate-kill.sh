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
shared=${GP_SHARED_DIR:-$top_srcdir/../shared}
golden=$shared/golden/public
GRAPHPIPE=${GRAPHPIPE:-$top_builddir/graphpipe}
treesh=$top_srcdir/tests/golden-tree.sh
# Crash points to try (1-based), and delays in seconds.
points=${GP_KILL_POINTS:-1 5 12 25 40 52 60 65}
delays=${GP_KILL_DELAYS:-0.1 0.3}

if [ ! -f "$golden/legacy-root.tar.gz" ]; then
  echo "1..0 # SKIP golden data not found under $shared (set GP_SHARED_DIR)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "1..0 # SKIP needs root to extract owners and modes"
  exit 0
fi

. "$top_srcdir/tests/migrate-tap.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gp-kill-XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

extract () {
  rm -rf "$1" && mkdir -p "$1" &&
  tar --numeric-owner -p --xattrs --xattrs-include='*' -xzf "$golden/legacy-root.tar.gz" -C "$1"
}
normalise_tree () {
  grep -v '^#' | awk -F '\t' 'BEGIN { OFS = "\t" }
    $7 != "-" && $7 != "" { $5 = "*"; $6 = "*" } { print }'
}
snapshot () {
  (cd "$1" && LC_ALL=C find . -printf '%p\t%y\t%m\t%U:%G\t%s\t%n\t%T@\n' | LC_ALL=C sort &&
   LC_ALL=C find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2)
}

extract "$tmp/pristine" || bail_out "cannot extract legacy-root.tar.gz"
normalise_tree < "$golden/expected/tree.txt" > "$tmp/expected"

# How many crash points a whole run passes.
extract "$tmp/count"
GRAPHPIPE_TEST_CRASH_LOG=1 "$GRAPHPIPE" migrate -q --root "$tmp/count" 2> "$tmp/count.log" > /dev/null
total=$(grep -c '^crash point' "$tmp/count.log")
if [ "$total" -gt 20 ]; then ok "a run passes $total crash points"; else not_ok "a run passes $total crash points"; fi

# check_rerun NAME ROOT: rerun, compare with the golden tree, run again.
check_rerun () {
  name=$1 root=$2
  "$GRAPHPIPE" migrate -q --root "$root" > "$tmp/rerun.log" 2>&1
  rc=$?
  sh "$treesh" "$tmp/pristine" "$root" | normalise_tree > "$tmp/tree"
  if [ "$rc" = 0 ] && diff -u "$tmp/expected" "$tmp/tree" > "$tmp/diff"; then
    snapshot "$root" > "$tmp/snap1"
    "$GRAPHPIPE" migrate -q --root "$root" > /dev/null 2>&1
    snapshot "$root" > "$tmp/snap2"
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
  extract "$root"
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
  extract "$root"
  "$GRAPHPIPE" migrate -q --root "$root" > /dev/null 2>&1 &
  pid=$!
  sleep "$d"
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  check_rerun "killed after ${d}s" "$root"
done

done_testing
