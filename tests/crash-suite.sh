#!/bin/sh
# Kill-and-rerun suite (TAP), `make check-crash`.
#
# migrate and save run on the legacy root of tests/crash-fixture.ini and
# are SIGKILLed at many points (GRAPHPIPE_TEST_CRASH_AT: the N-th crash
# point, inside the library's durable writes and between the stages'
# steps; GRAPHPIPE_TEST_CRASH_BYTES: once N bytes were written), chosen by
# a seeded generator and by fixed steps, then run again to completion.
# Every time:
#   - the final tree is the one of an uninterrupted run: the listing of
#     tests/golden-tree.sh and a full snapshot (paths, types, modes,
#     owners, sizes, link counts, symlink targets, sha256 of every file);
#   - the source (graph/, the driver's files, containers/*/config.json,
#     repositories-*) is unchanged apart from the helper files Docker
#     itself writes there, nothing else is new outside image/;
#   - no temporary is left anywhere (*.gp-tmp, *.tmp, layerdb/tmp/*);
#   - save: the output file is either absent or complete and identical,
#     and the store is not modified.
# As root with mount(8) working (else skipped with a message): a full
# file system (tmpfs) and a read-only one as the target end with an error
# naming the path and exit 1, and a later run with space or permission
# restored ends in the same tree.
#
# The seed is printed; GP_CRASH_SEED=N replays a run (the crash point
# counts are exact with --jobs 1; with 2 workers the order of their
# points may differ between runs).  GP_CRASH_KILLS scales the number of
# random kills (default 40 per job); GP_CRASH_PARTS selects parts
# (default "migrate powerloss save fs").
set -u

top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${GP_TOP_BUILDDIR:-.}
GRAPHPIPE=${GRAPHPIPE:-$top_builddir/graphpipe}
MKLEGACY=${MKLEGACY:-$top_builddir/tests/gp-mklegacy}
treesh=$top_srcdir/tests/golden-tree.sh
fixture=$top_srcdir/tests/crash-fixture.ini
kills=${GP_CRASH_KILLS:-40}
parts=${GP_CRASH_PARTS:-migrate powerloss save fs}
want_part () {
  case " $parts " in *" $1 "*) return 0 ;; esac
  return 1
}

