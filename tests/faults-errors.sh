#!/bin/sh
# Every error printed, no false success (TAP; make check-faults).
#
# On the legacy root of tests/crash-fixture.ini (and its migrated copy):
#   - an unprivileged user (uid 65534) on a root-owned root, in every
#     --progress mode and with -q: exit 1 and, on stderr, the path and
#     the OS reason; an unreadable root or graph/ is named as such for
#     migrate (never "nothing to migrate"), save and verify;
#   - a stray .graphpipe-unsynced directory: exit 1 naming it;
#   - a file system without flock: a warning naming the store, the same
#     tree (--strict: exit 1);
#   - a wrong --driver: refused, naming what the root holds;
#   - a fully migrated root mounted read-only: a rerun exits 0 and
#     writes nothing;
#   - a container whose read-write layer was missing gets its mount
#     record once the layer is back;
#   - export-legacy: the exit status is about the names asked for;
# and after each fault is removed a rerun ends in exactly the tree of an
# uninterrupted migration.  The parts that need root skip otherwise.
set -u

. "${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/migrate-tap.sh"
. "${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/faults-lib.sh"

# ---- an unprivileged user ----
nobody=""
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null 2>&1; then
  nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
fi
# The build tree must be reachable by that user.
if [ -n "$nobody" ] && ! $nobody "$GRAPHPIPE" --version > /dev/null 2>&1; then
  nobody=""
fi

if [ -z "$nobody" ]; then
  skip "unprivileged user" "needs root, setpriv and a build tree uid 65534 can run"
else
  root=$tmp/user
  fresh_root "$root"
  chmod -R a+rX "$root"
  for mode in auto plain json none bar; do
    $nobody "$GRAPHPIPE" migrate --progress=$mode --root "$root" > "$tmp/user.out" 2> "$tmp/user.log"
    expect_failure "uid 65534, root-owned root, --progress=$mode" $? "$tmp/user.log" \
      "$root(/[^ ]*)?: " "(Permission denied|Operation not permitted)"
  done
  $nobody "$GRAPHPIPE" migrate -q --root "$root" > "$tmp/user.out" 2> "$tmp/user.log"
  expect_failure "uid 65534, root-owned root, -q" $? "$tmp/user.log" \
    "$root(/[^ ]*)?: " "(Permission denied|Operation not permitted)"
  # (The first write refused is the root's mode 0701, which a migration
  # in place sets as the 1.10.3 daemon does: EPERM, not EACCES.)
  # The reference of this case: the same world-readable copy, migrated.
  fresh_root "$tmp/user-ref"
  chmod -R a+rX "$tmp/user-ref"
  "$GRAPHPIPE" migrate -q --root "$tmp/user-ref" > /dev/null 2>&1
  snapshot "$tmp/user-ref" > "$tmp/user-ref.snap"
  rerun_matches "root-owned root, then as root" "$root" "$tmp/user-ref.snap" --root "$root"

  # graph/ unreadable, no --driver: an error, not "nothing to migrate".
  root=$tmp/nograph
  fresh_root "$root"
  chmod 0700 "$root/graph"
  $nobody "$GRAPHPIPE" migrate --root "$root" > "$tmp/ng.out" 2> "$tmp/ng.log"
  expect_failure "uid 65534, graph/ unreadable" $? "$tmp/ng.log" "$root/graph" "Permission denied"
  ok_no_grep "$tmp/ng.log" "nothing to migrate" "uid 65534, graph/ unreadable: not 'nothing to migrate'"
  $nobody "$GRAPHPIPE" migrate --root "$root" --driver vfs > "$tmp/ng.out" 2> "$tmp/ng.log"
  expect_failure "uid 65534, graph/ unreadable, --driver vfs" $? "$tmp/ng.log" "$root/graph" "Permission denied"

  # The root itself unreadable: migrate, save and verify name it.
  root=$tmp/closed
  cp -a "$tmp/ref" "$root"
  chmod 0700 "$root"
  $nobody "$GRAPHPIPE" migrate --root "$root" > "$tmp/c.out" 2> "$tmp/c.log"
  expect_failure "uid 65534, unreadable root: migrate" $? "$tmp/c.log" "$root" "Permission denied"
  $nobody "$GRAPHPIPE" save --root "$root" -o "$tmp/c.tar" base:latest > "$tmp/c.out" 2> "$tmp/c.log"
  expect_failure "uid 65534, unreadable root: save" $? "$tmp/c.log" "$root" "Permission denied"
  $nobody "$GRAPHPIPE" verify --root "$root" > "$tmp/c.out" 2> "$tmp/c.log"
  expect_failure "uid 65534, unreadable root: verify" $? "$tmp/c.log" "$root" "Permission denied"
  $nobody "$GRAPHPIPE" verify --root "$root" --progress=json > "$tmp/c.out" 2> "$tmp/c.log"
  expect_failure "uid 65534, unreadable root: verify --progress=json" $? "$tmp/c.log" \
    '"event":"error"' "$root" "Permission denied"
  chmod 0755 "$root"
  chmod 0700 "$root/image"
  $nobody "$GRAPHPIPE" save --root "$root" -o "$tmp/c.tar" base:latest > "$tmp/c.out" 2> "$tmp/c.log"
  expect_failure "uid 65534, unreadable image/: save" $? "$tmp/c.log" "$root/image" "Permission denied"
  $nobody "$GRAPHPIPE" run save --root "$root" -s images=base:latest -s output="$tmp/c.tar" -s compress=none \
    > "$tmp/c.out" 2> "$tmp/c.log"
  expect_failure "uid 65534, unreadable image/: run save" $? "$tmp/c.log" "$root/image" "Permission denied"
  rm -rf "$root"
