#!/bin/sh
# Fault suite (TAP, make check-faults): two writers at once.
#
# On a generated 2,000-image legacy root (bench/gp-mkbench):
#   - two migrations started together, the second after several offsets:
#     exactly one runs, the other exits 1 at once naming the first's pid
#     and command line; the root ends byte for byte (paths, modes, owners,
#     sizes, link counts, sha256) in the tree of an uninterrupted run,
#     with every tag the generator wrote, and no temporary or marker;
#   - the same with --wait (migrate, migrate --sync each, run migrate):
#     both exit 0, one after the other, same tree;
#   - a root locked by another process (flock(1) on the directory): a
#     writer is refused naming it, readers (verify, save) and a dry run
#     are not;
#   - --target: two runs into one target (one refused, or --wait: both),
#     two runs into different targets of one parent (both proceed); each
#     target equals an uninterrupted --target run, nothing is left beside;
#   - concurrent saves to one -o FILE without O_TMPFILE
#     (GP_SAVE_NO_O_TMPFILE=1): every save that exits 0 leaves a whole,
#     correct file at the name (the same bytes as a lone save), and no
#     temporary remains;
#   - save -o into a read-only directory: exit 1, the error names the
#     output file, not a temporary.
set -u

top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${GP_TOP_BUILDDIR:-.}
GRAPHPIPE=${GRAPHPIPE:-$top_builddir/graphpipe}
MKBENCH=${MKBENCH:-$top_builddir/bench/gp-mkbench}
images=${GP_FAULTS_IMAGES:-2000}

. "$top_srcdir/tests/migrate-tap.sh"