. "$top_srcdir/tests/migrate-tap.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gp-crash-XXXXXX") || exit 99
mounts=""
cleanup () {
  for m in $mounts; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- seeded generator (an LCG: the same sequence in every shell) ----
seed=${GP_CRASH_SEED:-$(( $(date +%s) % 1000000 + $$ % 1000 ))}
diag "seed $seed (replay with GP_CRASH_SEED=$seed)"
rng=$seed
# rand N: sets r to a number in [1, N].
rand () {
  rng=$(( (rng * 1103515245 + 12345) % 2147483648 ))
  hi=$(( rng / 256 ))
  rng=$(( (rng * 1103515245 + 12345) % 2147483648 ))
  r=$(( (hi * 8388608 + rng / 256) % $1 + 1 ))
}

# ---- listings ----
# source_view ROOT: the entries of the pristine root as they are in ROOT
# (link counts left out: Docker's .migration-tardata is a hard link to
# tar-data.json.gz).
source_view () {
  (cd "$1" && while IFS= read -r p; do
     if [ -L "$p" ]; then
       printf '%s\tl\t%s\n' "$p" "$(readlink "$p")"
     elif [ -d "$p" ]; then
       printf '%s\td\t%s\n' "$p" "$(stat -c '%a %u:%g' "$p")"
     elif [ -e "$p" ]; then
       printf '%s\t%s\t%s\n' "$p" "$(stat -c '%F %a %u:%g %s' "$p")" "$(sha256sum < "$p" | cut -d' ' -f1)"
     else
       printf '%s\tmissing\n' "$p"
     fi
   done < "$tmp/pristine.paths")
}
# new_outside_store ROOT: new entries that are neither in image/ nor one
# of the helper files Docker writes into the source.
new_outside_store () {
  (cd "$1" && LC_ALL=C find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort) |
    LC_ALL=C comm -13 "$tmp/pristine.paths" - |
    grep -Ev '^image(/|$)|^\.migration-v1-images\.json$|^\.migration-v1-tags$|^graph/[0-9a-f]{64}/\.migration-(tardata|size|diffid)$|^containers/[0-9a-f]{64}/config\.v2\.json$'
}
# temps DIR: graphpipe's (and Docker's) temporary names under DIR.
temps () {
  find "$1" \( -name '*.gp-tmp' -o -name '*.tmp' -o -name '.tmp-*' -o -path '*/layerdb/tmp/*' \) -print
}

# ---- the fixture and the uninterrupted runs ----
"$MKLEGACY" "$fixture" "$tmp/pristine" > /dev/null || bail_out "gp-mklegacy failed"
(cd "$tmp/pristine" && LC_ALL=C find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort) > "$tmp/pristine.paths"
source_view "$tmp/pristine" > "$tmp/pristine.view"

# reference NAME ARGS...: an uninterrupted migration of a copy.
reference () {
  ref=$tmp/ref-$1
  shift
  cp -a "$tmp/pristine" "$ref"
  "$GRAPHPIPE" migrate -q --root "$ref" "$@" > "$ref.log" 2>&1 || bail_out "uninterrupted migration failed: $(cat "$ref.log")"
  sh "$treesh" "$tmp/pristine" "$ref" > "$ref.tree"
  snapshot "$ref" > "$ref.snap"
}
reference plain
reference ro --read-only-source
if [ -n "$(temps "$tmp/ref-plain")" ]; then
  not_ok "uninterrupted migration leaves no temporary"
else
  ok "uninterrupted migration leaves no temporary"
fi
ok_eq "$(new_outside_store "$tmp/ref-plain")" "" "uninterrupted migration writes nothing else outside image/"
if cmp -s "$tmp/pristine.view" "$(source_view "$tmp/ref-ro" > "$tmp/v"; echo "$tmp/v")"; then
  ok "--read-only-source leaves the source as it was"
else
  not_ok "--read-only-source leaves the source as it was"
fi

# How many crash points and bytes a whole run passes.
cp -a "$tmp/pristine" "$tmp/count"
GRAPHPIPE_TEST_CRASH_LOG=1 "$GRAPHPIPE" migrate -q -j 1 --root "$tmp/count" > /dev/null 2> "$tmp/count.log"
points=$(grep -c '^crash point' "$tmp/count.log")
bytes=$(sed -n 's/^crash bytes total: //p' "$tmp/count.log")
if [ "$points" -ge 100 ] && [ "${bytes:-0}" -gt 0 ]; then
  ok "a migration passes $points crash points and writes $bytes bytes"
else
  bail_out "a migration passes only $points crash points ($bytes bytes): are the test hooks built in?"
fi
for l in "safeio: temporary created" "safeio: file renamed" "safeio: directory published" \
         "safeio: hard link created" "layer registered" "mapping written" "tags marker written"; do
  ok_grep "$tmp/count.log" "$l" "crash points include '$l'"
done

# check_final NAME ROOT REF [ARGS]: rerun to completion and compare.
# The rerun is `graphpipe $rerun_cmd` (default: migrate).
rerun_cmd=migrate
check_final () {
  name=$1 root=$2 ref=$3
  shift 3
  "$GRAPHPIPE" $rerun_cmd -q --root "$root" "$@" > "$tmp/rerun.log" 2>&1
  rc=$?
  problems=""
  [ "$rc" = 0 ] || problems="$problems rerun-exit-$rc"
  sh "$treesh" "$tmp/pristine" "$root" > "$tmp/tree"
  cmp -s "$ref.tree" "$tmp/tree" || problems="$problems golden-tree-listing"
  snapshot "$root" > "$tmp/snap"
  cmp -s "$ref.snap" "$tmp/snap" || problems="$problems bytes/modes/links"
  temps "$root" > "$tmp/temps"
  [ -s "$tmp/temps" ] && problems="$problems temporaries"
  source_view "$root" > "$tmp/view"
  if [ "$*" = --read-only-source ]; then
    cmp -s "$tmp/pristine.view" "$tmp/view" || problems="$problems source-modified"
  else
    # Only Docker's helper files may differ from the pristine source.
    cmp -s "$ref.view" "$tmp/view" || problems="$problems source-modified"
  fi
  new_outside_store "$root" > "$tmp/new"
  [ -s "$tmp/new" ] && problems="$problems new-files-outside-store"
  if [ -z "$problems" ]; then
    ok "$name"
    return 0
  fi
  not_ok "$name:$problems"
  sed 's/^/#   rerun: /' "$tmp/rerun.log" | head -5
  diff "$ref.tree" "$tmp/tree" | sed 's/^/#   tree: /' | head -10
  diff "$ref.snap" "$tmp/snap" | sed 's/^/#   snap: /' | head -10
  sed 's/^/#   temporary: /' "$tmp/temps" | head -5
  sed 's/^/#   new: /' "$tmp/new" | head -5
  diff "$ref.view" "$tmp/view" | sed 's/^/#   source: /' | head -5
  return 1
}
source_view "$tmp/ref-plain" > "$tmp/ref-plain.view"
source_view "$tmp/ref-ro" > "$tmp/ref-ro.view"

# kill_migrate NAME ROOT ENV ARGS...: a run that must be killed.
kill_migrate () {
  name=$1 root=$2 envs=$3
  shift 3
  env $envs "$GRAPHPIPE" migrate -q --root "$root" "$@" > "$tmp/kill.log" 2>&1
  krc=$?
  if [ "$krc" != 137 ] && [ "$krc" != 0 ]; then
    diag "$name: the killed run exited $krc"
    sed 's/^/#   /' "$tmp/kill.log" | head -5
  fi
}

# ---- migrate: SIGKILL at crash points ----
n=0
victim=$tmp/victim
if want_part migrate; then
one_kill () {  # one_kill LABEL ENV REF ARGS...
  label=$1 envs=$2 ref=$3
  shift 3
  n=$((n + 1))
  rm -rf "$victim"
  cp -a "$tmp/pristine" "$victim"
  kill_migrate "$label" "$victim" "$envs" "$@"
  check_final "migrate #$n killed at $label, rerun (exit of killed run: $krc)" "$victim" "$ref" "$@"
}
i=0
while [ $i -lt "$kills" ]; do
  rand "$points"
  one_kill "crash point $r (random, -j $((i % 2 + 1)))" "GRAPHPIPE_TEST_CRASH_AT=$r" "$tmp/ref-plain" -j $((i % 2 + 1))
  i=$((i + 1))
done
# Evenly spaced points, the first and the last.
step=$(( points / 10 ))
[ "$step" -ge 1 ] || step=1
p=1
while [ $p -le "$points" ]; do
  one_kill "crash point $p (every $step, -j 1)" "GRAPHPIPE_TEST_CRASH_AT=$p" "$tmp/ref-plain" -j 1
  p=$((p + step))
done
one_kill "the last crash point ($points)" "GRAPHPIPE_TEST_CRASH_AT=$points" "$tmp/ref-plain" -j 1
# After N bytes (torn temporaries).
i=0
while [ $i -lt $((kills / 3)) ]; do
  rand "$bytes"
  one_kill "byte $r of $bytes (random)" "GRAPHPIPE_TEST_CRASH_BYTES=$r" "$tmp/ref-plain" -j $((i % 2 + 1))
  i=$((i + 1))
done
for b in 1 $((bytes / 2)) $((bytes - 1)); do
  one_kill "byte $b of $bytes" "GRAPHPIPE_TEST_CRASH_BYTES=$b" "$tmp/ref-plain" -j 1
done
# Killed twice before the rerun.
i=0
while [ $i -lt 5 ]; do
  n=$((n + 1))
  rand "$points"; a=$r
  rand "$points"; b=$r
  rm -rf "$victim"
  cp -a "$tmp/pristine" "$victim"
  kill_migrate "twice" "$victim" "GRAPHPIPE_TEST_CRASH_AT=$a"
  kill_migrate "twice" "$victim" "GRAPHPIPE_TEST_CRASH_AT=$b"
  check_final "migrate #$n killed at crash points $a then $b, rerun" "$victim" "$tmp/ref-plain"
  i=$((i + 1))
done
# --read-only-source: the same with the helper files in the store.
i=0
while [ $i -lt 5 ]; do
  rand "$points"
  one_kill "crash point $r (--read-only-source)" "GRAPHPIPE_TEST_CRASH_AT=$r" "$tmp/ref-ro" --read-only-source
  i=$((i + 1))
done
diag "migrate: $n killed runs"
fi

# ---- migrate: machine crash before the final sync ----
# migrate defers its fsyncs to one sync at the end (gp-sync.c), guarded by
# a marker holding the boot ID.  A crash of the machine is simulated: the
# run is killed, then every file it created is, at random, kept, emptied
# or removed (what a crash can do to unsynced new names), and the rerun
# gets another boot ID (GRAPHPIPE_TEST_BOOT_ID).  It must end in the
# tree of an uninterrupted run, whether the rerun is the default
# `migrate` (--sync batch), `migrate --sync each` or `run migrate`
# (whose default is each): every mode recovers the same way.
if want_part powerloss; then
np=0
tear () {  # tear ROOT: as a crash leaves what the killed run created
  (cd "$1" && LC_ALL=C find . -mindepth 1 -type f -links 1 -printf '%P\n' | LC_ALL=C sort) |
    LC_ALL=C comm -13 "$tmp/pristine.paths" - > "$tmp/torn.cand"
  torn=0
  while IFS= read -r f; do
    [ "$f" = .graphpipe-unsynced ] && continue
    rand 3
    case $r in
      2) : > "$1/$f"; torn=$((torn + 1)) ;;
      3) rm -f "$1/$f"; torn=$((torn + 1)) ;;
    esac
  done < "$tmp/torn.cand"
}
i=0
while [ $i -lt $((kills / 2)) ]; do
  rand "$points"
  at=$r
  np=$((np + 1))
  rm -rf "$victim"
  cp -a "$tmp/pristine" "$victim"
  kill_migrate "power loss" "$victim" "GRAPHPIPE_TEST_BOOT_ID=before GRAPHPIPE_TEST_CRASH_AT=$at" -j $((i % 2 + 1))
  if [ -e "$victim/.graphpipe-unsynced" ]; then
    tear "$victim"
    label="crash point $at, then $torn files torn"
  else
    label="crash point $at (outside the unsynced window: nothing torn)"
  fi
  # The rerun in turn: batch, each, run migrate.
  case $((i % 3)) in
    0) rerun_cmd=migrate how="rerun" ;;
    1) rerun_cmd="migrate --sync each" how="rerun with --sync each" ;;
    2) rerun_cmd="run migrate --driver vfs" how="rerun with 'run migrate'" ;;
  esac
  GRAPHPIPE_TEST_BOOT_ID=after GRAPHPIPE_TEST_BOOT_TIME=$(( $(date +%s) + 1 ))
  export GRAPHPIPE_TEST_BOOT_ID GRAPHPIPE_TEST_BOOT_TIME
  check_final "migrate killed at $label, machine rebooted, $how" "$victim" "$tmp/ref-plain"
  ok_eq "$([ -e "$victim/.graphpipe-unsynced" ] && echo present)" "" "... the $how removed the marker"
  unset GRAPHPIPE_TEST_BOOT_ID GRAPHPIPE_TEST_BOOT_TIME
  rerun_cmd=migrate
  i=$((i + 1))
