#!/bin/sh
# Tags are never lost after a fixed fault (TAP; make check-faults).
#
# On the legacy root of tests/crash-fixture.ini, each fault makes images
# fail for a reason of the environment: a layer directory missing (then
# restored), a file system out of blocks or out of inodes (swept finely
# from the level where nothing fits to the one where everything does),
# graph/ mounted read-only without --read-only-source, a --target on a
# full file system.  Every case must end with exit 1 and an error naming
# the path and the OS reason (or exit 0 with the complete result: no
# false success), must not write the tags marker while a tag waits for
# its image, and after the fault is removed a rerun must end in exactly
# the tree of an uninterrupted migration, every tag included.  The parts
# that mount file systems need root and skip otherwise.
set -u

. "${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/migrate-tap.sh"
. "${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/faults-lib.sh"

app=$(v1_of app latest)
[ -n "$app" ] || bail_out "no v1 ID for app:latest in the fixture"
# The tags whose images sit on app's layer (app, old, empty) wait for it;
# the others resolve.
waiting="app:latest empty:latest old:latest"
resolved=$(tags_in "$tmp/ref" | grep -Fxv -e app:latest -e empty:latest -e old:latest)

# ---- a missing layer directory, later restored ----
root=$tmp/missing
fresh_root "$root"
mv "$root/vfs/dir/$app" "$tmp/app-layer"
"$GRAPHPIPE" migrate --progress=plain --root "$root" --report "$tmp/missing.json" > "$tmp/missing.log" 2>&1
expect_failure "missing vfs/dir/<id>" $? "$tmp/missing.log" "error: image $app not migrated" "vfs/dir/$app" "does not exist"
ok_eq "$(test -e "$root/.migration-v1-tags" && echo present || echo absent)" absent \
  "missing vfs/dir/<id>: no tags marker while tags wait for their images"
ok_eq "$(tags_in "$root" | tr '\n' ' ')" "$(echo "$resolved" | tr '\n' ' ')" \
  "missing vfs/dir/<id>: repositories.json holds exactly the tags that resolved"
# The values too: each resolved tag's line as in the uninterrupted run.
bad=0
for t in $resolved; do
  want=$(grep -o "\"$t\":\"sha256:[0-9a-f]*\"" "$tmp/ref/image/vfs/repositories.json")
  grep -qF "$want" "$root/image/vfs/repositories.json" || bad=$((bad + 1))
done
ok_eq "$bad" 0 "missing vfs/dir/<id>: the resolved tags point where an uninterrupted run points them"
for t in $waiting; do
  ok_grep "$tmp/missing.log" "pending: [migrate-tags] $t: " "missing vfs/dir/<id>: the summary lists $t as pending"
done
ok_grep "$tmp/missing.log" "3 left for the next run" "missing vfs/dir/<id>: the summary counts 3 pending"
ok_grep "$tmp/missing.json" '"tags pending":3' "missing vfs/dir/<id>: the report counts 3 tags pending"
ok_grep "$tmp/missing.json" '"pending":[{"stage":"migrate-tags","item":"app:latest"' \
  "missing vfs/dir/<id>: the report lists the pending tags"
if grep -Eq "\"v1_id\":\"$app\"[^}]*\"failure\":\"transient\"" "$tmp/missing.json"; then
  ok "missing vfs/dir/<id>: the report calls the image's failure transient"
else
  not_ok "missing vfs/dir/<id>: the report calls the image's failure transient"
fi
mv "$tmp/app-layer" "$root/vfs/dir/$app"
rerun_matches "missing vfs/dir/<id> restored" "$root" "$tmp/ref.snap" --root "$root"

# The same into a --target: not published while images fail.
root=$tmp/missing-t
fresh_root "$root"
mv "$root/vfs/dir/$app" "$tmp/app-layer"
"$GRAPHPIPE" migrate -q --root "$root" --target "$tmp/target" > "$tmp/missing-t.log" 2>&1
expect_failure "--target, missing vfs/dir/<id>" $? "$tmp/missing-t.log" "error: image $app not migrated" "vfs/dir/$app" "does not exist"
ok_eq "$(test -e "$tmp/target" && echo published || echo absent)" absent \
  "--target with failures: not published"
ok_grep "$tmp/missing-t.log" "not published, the run had failures" "--target with failures: says so"
ok_eq "$(test -d "$tmp/.target.gp-target" && echo kept || echo gone)" kept \
  "--target with failures: the work directory stays for the rerun"
mv "$tmp/app-layer" "$root/vfs/dir/$app"
rerun_matches "--target, vfs/dir/<id> restored" "$tmp/target" "$tmp/ref-target.snap" \
  --root "$root" --target "$tmp/target"
ok_eq "$(test -e "$tmp/.target.gp-target" && echo left || echo gone)" gone \
  "--target: the rerun published the work directory"