fi

# ---- a stray .graphpipe-unsynced directory ----
root=$tmp/stray
fresh_root "$root"
mkdir "$root/.graphpipe-unsynced"
"$GRAPHPIPE" migrate -q --root "$root" > "$tmp/stray.log" 2>&1
expect_failure "a .graphpipe-unsynced directory" $? "$tmp/stray.log" "$root/.graphpipe-unsynced"
"$GRAPHPIPE" migrate --progress=json --root "$root" > "$tmp/stray.out" 2> "$tmp/stray.log"
expect_failure "a .graphpipe-unsynced directory, --progress=json" $? "$tmp/stray.log" \
  '"event":"error"' "$root/.graphpipe-unsynced"
rmdir "$root/.graphpipe-unsynced"
rerun_matches "the stray directory removed" "$root" "$tmp/ref.snap" --root "$root"

# ---- a file system that cannot lock (NFS without a lock manager) ----
# (GRAPHPIPE_TEST_NO_FLOCK=1: every flock(2) fails with ENOLCK)
root=$tmp/nolock
fresh_root "$root"
GRAPHPIPE_TEST_NO_FLOCK=1 "$GRAPHPIPE" migrate --root "$root" > "$tmp/nolock.out" 2> "$tmp/nolock.log"
ok_eq "$?" 0 "a store that cannot be locked: migrate goes on (exit 0)" || sed 's/^/#   | /' "$tmp/nolock.log" | head -5
ok_grep "$tmp/nolock.log" "$root: this file system cannot lock it (flock: No locks available): nothing keeps another graphpipe run from writing this store" \
  "... and warns, naming the store and the reason"
snapshot "$root" > "$tmp/nolock.snap"
if cmp -s "$tmp/ref.snap" "$tmp/nolock.snap"; then
  ok "a store that cannot be locked: the uninterrupted tree"
else
  not_ok "a store that cannot be locked: the uninterrupted tree"
fi
root=$tmp/nolock-strict
fresh_root "$root"
GRAPHPIPE_TEST_NO_FLOCK=1 "$GRAPHPIPE" migrate -q --strict --root "$root" > /dev/null 2> "$tmp/nolock.log"
expect_failure "a store that cannot be locked, --strict" $? "$tmp/nolock.log" "cannot lock it"

# ---- a wrong --driver ----
"$GRAPHPIPE" migrate --root "$tmp/pristine" --driver overlay2 > "$tmp/d.log" 2>&1
ok_eq "$?" 2 "migrate --driver overlay2 on a vfs root: exit 2"
ok_grep "$tmp/d.log" "no overlay2 data under $tmp/pristine (it holds: vfs)" \
  "migrate --driver overlay2: names what the root holds"
"$GRAPHPIPE" save --root "$tmp/ref" --driver overlay2 -o "$tmp/d.tar" base:latest > "$tmp/d.log" 2>&1
ok_eq "$?" 2 "save --driver overlay2 on a vfs store: exit 2"
ok_grep "$tmp/d.log" "no image/overlay2 store under $tmp/ref (it holds: vfs)" \
  "save --driver overlay2: names what the root holds"