done
# Everything torn that can be: the rerun must rebuild it all, in every mode.
for how in "migrate" "migrate --sync each" "run migrate --driver vfs"; do
  np=$((np + 1))
  rm -rf "$victim"
  cp -a "$tmp/pristine" "$victim"
  kill_migrate "power loss" "$victim" "GRAPHPIPE_TEST_BOOT_ID=before GRAPHPIPE_TEST_CRASH_AT=$points" -j 1
  (cd "$victim" && LC_ALL=C find . -mindepth 1 -type f -links 1 -printf '%P\n' | LC_ALL=C sort) |
    LC_ALL=C comm -13 "$tmp/pristine.paths" - | grep -v '^\.graphpipe-unsynced$' |
    while IFS= read -r f; do : > "$victim/$f"; done
  GRAPHPIPE_TEST_BOOT_ID=after GRAPHPIPE_TEST_BOOT_TIME=$(( $(date +%s) + 1 ))
  export GRAPHPIPE_TEST_BOOT_ID GRAPHPIPE_TEST_BOOT_TIME
  rerun_cmd=$how
  check_final "migrate killed at its last crash point, every new file emptied, rebooted, rerun: graphpipe $how" "$victim" "$tmp/ref-plain"
  ok_eq "$([ -e "$victim/.graphpipe-unsynced" ] && echo present)" "" "... graphpipe $how removed the marker"
  rerun_cmd=migrate
  unset GRAPHPIPE_TEST_BOOT_ID GRAPHPIPE_TEST_BOOT_TIME