[ -x "$MKBENCH" ] || skip_all "$MKBENCH not built"
command -v flock > /dev/null 2>&1 || skip_all "flock(1) missing (Debian package util-linux)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gp-faults-conc-XXXXXX") || exit 99
mounts=""
cleanup () {
  for m in $mounts; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# leftovers DIR: temporaries, markers and lock files under DIR.
leftovers () {
  find "$1" \( -name '*.gp-tmp' -o -name '*.gp-lock' -o -name '*.gp-target' -o -name '.graphpipe-unsynced' \
               -o -path '*/layerdb/tmp/*' \) -print
}
# refs STORE: the number of references in its repositories.json.
refs () {
  grep -o '":"sha256:[0-9a-f]\{64\}"' "$1/image/aufs/repositories.json" 2>/dev/null | wc -l | tr -d ' '
}

# same_tree NAME DIR REF: DIR is byte for byte REF's tree, nothing left over.
same_tree () {
  name=$1 dir=$2 ref=$3
  snapshot "$dir" > "$tmp/snap"
  problems=""
  cmp -s "$ref.snap" "$tmp/snap" || problems="$problems tree-differs"
  leftovers "$(dirname "$dir")" > "$tmp/left"
  [ -s "$tmp/left" ] && problems="$problems leftovers"
  [ "$(refs "$dir")" = "$ntags" ] || problems="$problems tags($(refs "$dir")-of-$ntags)"
  if [ -z "$problems" ]; then
    ok "$name"
    return 0
  fi
  not_ok "$name:$problems"
  diff "$ref.snap" "$tmp/snap" | sed 's/^/#   snap: /' | head -10
  sed 's/^/#   left: /' "$tmp/left" | head -5
  return 1
}

# ---- the root and the uninterrupted runs ----
# One root, $tmp/run/root, put back to its generated state after every
# migration by `gp-mkbench --set-aside` (renames only: copying 40,000
# files each time would take most of the suite's time).
mkdir "$tmp/run" "$tmp/aside"
"$MKBENCH" --kind=meta --images="$images" --seed=12 --tags-out="$tmp/tags" "$tmp/run/root" > "$tmp/mk.log" 2>&1 ||
  bail_out "gp-mkbench failed: $(cat "$tmp/mk.log")"
ntags=$(wc -l < "$tmp/tags" | tr -d ' ')
diag "$(sed "s|$tmp|TMP|" "$tmp/mk.log")"
root=$tmp/run/root
(cd "$root" && LC_ALL=C find . | LC_ALL=C sort) > "$tmp/pristine.listing"
naside=0
reset_root () {
  naside=$((naside + 1))
  "$MKBENCH" --set-aside="$tmp/aside/$naside" "$root" > /dev/null 2>&1 || bail_out "cannot set the migration aside"
  (cd "$root" && LC_ALL=C find . | LC_ALL=C sort) | cmp -s - "$tmp/pristine.listing" ||
    bail_out "$root: not back to its generated state"
  # (removed, so that the link counts of the hard-linked helpers are back)
  rm -rf "$tmp/aside/$naside"
}
mkdir "$tmp/ref"
start=$(date +%s.%N)
"$GRAPHPIPE" migrate -q --root "$root" > "$tmp/ref.log" 2>&1 ||
  bail_out "uninterrupted migration failed: $(cat "$tmp/ref.log")"
diag "an uninterrupted migration takes $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
snapshot "$root" > "$tmp/ref/root.snap"
ok_eq "$(refs "$root")" "$ntags" "the uninterrupted migration has every tag the generator wrote ($ntags)"

# Readers of a store that another process holds locked go on.
# (flock -o: the lock stays with flock(1) itself, not its sleeping child)
flock -n -o "$root" sleep 30 &
holder=$!
release () {
  pkill -P $holder sleep 2> /dev/null
  kill $holder 2> /dev/null
  wait $holder 2> /dev/null
}
sleep 0.3
"$GRAPHPIPE" verify -q --root "$root" > "$tmp/b.log" 2>&1
ok_eq "$?" 0 "verify of a locked store goes on (readers take no lock)"
"$GRAPHPIPE" save -q --root "$root" -o "$tmp/locked.tar" "$(head -1 "$tmp/tags")" > "$tmp/b.log" 2>&1
ok_eq "$?" 0 "save from a locked store goes on"
release
# The saves' references (the store is set aside below).
names=$(tr '\n' ' ' < "$tmp/tags")
mkdir -p "$tmp/save" "$tmp/store"
"$GRAPHPIPE" save -q --root "$root" -o "$tmp/save/ref.tar" $names > "$tmp/s.log" 2>&1 ||
  bail_out "a lone save failed: $(cat "$tmp/s.log")"
"$GRAPHPIPE" save -q --root "$root" --compress=gzip -o "$tmp/save/ref.tar.gz" $names > "$tmp/s.log" 2>&1 ||
  bail_out "a lone save failed: $(cat "$tmp/s.log")"
reset_root

# A root locked by another process: writers refused naming it.
flock -n -o "$root" sleep 30 &
holder=$!
sleep 0.3
"$GRAPHPIPE" migrate -q --root "$root" > "$tmp/b.log" 2>&1
ok_eq "$?" 1 "a migration of a root another process holds locked exits 1"
ok_grep "$tmp/b.log" "(pid $holder: flock -n -o $root sleep 30)" "... naming that process: $(sed "s|$tmp|TMP|g" "$tmp/b.log" | head -1)"
(cd "$root" && LC_ALL=C find . | LC_ALL=C sort) > "$tmp/listing"
if cmp -s "$tmp/listing" "$tmp/pristine.listing"; then
  ok "... and writes nothing"
else
  not_ok "... and writes nothing"
  diff "$tmp/pristine.listing" "$tmp/listing" | sed 's/^/#   /' | head -5
fi
"$GRAPHPIPE" migrate -q -n --root "$root" > "$tmp/b.log" 2>&1
ok_eq "$?" 0 "a dry run takes no lock"
release

mkdir "$tmp/reft"
"$GRAPHPIPE" migrate -q --root "$root" --target "$tmp/reft/t" > "$tmp/reft.log" 2>&1 ||
  bail_out "uninterrupted --target migration failed: $(cat "$tmp/reft.log")"
snapshot "$tmp/reft/t" > "$tmp/reft/t.snap"

# ---- two migrations of one root ----
# pair ARGS_B...: migrate the root with run A (migrate -j 1), and after
# $offset seconds run B (graphpipe ARGS_B); sets pid_a, rc_a, pid_b, rc_b.
pair () {
  "$GRAPHPIPE" migrate -q -j 1 --root "$root" > "$tmp/a.log" 2>&1 &
  pid_a=$!
  sleep "$offset"
  "$GRAPHPIPE" "$@" > "$tmp/b.log" 2>&1 &
  pid_b=$!
  wait $pid_a
  rc_a=$?
  wait $pid_b
  rc_b=$?
}

# One runs, the other is refused and names it (either may win the race
# at offset 0).
for offset in 0 0.2 0.6 1.2; do
  pair migrate -q --root "$root"
  if [ "$rc_a" = 0 ] && [ "$rc_b" = 1 ] && grep -q "another graphpipe run.*(pid $pid_a: .*migrate" "$tmp/b.log"; then
    ok "two migrations, the second after ${offset} s: the first runs, the second exits 1 naming it"
  elif [ "$rc_b" = 0 ] && [ "$rc_a" = 1 ] && grep -q "another graphpipe run.*(pid $pid_b: .*migrate" "$tmp/a.log"; then
    ok "two migrations, the second after ${offset} s: the second won the race, the first exits 1 naming it"
  else
    not_ok "two migrations, the second after ${offset} s: exactly one runs (exits $rc_a and $rc_b)"
    sed 's/^/#   a: /' "$tmp/a.log" | head -5
    sed 's/^/#   b: /' "$tmp/b.log" | head -5
  fi
  same_tree "... the root is the uninterrupted run's tree with every tag" "$root" "$tmp/ref/root"
  reset_root
done

# --wait: the second waits for the first, then finds everything done.
offset=0.3
for how in "migrate" "migrate --sync each" "run migrate --driver aufs"; do
  pair $how --progress=plain --wait --root "$root"
  if [ "$rc_a" = 0 ] && [ "$rc_b" = 0 ] && grep -q "waiting for the graphpipe run writing it (pid $pid_a: " "$tmp/b.log"; then
    ok "migrate and 'graphpipe $how --wait' together: the second waits for the first, both exit 0"
  else
    not_ok "migrate and 'graphpipe $how --wait' together: both exit 0 (exits $rc_a and $rc_b)"
    sed 's/^/#   a: /' "$tmp/a.log" | head -5
    sed 's/^/#   b: /' "$tmp/b.log" | head -5
  fi
  same_tree "... the root is the uninterrupted run's tree with every tag" "$root" "$tmp/ref/root"
  reset_root
done

# ---- --target ----
# tpair NAME TARGET_A TARGET_B [ARGS_B...]: two --target runs.
tpair () {
  ta=$1 tb=$2
  shift 2
  "$GRAPHPIPE" migrate -q -j 1 --root "$root" --target "$ta" > "$tmp/a.log" 2>&1 &
  pid_a=$!
  sleep 0.2
  "$GRAPHPIPE" migrate -q --root "$root" --target "$tb" "$@" > "$tmp/b.log" 2>&1 &
  pid_b=$!
  wait $pid_a
  rc_a=$?
  wait $pid_b
  rc_b=$?
}
rm -rf "$tmp/tg"
mkdir "$tmp/tg"
tpair "$tmp/tg/t" "$tmp/tg/t"
if [ "$rc_a" = 0 ] && [ "$rc_b" = 1 ] && grep -q "another graphpipe run.*(pid $pid_a: " "$tmp/b.log"; then
  ok "two --target runs into one target: the first runs, the second exits 1 naming it"
else
  not_ok "two --target runs into one target: one runs, the other is refused (exits $rc_a and $rc_b)"
  sed 's/^/#   a: /' "$tmp/a.log" | head -5
  sed 's/^/#   b: /' "$tmp/b.log" | head -5
fi
same_tree "... the target is the uninterrupted --target run's tree" "$tmp/tg/t" "$tmp/reft/t"
ok_eq "$(ls -A "$tmp/tg")" "t" "... nothing else is left beside it"

rm -rf "$tmp/tg"
mkdir "$tmp/tg"
tpair "$tmp/tg/t" "$tmp/tg/t" --wait
ok_eq "$rc_a:$rc_b" "0:0" "two --target runs into one target with --wait: both exit 0"
same_tree "... the target is the uninterrupted --target run's tree" "$tmp/tg/t" "$tmp/reft/t"

rm -rf "$tmp/tg"
mkdir "$tmp/tg"
tpair "$tmp/tg/t1" "$tmp/tg/t2"
ok_eq "$rc_a:$rc_b" "0:0" "two --target runs into different targets of one parent: both proceed"
same_tree "... the first target is the uninterrupted --target run's tree" "$tmp/tg/t1" "$tmp/reft/t"
same_tree "... the second too" "$tmp/tg/t2" "$tmp/reft/t"
ok_eq "$(ls -A "$tmp/tg" | LC_ALL=C sort | tr '\n' ' ')" "t1 t2 " "... nothing else is left beside them"

# ---- concurrent saves to one file, without O_TMPFILE ----
# The store to save from: the root migrated once more.
"$GRAPHPIPE" migrate -q --root "$root" > "$tmp/ref.log" 2>&1 || bail_out "migration failed: $(cat "$tmp/ref.log")"
store=$root
# saver N OUT: one save; when it exits 0, the file at OUT must be whole
# and correct right then (compared at once, while the others go on).
saver () {
  GP_SAVE_NO_O_TMPFILE=1 "$GRAPHPIPE" save -q --root "$store" -o "$2" $names > "$tmp/s$1.log" 2>&1
  rc=$?
  verdict=failed
  if [ "$rc" = 0 ]; then
    case $2 in
      *.gz) ref=$tmp/save/ref.tar.gz ;;
      *) ref=$tmp/save/ref.tar ;;
    esac
    if cmp -s "$2" "$ref"; then verdict=whole; else verdict=WRONG; fi
  fi
  echo "$rc $verdict" > "$tmp/s$1.result"
}
for round in 1 2 3; do
  case $round in
    3) out=$tmp/save/out.tar.gz ;;
    *) out=$tmp/save/out.tar ;;
  esac
  rm -f "$tmp/save/out.tar" "$tmp/save/out.tar.gz" "$tmp"/s*.result
  k=1
  while [ $k -le 4 ]; do
    saver $k "$out" &
    [ $round = 2 ] && sleep 0.05
    k=$((k + 1))
  done
  wait
  results=$(cat "$tmp"/s*.result | sort | uniq -c | awk '{ printf "%s x \"%s %s\" ", $1, $2, $3 }')
  if grep -q 'WRONG' "$tmp"/s*.result || ! grep -q '^0 whole' "$tmp"/s*.result; then
    not_ok "4 concurrent saves to one file ($(basename "$out"), no O_TMPFILE, round $round): every exit 0 leaves the whole file ($results)"
    sed 's/^/#   /' "$tmp"/s[1-4].log | head -10
  else
    ok "4 concurrent saves to one file ($(basename "$out"), no O_TMPFILE, round $round): every exit 0 leaves the whole file ($results)"
  fi
  ok_eq "$(ls -A "$tmp/save" | grep -v '^ref\.tar' | tr '\n' ' ')" "$(basename "$out") " "... and nothing else is left"