# --publish-partial publishes it anyway, with exit status 1.
root=$tmp/partial
fresh_root "$root"
mv "$root/vfs/dir/$app" "$tmp/app-layer"
"$GRAPHPIPE" migrate -q --root "$root" --target "$tmp/partial-target" --publish-partial > "$tmp/partial.log" 2>&1
rc=$?
ok_eq "$rc:$(test -d "$tmp/partial-target/image" && echo published || echo absent)" "1:published" \
  "--publish-partial: published, exit 1"
mv "$tmp/app-layer" "$root/vfs/dir/$app"
rm -rf "$tmp/target"
rerun_matches "--publish-partial, then the fix" "$tmp/partial-target" "$tmp/ref-target.snap" \
  --root "$root" --target "$tmp/partial-target"

# Two legacy entries naming one reference after normalisation: the first
# in sorted order wins in an uninterrupted run, so while its image waits
# the later one must wait too, or the rerun would keep the wrong one.
cat > "$tmp/dup.ini" <<'END'
[root]
driver=vfs

[image one]
files=f one 0644 first\n
tags=busybox:latest

[image two]
files=f two 0644 second\n
tags=docker.io/busybox:latest
END
"$MKLEGACY" "$tmp/dup.ini" "$tmp/dup-pristine" > /dev/null || bail_out "gp-mklegacy dup.ini failed"
cp -a "$tmp/dup-pristine" "$tmp/dup-ref"
"$GRAPHPIPE" migrate -q --root "$tmp/dup-ref" > /dev/null 2>&1
snapshot "$tmp/dup-ref" > "$tmp/dup-ref.snap"
one=$(sed 's/.*"busybox":{"latest":"\([0-9a-f]*\)".*/\1/' "$tmp/dup-pristine/repositories-vfs")
root=$tmp/dup
cp -a "$tmp/dup-pristine" "$root"
mv "$root/vfs/dir/$one" "$tmp/one-layer"
"$GRAPHPIPE" migrate -q --root "$root" > "$tmp/dup.log" 2>&1
expect_failure "duplicate reference, first image failing" $? "$tmp/dup.log" "vfs/dir/$one" "does not exist"
ok_grep "$tmp/dup.log" "docker.io/busybox:latest: left for the next run: waits for an earlier entry" \
  "duplicate reference: the later entry waits for the first"
mv "$tmp/one-layer" "$root/vfs/dir/$one"
rerun_matches "duplicate reference, layer restored (the first entry wins)" "$root" "$tmp/dup-ref.snap" --root "$root"

# A permanent failure (the legacy JSON is invalid, as Docker skips it for
# good) still gets the marker: only transient failures hold tags back.
cat > "$tmp/perm.ini" <<'END'
[root]
driver=vfs

[image good]
files=f good 0644 good\n
tags=good:latest