done
# Killed without a reboot: the marker is trusted, nothing is redone (in
# every mode); the rerun syncs what the killed run wrote and removes it.
for how in "migrate" "migrate --sync each" "run migrate --driver vfs"; do
  rm -rf "$victim"
  cp -a "$tmp/pristine" "$victim"
  kill_migrate "kill" "$victim" "GRAPHPIPE_TEST_CRASH_AT=$((points / 2))" -j 1
  ok_eq "$([ -e "$victim/.graphpipe-unsynced" ] && echo present)" "present" "a killed migration leaves its unsynced marker"
  "$GRAPHPIPE" $how --root "$victim" -j 1 > "$tmp/rerun.log" 2>&1
  ok_eq "$?:$(grep -c 'unsynced run' "$tmp/rerun.log")" "0:0" "graphpipe $how on the same boot trusts what the killed run wrote"
  ok_eq "$([ -e "$victim/.graphpipe-unsynced" ] && echo present)" "" "... and removes the marker when it is done"
  snapshot "$victim" > "$tmp/snap"
  if cmp -s "$tmp/ref-plain.snap" "$tmp/snap"; then
    ok "... ending in the tree of an uninterrupted run"
  else
    not_ok "... ending in the tree of an uninterrupted run"
    diff "$tmp/ref-plain.snap" "$tmp/snap" | sed 's/^/#   snap: /' | head -10
  fi
