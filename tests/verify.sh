#!/bin/sh
# `graphpipe verify` (TAP): a read-only check of a 1.10+ image store.
#
#  - Docker 1.10.3's own migrated golden root is clean (exit 0) and
#    nothing under it changes (paths, modes, owners, sizes, mtimes,
#    ctimes, contents);
#  - each damage, one per copy of it, is reported with its path and the
#    run exits 1, again writing nothing;
#  - an overlay2 root laid out as Docker 20 does (random cache IDs,
#    overlay2/<id>/diff holding the layer's own files, l/ links, link
#    and lower files) built from the golden layers is clean, then damaged;
#  - gp-mklegacy roots (vfs and aufs) migrated by graphpipe are clean.
#
# Environment (set by make check): GP_SHARED_DIR, GP_TOP_SRCDIR,
# GP_TOP_BUILDDIR, GRAPHPIPE (default <top_builddir>/graphpipe).
set -u

top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${GP_TOP_BUILDDIR:-.}
shared=${GP_SHARED_DIR:-$top_builddir/tests/shared}
golden=$shared/golden/public
GRAPHPIPE=${GRAPHPIPE:-$top_builddir/graphpipe}
MKLEGACY=${MKLEGACY:-$top_builddir/tests/gp-mklegacy}
LAYERTAR=${LAYERTAR:-$top_builddir/tests/gp-layer-tar}

. "$top_srcdir/tests/migrate-tap.sh"
. "$top_srcdir/tests/forensics-lib.sh"
plan 137
fx_require_golden migrated-root.tar.gz
fx_skip_unless_root

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gp-verify-XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

# Docker 1.10.3's IDs in the golden root (expected/ids.txt).
BASE=5f09de076ad6475c0b6bb7b4961b973bf2e9f5b69c582b23d98c85c3ef1402b5   # busybox base layer
L1=22d698b00ae95b30bb79d35e2f2d7e36fb4904473eec4dac9c4fade5615f226d     # on BASE, has etc/motd
L1_CACHE=f7fa71605f257674adff225a3dce9fab6256172ff8d39dd6385ca654ee4714b1
L1_DIFF=9839a6f0900c443904ae3c0168ba25cc20351cac23f426d6eaad1f9e1a1d8532
MID=a312ceb3fc8ad727ae169f17ad69f1f8473c9197a4250b3247d98e12307631f7    # parent of TOP
TOP=6473596dfcf4bf58a1747b90fcd920a10edc3955cf75090cc5cc025e50fc0ef8    # myapp's top layer
IMG=d2db4a9a5c80ec23993d3a8fca1876bdc318af17541c8cf750dd7ed5c451d611    # busybox:latest
CID=e039bc4f08ddcf946b1790cf03076ee7fd8d44f72e3f2687743c7b45452566fb    # the container
NOWHERE=sha256:0000000000000000000000000000000000000000000000000000000000000001

store=image/vfs
layerdb=$store/layerdb/sha256

rand_hex () {
  od -An -N32 -tx1 /dev/urandom | tr -d ' \n'
}

# verify_root NAME ROOT [ARGS]: runs graphpipe verify; output in
# $tmp/NAME.out, exit status in $rc; checks that nothing changed.
verify_root () {
  name=$1
  root=$2
  shift 2
  fx_snapshot "$root" ctime > "$tmp/$name.before"
  "$GRAPHPIPE" verify --root "$root" "$@" > "$tmp/$name.out" 2>&1
  rc=$?
  fx_snapshot "$root" ctime > "$tmp/$name.after"
  if cmp -s "$tmp/$name.before" "$tmp/$name.after"; then
    ok "$name: nothing under the root changed"
  else
    not_ok "$name: nothing under the root changed"
    diff "$tmp/$name.before" "$tmp/$name.after" | sed 's/^/# /' | head -10
  fi
}

expect_clean () {
  verify_root "$@"
  ok_eq "$rc" 0 "$1: clean, exit 0" || sed 's/^/# /' "$tmp/$1.out" | tail -20
  ok_grep "$tmp/$1.out" "0 warnings, 0 failures" "$1: no problem reported"
}

# expect_problem NAME ROOT PATH TEXT: verify exits 1 and reports a
# failure naming ROOT/PATH with TEXT.
expect_problem () {
  verify_root "$1" "$2"
  ok_eq "$rc" 1 "$1: exit 1" || sed 's/^/# /' "$tmp/$1.out" | tail -20
  ok_grep "$tmp/$1.out" "failed: [verify] $2/$3: " "$1: names $3"
  ok_grep "$tmp/$1.out" "$4" "$1: says '$4'"
}