[image bad]
files=f bad 0644 bad\n
json={"id": not json
tags=bad:latest
END
"$MKLEGACY" "$tmp/perm.ini" "$tmp/perm" > /dev/null || bail_out "gp-mklegacy perm.ini failed"
"$GRAPHPIPE" migrate -q --root "$tmp/perm" --report "$tmp/perm.json" > "$tmp/perm.log" 2>&1
expect_failure "invalid legacy JSON" $? "$tmp/perm.log" "error: image [0-9a-f]* not migrated" "json"
ok_eq "$(test -e "$tmp/perm/.migration-v1-tags" && echo present || echo absent)" present \
  "invalid legacy JSON: the tags marker is written (Docker skips the image for good)"
ok_eq "$(tags_in "$tmp/perm" | tr '\n' ' ')" "good:latest " "invalid legacy JSON: the other tag migrated"
ok_grep "$tmp/perm.json" '"failure":"permanent"' "invalid legacy JSON: the report calls the failure permanent"
ok_grep "$tmp/perm.json" '"tags pending":0' "invalid legacy JSON: no tag pending"

# ---- file systems: full (blocks, inodes), read-only graph/, full --target ----
mnt=$tmp/mnt
mkdir -p "$mnt"
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=64m,mode=0755 gp-faults "$mnt" 2> "$tmp/mount.err"; then
  skip "file system faults" "cannot mount a tmpfs ($(cat "$tmp/mount.err" 2>/dev/null; [ "$(id -u)" = 0 ] || echo not root))"
  done_testing
  exit $?
fi
mounts="$mnt $mounts"

kb_used () { df -k --output=used "$mnt" | tail -1 | tr -d ' '; }
inodes_used () { df -i "$mnt" | tail -1 | awk '{ print $3 }'; }

cp -a "$tmp/pristine" "$mnt/root"
kb0=$(kb_used) in0=$(inodes_used)
"$GRAPHPIPE" migrate -q --root "$mnt/root" > /dev/null 2>&1
kb_need=$(( $(kb_used) - kb0 )) in_need=$(( $(inodes_used) - in0 ))
rm -rf "$mnt/root"
diag "the migration needs $kb_need KiB and $in_need inodes beyond the root's $kb0 KiB and $in0 inodes"

# full_case NAME OPTION: one run on the tmpfs shrunk by OPTION, then the
# fix and a rerun.
full_case () {
  name=$1 opt=$2
  rm -rf "$mnt/root"
  mount -o remount,size=64m,nr_inodes=100000 "$mnt"
  cp -a "$tmp/pristine" "$mnt/root"
  if ! mount -o "remount,$opt" "$mnt" 2> "$tmp/mount.err"; then
    not_ok "$name: cannot remount with $opt: $(cat "$tmp/mount.err")"
    return
  fi
  "$GRAPHPIPE" migrate -q --root "$mnt/root" > "$tmp/full.log" 2>&1
  rc=$?
  mount -o remount,size=64m,nr_inodes=100000 "$mnt"
  snapshot "$mnt/root" > "$tmp/full.snap"
  if [ $rc = 0 ]; then
    # Room enough: then the result must be complete already.
    if cmp -s "$tmp/ref.snap" "$tmp/full.snap"; then
      ok "$name: exit 0 with the complete result"
    else
      not_ok "$name: exit 0 although the result is incomplete (false success)"
    fi
  else
    expect_failure "$name" $rc "$tmp/full.log" "$mnt/" "No space left on device"
    grep -q "left for the next run" "$tmp/full.log" && n_pending_cases=$((n_pending_cases + 1))
    if grep -q "pending:\|left for the next run" "$tmp/full.log" &&
       [ -e "$mnt/root/.migration-v1-tags" ]; then
      not_ok "$name: tags marker written although tags are pending"
    fi
  fi
  rerun_matches "$name, space back" "$mnt/root" "$tmp/ref.snap" --root "$mnt/root"
}

n_pending_cases=0
# Blocks: 16 levels from 1/16 of what the run needs to all of it (the
# levels where the first images fail lie in between).
i=1
while [ $i -le 16 ]; do
  full_case "blocks $i/16" "size=$(( kb0 + kb_need * i / 16 + 4 ))k"
  i=$((i + 1))
done
# Inodes: 12 levels.
i=1
while [ $i -le 12 ]; do
  full_case "inodes $i/12" "nr_inodes=$(( in0 + in_need * i / 12 ))"
  i=$((i + 1))
done

diag "$n_pending_cases of the full file system cases left tags pending"

# graph/ read-only without --read-only-source: Docker's helper files
# cannot be written there.
rm -rf "$mnt/root"
cp -a "$tmp/pristine" "$mnt/root"
if mount --bind "$mnt/root/graph" "$mnt/root/graph" 2> "$tmp/mount.err" &&
   mount -o remount,bind,ro "$mnt/root/graph" 2>> "$tmp/mount.err"; then
  "$GRAPHPIPE" migrate -q --root "$mnt/root" > "$tmp/ro.log" 2>&1
  rc=$?
  umount "$mnt/root/graph"
  expect_failure "read-only graph/" $rc "$tmp/ro.log" "$mnt/root/graph/" "Read-only file system"
  ok_eq "$(test -e "$mnt/root/.migration-v1-tags" && echo present || echo absent)" absent \
    "read-only graph/: no tags marker"
  rerun_matches "read-only graph/, writable again" "$mnt/root" "$tmp/ref.snap" --root "$mnt/root"
else
  umount "$mnt/root/graph" 2>/dev/null
  skip "read-only graph/" "$(head -1 "$tmp/mount.err")"
fi

# A --target on a full file system: never published incomplete.
rm -rf "$mnt/root" "$mnt/target" "$mnt/.target.gp-target"
kb0=$(kb_used)
"$GRAPHPIPE" migrate -q --root "$tmp/pristine" --target "$mnt/target" > /dev/null 2>&1
kb_target=$(( $(kb_used) - kb0 ))
for frac in 2 5 8; do
  rm -rf "$mnt/target" "$mnt/.target.gp-target"
  mount -o "remount,size=$(( kb0 + kb_target * frac / 10 + 4 ))k" "$mnt"
  "$GRAPHPIPE" migrate -q --root "$tmp/pristine" --target "$mnt/target" > "$tmp/full-t.log" 2>&1
  rc=$?
  mount -o remount,size=64m "$mnt"
  expect_failure "full --target ($frac/10 of its space)" $rc "$tmp/full-t.log" "$mnt/" "No space left on device"
  ok_eq "$(test -e "$mnt/target" && echo published || echo absent)" absent \
    "full --target ($frac/10): not published"
  rerun_matches "full --target ($frac/10), space back" "$mnt/target" "$tmp/ref-target.snap" \
    --root "$tmp/pristine" --target "$mnt/target"
done

done_testing