done
diag "power loss: $np simulated crashes"
fi

# ---- save: SIGKILL while writing the tarball ----
store=$tmp/ref-plain
images="base:latest app:latest app2:latest old:latest crc:latest empty:latest other:latest registry.example.com:5000/team/app2:v2"
save_ok=no
if "$GRAPHPIPE" presets 2>/dev/null | grep -q '^save'; then
  save_ok=yes
fi
if [ $save_ok = no ]; then
  ok "save: SKIP no save preset in this build # SKIP"
elif want_part save; then
  mkdir -p "$tmp/out"
  snapshot "$store" > "$tmp/store.before"
  for c in none gzip; do
    "$GRAPHPIPE" save -q --root "$store" --compress=$c -o "$tmp/ref-$c.tar" $images > "$tmp/save.log" 2>&1 ||
      bail_out "uninterrupted save failed: $(cat "$tmp/save.log")"
  done
  rm -rf "$tmp/count-out"; mkdir -p "$tmp/count-out"
  GRAPHPIPE_TEST_CRASH_LOG=1 "$GRAPHPIPE" save -q --root "$store" -o "$tmp/count-out/x.tar" $images \
    > /dev/null 2> "$tmp/savecount.log"
  spoints=$(grep -c '^crash point' "$tmp/savecount.log")
  sbytes=$(sed -n 's/^crash bytes total: //p' "$tmp/savecount.log")
  tarsize=$(stat -c %s "$tmp/ref-none.tar")
  if [ "${sbytes:-0}" -ge "$tarsize" ]; then
    ok "save passes $spoints crash points and writes $sbytes bytes (tar: $tarsize)"
  else
    not_ok "save passes $spoints crash points and writes ${sbytes:-no} bytes (tar: $tarsize): hooks missing in the output writer"
  fi

  # save_kill LABEL ENV COMPRESS
  sn=0
  save_kill () {
    label=$1 envs=$2 c=$3
    sn=$((sn + 1))
    rm -rf "$tmp/out"; mkdir -p "$tmp/out"
    env $envs "$GRAPHPIPE" save -q --root "$store" --compress=$c -o "$tmp/out/images.tar" $images > "$tmp/kill.log" 2>&1
    krc=$?
    problems=""
    if [ -e "$tmp/out/images.tar" ] && ! cmp -s "$tmp/out/images.tar" "$tmp/ref-$c.tar"; then
      problems="$problems incomplete-output-after-kill"
    fi
    # A kill between naming and renaming leaves the run's temporary name.
    [ "$(ls -A "$tmp/out" | grep -vx 'images\.tar\|\.images\.tar\.[0-9]*-[0-9a-f]*\.gp-tmp')" = "" ] ||
      problems="$problems unexpected-files-after-kill($(ls -A "$tmp/out" | tr '\n' ' '))"
    "$GRAPHPIPE" save -q --root "$store" --compress=$c -o "$tmp/out/images.tar" $images > "$tmp/rerun.log" 2>&1 ||
      problems="$problems rerun-exit-$?"
    cmp -s "$tmp/out/images.tar" "$tmp/ref-$c.tar" || problems="$problems output-differs"
    [ "$(ls -A "$tmp/out")" = images.tar ] || problems="$problems temporaries"
    [ "$krc" = 137 ] || problems="$problems not-killed(exit-$krc)"
    if [ -z "$problems" ]; then
      ok "save #$sn ($c) killed at $label, output absent or complete; rerun identical"
    else
      not_ok "save #$sn ($c) killed at $label (exit $krc):$problems"
      sed 's/^/#   /' "$tmp/kill.log" "$tmp/rerun.log" | head -10
    fi
  }
  i=0
  while [ $i -lt "$kills" ]; do
    rand "$sbytes"
    save_kill "byte $r of $sbytes (random)" "GRAPHPIPE_TEST_CRASH_BYTES=$r" none
    i=$((i + 1))
  done
  p=1
  while [ $p -le "$spoints" ]; do
    save_kill "crash point $p of $spoints" "GRAPHPIPE_TEST_CRASH_AT=$p" none
    p=$((p + 1))
  done
  for b in 1 512 $((sbytes - 1)) "$sbytes"; do
    save_kill "byte $b of $sbytes" "GRAPHPIPE_TEST_CRASH_BYTES=$b" none
  done
  gzsize=$(stat -c %s "$tmp/ref-gzip.tar")
  i=0
  while [ $i -lt 10 ]; do
    rand "$gzsize"
    save_kill "byte $r of $gzsize (gzip, random)" "GRAPHPIPE_TEST_CRASH_BYTES=$r" gzip
    i=$((i + 1))
  done
  # Without O_TMPFILE: written under the temporary name from the start.
  i=0
  while [ $i -lt 5 ]; do
    rand "$sbytes"
    save_kill "byte $r of $sbytes (no O_TMPFILE, random)" "GP_SAVE_NO_O_TMPFILE=1 GRAPHPIPE_TEST_CRASH_BYTES=$r" none
    i=$((i + 1))
  done
  save_kill "crash point 1 (no O_TMPFILE)" "GP_SAVE_NO_O_TMPFILE=1 GRAPHPIPE_TEST_CRASH_AT=1" none
  snapshot "$store" > "$tmp/store.after"
  if cmp -s "$tmp/store.before" "$tmp/store.after"; then
    ok "save: $sn killed saves did not modify the store"
  else
    not_ok "save: killed saves modified the store"
    diff "$tmp/store.before" "$tmp/store.after" | sed 's/^/# /' | head -10
  fi
  diag "save: $sn killed runs"