# damage NAME PATH TEXT: a fresh copy of the golden root, damaged by the
# function damage_NAME run inside it, must be reported.
damage () {
  root=$tmp/$1
  rm -rf "$root"
  cp -a "$tmp/golden" "$root" || bail_out "cannot copy the golden root"
  (cd "$root" && "damage_$1") || bail_out "cannot apply damage $1"
  expect_problem "$1" "$root" "$2" "$3"
  rm -rf "$root"
}

fx_extract "$tmp/golden" migrated-root.tar.gz || bail_out "cannot extract migrated-root.tar.gz"

# ---- the golden store ----

expect_clean golden "$tmp/golden"
ok_grep "$tmp/golden.out" "layers checked: 9" "golden: 9 layers checked"
ok_grep "$tmp/golden.out" "images checked: 9" "golden: 9 images checked"
ok_grep "$tmp/golden.out" "references checked: 6" "golden: 6 references checked"
ok_grep "$tmp/golden.out" "mounts checked: 1" "golden: 1 mount checked"
expect_clean golden-jobs1 "$tmp/golden" --jobs 1 --driver vfs

damage_motd_longer () { printf 'x' >> "vfs/dir/$L1_CACHE/etc/motd"; }
damage motd_longer "vfs/dir/$L1_CACHE/etc/motd" "longer than recorded"

damage_motd_same_size () {
  printf 'X' | dd of="vfs/dir/$L1_CACHE/etc/motd" bs=1 seek=3 conv=notrunc 2> /dev/null
}
damage motd_same_size "vfs/dir/$L1_CACHE/etc/motd" "checksum failed"

damage_file_missing () { rm "vfs/dir/$L1_CACHE/etc/passwd"; }
damage file_missing "vfs/dir/$L1_CACHE/etc/passwd" "passwd"

damage_tarsplit_corrupt () {
  f=$layerdb/$L1/tar-split.json.gz
  head -c 100 "$f" > "$f.cut" && mv "$f.cut" "$f"
}
damage tarsplit_corrupt "$layerdb/$L1/tar-split.json.gz" "$layerdb/$L1/tar-split.json.gz"

damage_tarsplit_missing () { rm "$layerdb/$L1/tar-split.json.gz"; }
damage tarsplit_missing "$layerdb/$L1/tar-split.json.gz" "missing"

damage_wrong_diff () { printf '%s' "$NOWHERE" > "$layerdb/$L1/diff"; }
damage wrong_diff "$layerdb/$L1/diff" "content hashes to sha256:$L1_DIFF"

damage_size_newline () { printf '%s\n' "$(cat "$layerdb/$L1/size")" > "$layerdb/$L1/size"; }
damage size_newline "$layerdb/$L1/size" "not a decimal integer"

damage_size_wrong () { printf '1' > "$layerdb/$L1/size"; }
damage size_wrong "$layerdb/$L1/size" "records 1, but"

damage_cache_id_bad () { printf 'not-an-id' > "$layerdb/$L1/cache-id"; }
damage cache_id_bad "$layerdb/$L1/cache-id" "invalid ID value"

damage_cache_id_unknown () { rand_hex > "$layerdb/$L1/cache-id"; }
damage cache_id_unknown "$layerdb/$L1/cache-id" "the vfs driver has no layer"

damage_chain_name () { mv "$layerdb/$TOP" "$layerdb/${NOWHERE#sha256:}"; }
damage chain_name "$layerdb/${NOWHERE#sha256:}" "is not named by its ChainID"

damage_parent_missing () { rm -r "$layerdb/$MID"; }
damage parent_missing "$layerdb/$TOP/parent" "parent layer sha256:$MID does not exist in layerdb"

damage_config_hash () { printf ' ' >> "$store/imagedb/content/sha256/$IMG"; }
damage config_hash "$store/imagedb/content/sha256/$IMG" "failed to verify image"

# A config whose one DiffID is L1's: that chain (L1_DIFF alone) is not in
# layerdb, L1 sits on BASE.
damage_config_chain () {
  printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$L1_DIFF" > config.tmp
  hex=$(sha256sum config.tmp | cut -c1-64)
  mv config.tmp "$store/imagedb/content/sha256/$hex"
}
(cd "$tmp" && printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
  "$L1_DIFF" > config.probe)
chain_hex=$(sha256sum "$tmp/config.probe" | cut -c1-64)
damage config_chain "$store/imagedb/content/sha256/$chain_hex" "which is not in layerdb"