ok_eq "$(test -e "$tmp/d.tar" && echo written || echo absent)" absent "save --driver overlay2: no output"
"$GRAPHPIPE" run save --root "$tmp/ref" --driver overlay2 -s images=base:latest -s output="$tmp/d.tar" \
  -s compress=none > "$tmp/d.log" 2>&1
expect_failure "run save --driver overlay2 on a vfs store" $? "$tmp/d.log" "$tmp/ref: no image/overlay2 store" "it holds: vfs"
"$GRAPHPIPE" verify --root "$tmp/ref" --driver aufs > "$tmp/d.log" 2>&1
ok_eq "$?" 2 "verify --driver aufs on a vfs store: exit 2"
ok_grep "$tmp/d.log" "no image/aufs store under $tmp/ref (it holds: vfs)" \
  "verify --driver aufs: names what the root holds"

# ---- a fully migrated root, read-only: nothing to do, nothing written ----
root=$tmp/done
cp -a "$tmp/ref" "$root"
if [ "$(id -u)" = 0 ] && mount --bind "$root" "$root" 2> "$tmp/mount.err" &&
   mount -o remount,bind,ro "$root" 2>> "$tmp/mount.err"; then
  mounts="$root $mounts"
  "$GRAPHPIPE" migrate -q --root "$root" > "$tmp/done.log" 2>&1
  rc=$?
  ok_eq "$rc" 0 "rerun on a fully migrated read-only root: exit 0" || sed 's/^/#   | /' "$tmp/done.log"
  umount "$root"
  snapshot "$root" > "$tmp/done.snap"
  if cmp -s "$tmp/ref.snap" "$tmp/done.snap"; then
    ok "rerun on a fully migrated read-only root: the tree is unchanged"
  else
    not_ok "rerun on a fully migrated read-only root: the tree is unchanged"
  fi
else
  umount "$root" 2>/dev/null
  skip "read-only migrated root" "$(head -1 "$tmp/mount.err" 2>/dev/null)"
fi
rm -rf "$root"

# ---- a container whose read-write layer was missing, later restored ----
c1=$(ls "$tmp/pristine/containers" | head -1)
root=$tmp/container
fresh_root "$root"
mv "$root/vfs/dir/$c1" "$tmp/c1-layer"
"$GRAPHPIPE" migrate -q --root "$root" > "$tmp/cont.log" 2>&1
ok_grep "$tmp/cont.log" "containers/$c1: could not create its read-write layer record" \
  "container without its read-write layer: warned"
ok_eq "$(test -e "$root/image/vfs/layerdb/mounts/$c1" && echo present || echo absent)" absent \
  "container without its read-write layer: no mount record (as Docker)"
mv "$tmp/c1-layer" "$root/vfs/dir/$c1"
rerun_matches "container layer restored (mount record created)" "$root" "$tmp/ref.snap" --root "$root"

# ---- export-legacy: the exit status is about the names asked for ----
app=$(v1_of app latest)
root=$tmp/export
fresh_root "$root"
mv "$root/vfs/dir/$app" "$tmp/app-layer"
"$GRAPHPIPE" save --preset export-legacy -q --root "$root" -o "$tmp/ok.tar" base:latest other:latest \
  > "$tmp/exp.log" 2>&1
rc=$?
"$GRAPHPIPE" save -q --root "$tmp/ref" -o "$tmp/want.tar" base:latest other:latest > /dev/null 2>&1
ok_eq "$rc" 0 "export-legacy of intact images beside a broken one: exit 0" || sed 's/^/#   | /' "$tmp/exp.log" | head -5
if cmp -s "$tmp/ok.tar" "$tmp/want.tar"; then
  ok "export-legacy beside a broken image: the tarball equals migrate + save"
else
  not_ok "export-legacy beside a broken image: the tarball equals migrate + save"
fi
ok_grep "$tmp/exp.log" "warning: image $app not migrated" "export-legacy: says what else it saw"
"$GRAPHPIPE" save --preset export-legacy -q --root "$root" -o "$tmp/bad.tar" old:latest > "$tmp/exp.log" 2>&1
expect_failure "export-legacy of an image built on the broken one" $? "$tmp/exp.log" "old:latest"
ok_eq "$(test -e "$tmp/bad.tar" && echo written || echo absent)" absent \
  "export-legacy of a broken image: no output"

done_testing