fi

# ---- full and read-only file systems ----
mnt=$tmp/mnt
mkdir -p "$mnt"
can_mount=no
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=64m,mode=0755 gp-crash "$mnt" 2> "$tmp/mount.err"; then
  can_mount=yes
  mounts="$mnt $mounts"
fi
if [ $can_mount = no ] || ! want_part fs; then
  [ $can_mount = no ] || { done_testing; exit $?; }
  ok "full and read-only targets: SKIP cannot mount a tmpfs ($(cat "$tmp/mount.err" 2>/dev/null; [ "$(id -u)" = 0 ] || echo not root)) # SKIP"
  done_testing
  exit $?
fi

# tmpfs_kb: kilobytes used on the tmpfs.
tmpfs_kb () {
  df -k --output=used "$mnt" | tail -1 | tr -d ' '
}
cp -a "$tmp/pristine" "$mnt/root"
used0=$(tmpfs_kb)
"$GRAPHPIPE" migrate -q --root "$mnt/root" > /dev/null 2>&1
used1=$(tmpfs_kb)
rm -rf "$mnt/root"
need=$((used1 - used0))
diag "the migration needs ${need} KiB on a tmpfs holding ${used0} KiB"

# expect_error NAME LOG PATTERN: exit 1 and an error naming a path under
# the target with PATTERN.
expect_error () {
  name=$1 log=$2 pattern=$3
  if [ "$rc" = 1 ] && grep -q "$mnt/[^ ]*.*$pattern" "$log"; then
    ok "$name: exit 1, error names the path: $(grep -o "$mnt/[^:]*: [^:]*: $pattern" "$log" | head -1 | sed "s|$mnt|MNT|")"
  else
    not_ok "$name: exit 1 ($rc) and an error naming the path ($pattern)"
    sed 's/^/#   /' "$log" | head -10
  fi
}