done

# ---- save into a read-only directory ----
rodir=$tmp/ro
mkdir "$rodir"
ro_how=""
if [ "$(id -u)" = 0 ]; then
  if mount -t tmpfs -o size=1m,ro gp-faults-ro "$rodir" 2> "$tmp/mount.err"; then
    mounts="$rodir $mounts"
    ro_how="a read-only tmpfs"
  fi
else
  chmod 0555 "$rodir"
  ro_how="a directory without write permission"
fi
if [ -z "$ro_how" ]; then
  skip "save into a read-only directory" "cannot mount a tmpfs ($(cat "$tmp/mount.err"))"
else
  for tmpfile in 0 1; do
    GP_SAVE_NO_O_TMPFILE=$tmpfile "$GRAPHPIPE" save -q --root "$store" -o "$rodir/out.tar" "$(head -1 "$tmp/tags")" \
      > "$tmp/ro.log" 2>&1
    rc=$?
    if [ "$rc" = 1 ] && grep -q "$rodir/out.tar: cannot create: " "$tmp/ro.log" && ! grep -q 'gp-tmp' "$tmp/ro.log"; then
      ok "save -o into $ro_how (GP_SAVE_NO_O_TMPFILE=$tmpfile): exit 1 naming the output: $(sed "s|$tmp|TMP|" "$tmp/ro.log" | head -1)"
    else
      not_ok "save -o into $ro_how (GP_SAVE_NO_O_TMPFILE=$tmpfile): exit 1 naming the output (exit $rc)"
      sed 's/^/#   /' "$tmp/ro.log" | head -5
    fi
  done
fi

done_testing
