# Helpers of the fault suites (tests/faults-*.sh; sourced after
# tests/migrate-tap.sh).  They set:
#   GRAPHPIPE, MKLEGACY, fixture, tmp (a world-readable scratch directory
#   removed at exit, with every mount in $mounts unmounted first)
# and define snapshot, fresh_root, the uninterrupted reference runs and
# the checks every fault case ends with.
top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${GP_TOP_BUILDDIR:-.}
GRAPHPIPE=${GRAPHPIPE:-$top_builddir/graphpipe}
MKLEGACY=${MKLEGACY:-$top_builddir/tests/gp-mklegacy}
fixture=$top_srcdir/tests/crash-fixture.ini

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gp-faults-XXXXXX") || exit 99
chmod 755 "$tmp"
mounts=""
faults_cleanup () {
  for m in $mounts; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
  done
  chattr -R -i "$tmp" 2>/dev/null
  rm -rf "$tmp"
}
trap faults_cleanup EXIT
trap 'exit 1' INT TERM

# The pristine legacy root, and the v1 ID of each tag of it.
"$MKLEGACY" "$fixture" "$tmp/pristine" > /dev/null || bail_out "gp-mklegacy failed"
chmod 755 "$tmp/pristine"
# v1_of NAME TAG: the v1 ID repositories-vfs gives NAME:TAG.
v1_of () {
  sed 's/.*"'"$1"'":{\([^}]*\)}.*/\1/' "$tmp/pristine/repositories-vfs" |
    tr ',' '\n' | sed -n 's/^"'"$2"'":"\([0-9a-f]*\)"$/\1/p'
}
# Every tag of the fixture, as repositories.json names it.
all_tags="app:latest app2:latest base:1.0 base:latest crc:latest empty:latest old:latest other:latest registry.example.com:5000/team/app2:v2"

# fresh_root DIR: a copy of the pristine root.
fresh_root () {
  rm -rf "$1"
  cp -a "$tmp/pristine" "$1"
}

# The uninterrupted results: in place, and into a --target.
fresh_root "$tmp/ref"
"$GRAPHPIPE" migrate -q --root "$tmp/ref" > "$tmp/ref.log" 2>&1 ||
  bail_out "uninterrupted migration failed: $(cat "$tmp/ref.log")"
snapshot "$tmp/ref" > "$tmp/ref.snap"
"$GRAPHPIPE" migrate -q --root "$tmp/pristine" --target "$tmp/ref-target" > "$tmp/ref.log" 2>&1 ||
  bail_out "uninterrupted --target migration failed: $(cat "$tmp/ref.log")"
snapshot "$tmp/ref-target" > "$tmp/ref-target.snap"
for t in $all_tags; do
  grep -qF "\"$t\":" "$tmp/ref/image/vfs/repositories.json" ||
    bail_out "the uninterrupted migration lacks tag $t"
done

# tags_in ROOT: the references of ROOT's repositories.json, one a line.
tags_in () {
  grep -o '"[^"]*:[^"]*":"sha256:' "$1/image/vfs/repositories.json" 2>/dev/null |
    sed 's/":"sha256:$//; s/^"//' | LC_ALL=C sort
}

# expect_failure NAME RC LOG PATTERN...: exit 1 and stderr with a line
# holding every PATTERN (extended regular expressions, in that order).
expect_failure () {
  name=$1 rc=$2 log=$3
  shift 3
  re=$(printf '%s.*' "$@")
  if [ "$rc" = 1 ] && grep -Eq -- "$re" "$log"; then
    ok "$name: exit 1, $(grep -Eo -- "$re" "$log" | head -1 | cut -c1-160)"
  else
    not_ok "$name: exit 1 (got $rc) and an error matching '$re'"
    sed 's/^/#   | /' "$log" | head -12
  fi
}

# rerun_matches NAME DIR REFSNAP ARGS...: `graphpipe migrate -q ARGS`
# exits 0 and DIR ends in exactly the snapshot REFSNAP (every tag
# included).
rerun_matches () {
  name=$1 dir=$2 refsnap=$3
  shift 3
  "$GRAPHPIPE" migrate -q "$@" > "$tmp/rerun.log" 2>&1
  rc=$?
  snapshot "$dir" > "$tmp/rerun.snap"
  if [ "$rc" = 0 ] && cmp -s "$refsnap" "$tmp/rerun.snap"; then
    ok "$name: the rerun exits 0 and ends in the uninterrupted tree ($(tags_in "$dir" | wc -l) tags)"
  else
    not_ok "$name: the rerun exits 0 ($rc) and ends in the uninterrupted tree"
    sed 's/^/#   | /' "$tmp/rerun.log" | head -8
    diff "$refsnap" "$tmp/rerun.snap" | head -10 | sed 's/^/#   /'
  fi
}
