#!/bin/sh
# save --format oci-dir|oci-archive when things go wrong (TAP; make
# check-faults), on the migrated root of tests/crash-fixture.ini:
#   - a layer file changed since it was recorded (same length, other
#     bytes): exit 1 with an error naming the image and the layer (the
#     CRC of tar-split or the DiffID check catches it); no
#     output, and no temporary left beside it (oci-dir) or in its
#     directory (oci-archive);
#   - an existing oci-dir output: refused, left as it was;
#   - after the fault is undone the same commands succeed (the output
#     is not poisoned by the failed run);
#   - a save killed mid-way (at its crash points, and by SIGKILL after a
#     delay) leaves at most its temporary (`.<name>.<pid>-<random>.gp-tmp`,
#     a directory for oci-dir); the next save to that name removes it and
#     writes the same layout (archive: the same bytes) as an uninterrupted
#     run, while a temporary a live save holds (flocked) is left alone.
set -u

. "${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/migrate-tap.sh"
. "${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/faults-lib.sh"

root=$tmp/oci-root
rm -rf "$root"
cp -a "$tmp/ref" "$root"

# A non-empty regular file of a bottom layer (no parent: every file of
# its directory is in its tar), and a copy.
victim=
for l in "$root"/image/vfs/layerdb/sha256/*; do
  [ -e "$l/parent" ] && continue
  victim=$(find "$root/vfs/dir/$(cat "$l/cache-id")" -type f -size +0 | LC_ALL=C sort | head -1)
  [ -n "$victim" ] && break
done
[ -n "$victim" ] || bail_out "no bottom layer file to change under $root/vfs/dir"
cp -p "$victim" "$tmp/victim.orig"
# same length, first byte changed
{ printf 'Z'; tail -c +2 "$tmp/victim.orig"; } > "$tmp/victim.new"
if cmp -s "$tmp/victim.orig" "$tmp/victim.new"; then
  { printf 'Y'; tail -c +2 "$tmp/victim.orig"; } > "$tmp/victim.new"
fi
cat "$tmp/victim.new" > "$victim"

out=$tmp/oci-out
mkdir -p "$out"
"$GRAPHPIPE" save -q --root "$root" --format oci-dir -o "$out/layout" $all_tags > /dev/null 2> "$tmp/o1.log"
expect_failure "oci-dir, a changed layer file" $? "$tmp/o1.log" "image sha256:[0-9a-f]{64}" \
  "layer sha256:[0-9a-f]{64}" "(could not verify layer data|file integrity checksum failed)"
ok_eq "$(ls -A "$out")" "" "oci-dir, a changed layer file: no output, no temporary beside it"

"$GRAPHPIPE" save -q --root "$root" --format oci-archive -o "$out/images.tar" $all_tags > /dev/null 2> "$tmp/o2.log"
expect_failure "oci-archive, a changed layer file" $? "$tmp/o2.log" "image sha256:[0-9a-f]{64}" \
  "layer sha256:[0-9a-f]{64}" "(could not verify layer data|file integrity checksum failed)"
ok_eq "$(ls -A "$out")" "" "oci-archive, a changed layer file: no output, no temporary beside it"

"$GRAPHPIPE" save -q --root "$root" --format oci-archive --compress gzip -o "$out/images.tar" $all_tags \
  > /dev/null 2> "$tmp/o3.log"
expect_failure "oci-archive --compress gzip, a changed layer file" $? "$tmp/o3.log" \
  "image sha256:[0-9a-f]{64}" "layer sha256:[0-9a-f]{64}" "(could not verify layer data|file integrity checksum failed)"
ok_eq "$(ls -A "$out")" "" "oci-archive --compress gzip, a changed layer file: no output"

# the fault undone: both succeed
cat "$tmp/victim.orig" > "$victim"
"$GRAPHPIPE" save -q --root "$root" --format oci-dir -o "$out/layout" $all_tags > /dev/null 2> "$tmp/o4.log"
ok_eq "$?" 0 "oci-dir after the layer file is restored: exit 0"
ok_eq "$(ls -A "$out")" "layout" "oci-dir after the layer file is restored: the layout and nothing else"
"$GRAPHPIPE" save -q --root "$root" --format oci-archive -o "$out/images.tar" $all_tags > /dev/null 2> "$tmp/o5.log"
ok_eq "$?" 0 "oci-archive after the layer file is restored: exit 0"
ok_eq "$(tar -tf "$out/images.tar" | sed -n '1,3p;$p' | tr '\n' ' ')" "oci-layout blobs/ blobs/sha256/ index.json " \
  "oci-archive after the layer file is restored: a tar of the layout"

# an existing directory is refused and left alone
find "$out/layout" -type f -exec sha256sum {} + | LC_ALL=C sort > "$tmp/layout.before"
"$GRAPHPIPE" save -q --root "$root" --format oci-dir -o "$out/layout" base:latest > /dev/null 2> "$tmp/o6.log"
rc=$?
if [ "$rc" != 0 ] && grep -q "exists" "$tmp/o6.log"; then
  ok "oci-dir onto an existing directory: refused (exit $rc)"
else
  not_ok "oci-dir onto an existing directory: refused (got $rc): $(cat "$tmp/o6.log")"
fi
find "$out/layout" -type f -exec sha256sum {} + | LC_ALL=C sort > "$tmp/layout.after"
if cmp -s "$tmp/layout.before" "$tmp/layout.after"; then
  ok "oci-dir onto an existing directory: left as it was"
else
  not_ok "oci-dir onto an existing directory: left as it was"
fi

# ---- killed saves ----
kout=$tmp/oci-kill
# layout_sums DIR: every file of a layout with its hash.
layout_sums () {
  (cd "$1" && find . -type f -exec sha256sum {} + | LC_ALL=C sort)
}
rm -rf "$kout"; mkdir -p "$kout"
"$GRAPHPIPE" save -q --root "$root" --format oci-dir -o "$kout/ref" $all_tags > /dev/null 2>&1 ||
  bail_out "uninterrupted oci-dir save failed"
"$GRAPHPIPE" save -q --root "$root" --format oci-archive --compress gzip -o "$tmp/ref-oci.tar" $all_tags \
  > /dev/null 2>&1 || bail_out "uninterrupted oci-archive save failed"
layout_sums "$kout/ref" > "$tmp/ref.sums"
rm -rf "$kout"/*
GRAPHPIPE_TEST_CRASH_LOG=1 "$GRAPHPIPE" save -q --root "$root" --format oci-dir -o "$kout/count" \
  $all_tags > /dev/null 2> "$tmp/count.log"
points=$(grep -c '^crash point' "$tmp/count.log")
rm -rf "$kout"/*
if [ "$points" -ge 3 ]; then ok "oci-dir passes $points crash points"; else not_ok "oci-dir passes $points crash points"; fi

# kill_dir LABEL ENV...: a killed oci-dir save, then a rerun.
kill_dir () {
  label=$1
  shift
  rm -rf "$kout"; mkdir -p "$kout"
  env "$@" "$GRAPHPIPE" save -q --root "$root" --format oci-dir -o "$kout/layout" $all_tags \
    > /dev/null 2> "$tmp/kill.log" &
  kpid=$!
  case "$label" in
    *s) sleep "${label%s}"; kill -KILL "$kpid" 2>/dev/null ;;
  esac
  wait "$kpid"
  krc=$?
  left=$(ls -A "$kout" | grep -vx 'layout' | tr '\n' ' ')
  problems=""
  [ "$krc" = 137 ] || [ "$krc" = 0 ] || problems="$problems exit-$krc"
  [ -z "$left" ] || [ -d "$kout/$(ls -A "$kout" | grep -vx layout | head -1)" ] ||
    problems="$problems left-a-file($left)"
  printf '%s\n' "$left" | grep -Eqx '(\.layout\.[0-9]+-[0-9a-f]+\.gp-tmp )?' ||
    problems="$problems unexpected($left)"
  # killed after the rename: the layout is there, and whole
  if [ -e "$kout/layout" ]; then
    layout_sums "$kout/layout" > "$tmp/kill.sums"
    cmp -s "$tmp/ref.sums" "$tmp/kill.sums" || problems="$problems incomplete-layout-published"
  fi
  rm -rf "$kout/layout"
  "$GRAPHPIPE" save -q --root "$root" --format oci-dir -o "$kout/layout" $all_tags > /dev/null \
    2> "$tmp/rerun.log" || problems="$problems rerun-exit-$?"
  [ "$(ls -A "$kout")" = layout ] || problems="$problems temporaries($(ls -A "$kout" | tr '\n' ' '))"
  layout_sums "$kout/layout" > "$tmp/rerun.sums"
  cmp -s "$tmp/ref.sums" "$tmp/rerun.sums" || problems="$problems layout-differs"
  if [ -z "$problems" ]; then
    ok "oci-dir killed at $label (exit $krc, left: ${left:-nothing}): rerun cleans up, same layout"
  else
    not_ok "oci-dir killed at $label (exit $krc):$problems"
    sed 's/^/#   | /' "$tmp/kill.log" "$tmp/rerun.log" | head -10
  fi
}
for p in 1 $(( (points + 1) / 2 )) "$points"; do
  kill_dir "crash point $p of $points" GRAPHPIPE_TEST_CRASH_AT="$p"
done
kill_dir "0.05s" GP_OCI_KILL=1
kill_dir "0.2s" GP_OCI_KILL=1

# a live save's temporary (flocked) stays; a dead one goes
rm -rf "$kout"; mkdir -p "$kout"
mkdir "$kout/.layout.999999-0badf00d.gp-tmp" "$kout/.layout.999998-deadbeef.gp-tmp"
touch "$kout/.layout.999999-0badf00d.gp-tmp/x" "$kout/.layout.999998-deadbeef.gp-tmp/x"
flock "$kout/.layout.999999-0badf00d.gp-tmp" sleep 60 &
fpid=$!
sleep 0.2
"$GRAPHPIPE" save -q --root "$root" --format oci-dir -o "$kout/layout" base:latest > /dev/null 2> "$tmp/o7.log"
rc=$?
kill "$fpid" 2>/dev/null
wait "$fpid" 2>/dev/null
ok_eq "$rc:$(ls -A "$kout" | tr '\n' ' ')" "0:.layout.999999-0badf00d.gp-tmp layout " \
  "oci-dir: a dead run's temporary removed, a live one's (flocked) left alone"

# oci-archive killed at each crash point of the output: nothing half-written
GRAPHPIPE_TEST_CRASH_LOG=1 "$GRAPHPIPE" save -q --root "$root" --format oci-archive --compress gzip \
  -o "$kout/count.tar" $all_tags > /dev/null 2> "$tmp/count.log"
apoints=$(grep -c '^crash point' "$tmp/count.log")
abytes=$(sed -n 's/^crash bytes total: //p' "$tmp/count.log")
for env in GRAPHPIPE_TEST_CRASH_AT=1 GRAPHPIPE_TEST_CRASH_AT="$apoints" \
           GRAPHPIPE_TEST_CRASH_BYTES=$(( ${abytes:-2} / 2 )) \
           "GP_SAVE_NO_O_TMPFILE=1 GRAPHPIPE_TEST_CRASH_BYTES=$(( ${abytes:-2} / 2 ))"; do
  rm -rf "$kout"; mkdir -p "$kout"
  env $env "$GRAPHPIPE" save -q --root "$root" --format oci-archive --compress gzip \
    -o "$kout/images.tar" $all_tags > /dev/null 2>&1
  krc=$?
  problems=""
  [ "$krc" = 137 ] || problems="$problems not-killed(exit-$krc)"
  [ ! -e "$kout/images.tar" ] || cmp -s "$kout/images.tar" "$tmp/ref-oci.tar" ||
    problems="$problems incomplete-output"
  "$GRAPHPIPE" save -q --root "$root" --format oci-archive --compress gzip \
    -o "$kout/images.tar" $all_tags > /dev/null 2>&1 || problems="$problems rerun-exit-$?"
  [ "$(ls -A "$kout")" = images.tar ] || problems="$problems temporaries($(ls -A "$kout" | tr '\n' ' '))"
  if [ -z "$problems" ]; then
    ok "oci-archive --compress gzip killed ($env): rerun leaves only the archive"
  else
    not_ok "oci-archive --compress gzip killed ($env):$problems"
  fi
done

done_testing