damage_image_parent () { printf '%s' "$NOWHERE" > "$store/imagedb/metadata/sha256/$IMG/parent"; }
damage image_parent "$store/imagedb/metadata/sha256/$IMG/parent" "parent image $NOWHERE does not exist"

damage_reference_dangling () {
  sed "s/\"busybox:1.0\":\"sha256:$IMG\"/\"busybox:1.0\":\"$NOWHERE\"/" "$store/repositories.json" > r.tmp &&
  mv r.tmp "$store/repositories.json"
}
damage reference_dangling "$store/repositories.json" "reference \"busybox:1.0\" points at image $NOWHERE, which does not exist"

damage_reference_bad () {
  sed 's/"busybox:1.0"/"Busybox:1.0"/' "$store/repositories.json" > r.tmp && mv r.tmp "$store/repositories.json"
}
damage reference_bad "$store/repositories.json" "reference \"Busybox:1.0\""

damage_repositories_malformed () {
  head -c 40 "$store/repositories.json" > r.tmp && mv r.tmp "$store/repositories.json"
}
damage repositories_malformed "$store/repositories.json" "repositories.json"

damage_mount_parent () { printf '%s' "$NOWHERE" > "$store/layerdb/mounts/$CID/parent"; }
damage mount_parent "$store/layerdb/mounts/$CID/parent" "layer $NOWHERE does not exist in layerdb"

damage_mount_dir () { rm -r "vfs/dir/$CID"; }
damage mount_dir "$store/layerdb/mounts/$CID/mount-id" "the vfs driver has no layer $CID"

damage_init_dir () { rm -r "vfs/dir/$CID-init"; }
damage init_dir "$store/layerdb/mounts/$CID/init-id" "the vfs driver has no layer $CID-init"