for frac in 5 30 60 90; do
  rm -rf "$mnt/root"
  mount -o remount,size=64m "$mnt"
  cp -a "$tmp/pristine" "$mnt/root"
  size=$(( used0 + need * frac / 100 ))
  mount -o remount,size=${size}k "$mnt" || { not_ok "cannot shrink the tmpfs to ${size}k"; continue; }
  "$GRAPHPIPE" migrate -q --root "$mnt/root" > "$tmp/full.log" 2>&1
  rc=$?
  expect_error "migrate on a full file system ($frac% of the space it needs)" "$tmp/full.log" "No space left on device"
  mount -o remount,size=64m "$mnt"
  check_final "... with space restored, a rerun ends in the same tree" "$mnt/root" "$tmp/ref-plain"
done

# Read-only: the whole root, then only the store (killed midway first).
rm -rf "$mnt/root"
cp -a "$tmp/pristine" "$mnt/root"
mount -o remount,ro "$mnt"
"$GRAPHPIPE" migrate -q --root "$mnt/root" > "$tmp/ro.log" 2>&1
rc=$?
mount -o remount,rw "$mnt"
expect_error "migrate on a read-only file system" "$tmp/ro.log" "Read-only file system"
check_final "... writable again, a rerun ends in the same tree" "$mnt/root" "$tmp/ref-plain"

rm -rf "$mnt/root"
cp -a "$tmp/pristine" "$mnt/root"
kill_migrate "partial" "$mnt/root" "GRAPHPIPE_TEST_CRASH_AT=$((points / 3))" -j 1
if mount --bind "$mnt/root/image" "$mnt/root/image" 2> "$tmp/mount.err" &&
   mount -o remount,bind,ro "$mnt/root/image" 2>> "$tmp/mount.err"; then
  "$GRAPHPIPE" migrate -q --root "$mnt/root" > "$tmp/ro.log" 2>&1
  rc=$?
  umount "$mnt/root/image"
  expect_error "migrate with a read-only store (read-only bind mount of image/, after a killed run)" "$tmp/ro.log" "Read-only file system"
  check_final "... writable again, a rerun ends in the same tree" "$mnt/root" "$tmp/ref-plain"
else
  umount "$mnt/root/image" 2>/dev/null
  ok "read-only bind mount: SKIP $(head -1 "$tmp/mount.err") # SKIP"
fi

if [ $save_ok = yes ]; then
  mkdir -p "$tmp/outfs"
  mount -t tmpfs -o size=$(( tarsize / 2048 ))k gp-crash-out "$tmp/outfs" && mounts="$tmp/outfs $mounts"
  mnt=$tmp/outfs
  "$GRAPHPIPE" save -q --root "$store" -o "$mnt/images.tar" $images > "$tmp/full.log" 2>&1
  rc=$?
  expect_error "save to a full file system" "$tmp/full.log" "No space left on device"
  ok_eq "$(ls -A "$mnt")" "" "... leaves nothing behind"
  mount -o remount,size=64m "$mnt"
  "$GRAPHPIPE" save -q --root "$store" -o "$mnt/images.tar" $images > "$tmp/full.log" 2>&1
  if cmp -s "$mnt/images.tar" "$tmp/ref-none.tar"; then
    ok "... with space, the same tarball"
  else
    not_ok "... with space, the same tarball"
  fi
  rm -f "$mnt/images.tar"
  mount -o remount,ro "$mnt"
  "$GRAPHPIPE" save -q --root "$store" -o "$mnt/images.tar" $images > "$tmp/ro.log" 2>&1
  rc=$?
  expect_error "save to a read-only file system" "$tmp/ro.log" "Read-only file system"
  ok_eq "$(ls -A "$mnt")" "" "... leaves nothing behind"
fi

done_testing