damage_dist_bad () {
  f=$(ls -d "$store"/distribution/v2metadata-by-diffid/sha256/* | head -1)
  printf '[{"Digest":"sha256:nothex","SourceRepository":""}]' > "$f"
}
dist_file=$(cd "$tmp/golden" && ls -d "$store"/distribution/v2metadata-by-diffid/sha256/* | head -1)
damage dist_bad "$dist_file" "[0].Digest"

# ---- an overlay2 root as Docker 20 lays it out ----

o2=$tmp/overlay2
o2store=$o2/image/overlay2
mkdir -p "$o2store/layerdb/sha256" "$o2/overlay2/l" &&
cp -a "$tmp/golden/$store/imagedb" "$tmp/golden/$store/distribution" \
  "$tmp/golden/$store/repositories.json" "$o2store/" || bail_out "cannot copy the golden imagedb"
o2_ok=true
for d in "$tmp/golden/$layerdb"/*; do
  hex=${d##*/}
  cache=$(rand_hex)
  echo "$hex $cache" >> "$tmp/o2-caches"
  mkdir -p "$o2/overlay2/$cache/diff" "$o2/overlay2/$cache/work" || o2_ok=false
  "$LAYERTAR" "$tmp/golden" vfs "sha256:$hex" > "$tmp/layer.tar" &&
  tar --numeric-owner -p --xattrs --xattrs-include='*' -xf "$tmp/layer.tar" -C "$o2/overlay2/$cache/diff" ||
    o2_ok=false
  short=$(rand_hex | cut -c1-26 | tr 'a-f' 'A-F')
  ln -s "../$cache/diff" "$o2/overlay2/l/$short"
  printf '%s' "$short" > "$o2/overlay2/$cache/link"
  mkdir "$o2store/layerdb/sha256/$hex" &&
  cp -p "$d/diff" "$d/size" "$d/tar-split.json.gz" "$o2store/layerdb/sha256/$hex/" || o2_ok=false
  [ ! -f "$d/parent" ] || cp -p "$d/parent" "$o2store/layerdb/sha256/$hex/" || o2_ok=false
  printf '%s' "$cache" > "$o2store/layerdb/sha256/$hex/cache-id"
done
# lower files: the l/ names of the parents, nearest first (ignored).
for d in "$o2store/layerdb/sha256"/*; do
  [ -f "$d/parent" ] || continue
  p=$(sed 's/^sha256://' "$d/parent")
  pc=$(cat "$o2store/layerdb/sha256/$p/cache-id")
  printf 'l/%s' "$(cat "$o2/overlay2/$pc/link")" > "$o2/overlay2/$(cat "$d/cache-id")/lower"
done
mount=$(rand_hex)
mkdir -p "$o2store/layerdb/mounts/$CID" "$o2/overlay2/$mount/diff" "$o2/overlay2/$mount/work" \
  "$o2/overlay2/$mount/merged" "$o2/overlay2/$mount-init/diff" "$o2/overlay2/$mount-init/work" || o2_ok=false
printf '%s' "$mount" > "$o2store/layerdb/mounts/$CID/mount-id"
printf '%s-init' "$mount" > "$o2store/layerdb/mounts/$CID/init-id"
cp -p "$tmp/golden/$store/layerdb/mounts/$CID/parent" "$o2store/layerdb/mounts/$CID/" || o2_ok=false
$o2_ok || bail_out "cannot build the overlay2 root"

expect_clean overlay2 "$o2"
ok_grep "$tmp/overlay2.out" "layers checked: 9" "overlay2: 9 layers checked"

l1_o2=$(grep "^$L1 " "$tmp/o2-caches" | cut -d' ' -f2)

# Docker >= 1.12 records the size of the diff directory for overlay2:
# every non-directory of non-zero size, each inode once.
cp -a "$o2" "$tmp/o2-dirsize"
(cd "$tmp/o2-dirsize/overlay2/$l1_o2/diff" &&
 find . ! -type d -printf '%s %i\n' | awk '$1 > 0 && !seen[$2]++ { s += $1 } END { printf "%d", s }') \
  > "$tmp/o2-dirsize/image/overlay2/layerdb/sha256/$L1/size"
if cmp -s "$tmp/o2-dirsize/image/overlay2/layerdb/sha256/$L1/size" "$tmp/golden/$layerdb/$L1/size"; then
  not_ok "overlay2: the directory size differs from the tar-split size"
else
  ok "overlay2: the directory size differs from the tar-split size"
fi
expect_clean overlay2-dirsize "$tmp/o2-dirsize"
rm -rf "$tmp/o2-dirsize"

o2_damage () {
  root=$tmp/o2-$1
  rm -rf "$root"
  cp -a "$o2" "$root" || bail_out "cannot copy the overlay2 root"
  (cd "$root" && "damage_o2_$1") || bail_out "cannot apply damage $1"
  expect_problem "overlay2-$1" "$root" "$2" "$3"
  rm -rf "$root"
}

damage_o2_same_size () {
  printf 'X' | dd of="overlay2/$l1_o2/diff/etc/motd" bs=1 seek=3 conv=notrunc 2> /dev/null
}
o2_damage same_size "overlay2/$l1_o2/diff/etc/motd" "checksum failed"

damage_o2_missing () { rm "overlay2/$l1_o2/diff/etc/passwd"; }
o2_damage missing "overlay2/$l1_o2/diff/etc/passwd" "passwd"

damage_o2_diff_dir () { rm -r "overlay2/$l1_o2"; }
o2_damage diff_dir "image/overlay2/layerdb/sha256/$L1/cache-id" "the overlay2 driver has no layer $l1_o2"

damage_o2_mount () { rm -r "overlay2/$mount"; }
o2_damage mount "image/overlay2/layerdb/mounts/$CID/mount-id" "the overlay2 driver has no layer $mount"

# ---- migrated gp-mklegacy roots ----

for driver in vfs aufs; do
  root=$tmp/sample-$driver
  sed "s/^driver=vfs\$/driver=$driver/" "$top_srcdir/data/sample-root.ini" > "$tmp/sample-$driver.ini"
  "$MKLEGACY" "$tmp/sample-$driver.ini" "$root" || bail_out "gp-mklegacy failed"
  "$GRAPHPIPE" migrate --root "$root" > "$tmp/migrate-$driver.out" 2>&1 ||
    { sed 's/^/# /' "$tmp/migrate-$driver.out"; bail_out "migrate $driver failed"; }
  expect_clean "sample-$driver" "$root"
  ok_grep "$tmp/sample-$driver.out" "layers checked: 4" "sample-$driver: 4 layers checked"
done

# aufs: a layer file changed in its diff directory.
root=$tmp/sample-aufs
f=$(cd "$root" && ls -d aufs/diff/*/app/run.sh | head -1)
printf 'x' >> "$root/$f"
expect_problem sample-aufs-damaged "$root" "$f" "longer than recorded"

# ---- usage ----

"$GRAPHPIPE" verify --root "$tmp/nothing-here" > "$tmp/usage.out" 2>&1
ok_eq "$?" 2 "a root without any driver's data: usage error"
mkdir -p "$tmp/nostore/vfs"
"$GRAPHPIPE" verify --root "$tmp/nostore" > "$tmp/nostore.out" 2>&1
ok_eq "$?" 1 "a root without an image store: exit 1"
ok_grep "$tmp/nostore.out" "$tmp/nostore/image/vfs: no image store" "a root without an image store: says so"

done_testing
