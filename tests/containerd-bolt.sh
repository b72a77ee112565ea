#!/bin/bash
# The bbolt reader (core/format/gp-bbolt.c) on the meta.db and the
# overlayfs snapshotter's metadata.db that containerd 1.6 writes (with
# branch, overflow and inline pages): what it reads must be what ctr lists
# (namespaces, image names and targets, labels, content blobs,
# snapshots), and damaged copies (truncated, a page's
# header overwritten, a cycle of page ids, a child page beyond the pages
# in use, broken meta checksums) must give an error naming the file and
# the page, never a crash or a loop.  TAP.
set -u

top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=$(cd "${GP_TOP_BUILDDIR:-.}" && pwd)
DUMP=${DUMP:-$top_builddir/tests/gp-bolt-dump}
shared=${GP_SHARED_DIR:-$top_builddir/tests/shared}
golden=$shared/golden/public

. "$top_srcdir/tests/migrate-tap.sh"
. "$top_srcdir/tests/containerd-lib.sh"

plan 26
if why=$(ctrd_missing); then
  skip_all "$why"
fi
[ -f "$golden/save-busybox_latest.tar.gz" ] || skip_all "no golden data under $golden"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gp-ctrd-bolt-XXXXXX") || exit 99
trap 'ctrd_stop; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

# ---- containerd writes the databases ----
gunzip -c "$golden/save-busybox_latest.tar.gz" > "$tmp/busybox.tar"
gunzip -c "$golden/save-myapp_v1+busybox_1.0.variant1.tar.gz" > "$tmp/myapp.tar"
ctrd_start "$tmp/ctrd" || skip_all "containerd does not start here"
ctr -n default images import "$tmp/busybox.tar" > /dev/null &&
  ctr -n team images import "$tmp/myapp.tar" > /dev/null &&
  ctr -n default images label docker.io/library/busybox:latest gp.test=yes > /dev/null
ok_eq "$?" 0 "ctr imports the golden saves into two namespaces"
# Enough names for branch pages, and a label too big for one page (the
# largest containerd accepts: key and value 4096 bytes) for an overflow
# page, written by containerd itself.
big=$(head -c 4093 /dev/zero | tr '\0' v)
for i in $(seq 1 120); do
  ctr -n default images tag docker.io/library/busybox:latest "example.com/gp/many:tag-$i" > /dev/null || break
done &&
  ctr -n default images label docker.io/library/busybox:latest "big=$big" > /dev/null
ok_eq "$?" 0 "ctr tags 120 names and sets a 4093-byte label"
ctr namespaces ls -q | LC_ALL=C sort > "$tmp/want-ns"
for ns in default team; do
  ctr -n $ns images ls | awk 'NR > 1 { print $1, $2, $3 }' | LC_ALL=C sort > "$tmp/want-images-$ns"
  ctr -n $ns content ls | awk 'NR > 1 { print $1 }' | LC_ALL=C sort > "$tmp/want-blobs-$ns"
  ctr -n $ns snapshots ls | awk 'NR > 1 { print $1 }' | LC_ALL=C sort > "$tmp/want-snaps-$ns"
done
ctrd_stop

meta=$tmp/ctrd/root/io.containerd.metadata.v1.bolt/meta.db
snapdb=$tmp/ctrd/root/io.containerd.snapshotter.v1.overlayfs/metadata.db
sha_before=$(sha256sum "$meta" "$snapdb")

# ---- what the reader sees equals what ctr listed ----
"$DUMP" "$meta" > "$tmp/dump" 2> "$tmp/err"
ok_eq "$?" 0 "the reader walks meta.db" || sed 's/^/#   /' "$tmp/err"
"$DUMP" --check "$meta" > "$tmp/stats" 2> "$tmp/err"
ok_eq "$?" 0 "gp_bolt_check accepts meta.db" || sed 's/^/#   /' "$tmp/err"
read -r _ n_branch _ n_leaf _ n_overflow _ n_buckets _ n_inline _ n_keys < "$tmp/stats"
diag "meta.db: $(cat "$tmp/stats")"
[ "${n_branch:-0}" -ge 1 ] && [ "${n_overflow:-0}" -ge 1 ] && [ "${n_inline:-0}" -ge 1 ]
ok_eq "$?" 0 "containerd's meta.db has branch, overflow and inline pages, all read"
"$DUMP" --check "$snapdb" > /dev/null 2> "$tmp/err"
ok_eq "$?" 0 "gp_bolt_check accepts the overlayfs snapshotter's metadata.db" || sed 's/^/#   /' "$tmp/err"

sed -n 's|^B v1/\([^/]*\)$|\1|p' "$tmp/dump" | LC_ALL=C sort > "$tmp/got-ns"
ok_eq "$(cat "$tmp/got-ns")" "$(cat "$tmp/want-ns")" "namespaces as ctr namespaces ls"
for ns in default team; do
  # name, media type and digest of each image's target
  sed -n "s|^B v1/$ns/images/\(.*\)/target\$|\1|p" "$tmp/dump" | while read -r name; do
    mt=$(grep -F "K v1/$ns/images/$name/target/mediatype " "$tmp/dump" | cut -d' ' -f3)
    dg=$(grep -F "K v1/$ns/images/$name/target/digest " "$tmp/dump" | cut -d' ' -f3)
    echo "$name $mt $dg"
  done | LC_ALL=C sort > "$tmp/got-images-$ns"
  ok_eq "$(cat "$tmp/got-images-$ns")" "$(cat "$tmp/want-images-$ns")" \
    "namespace $ns: image names and targets as ctr images ls"
  sed -n "s|^B v1/$ns/content/blob/\([^/]*\)\$|\1|p" "$tmp/dump" | LC_ALL=C sort > "$tmp/got-blobs-$ns"
  ok_eq "$(cat "$tmp/got-blobs-$ns")" "$(cat "$tmp/want-blobs-$ns")" \
    "namespace $ns: content blobs as ctr content ls"
  sed -n "s|^B v1/$ns/snapshots/overlayfs/\([^/]*\)\$|\1|p" "$tmp/dump" | LC_ALL=C sort > "$tmp/got-snaps-$ns"
  ok_eq "$(cat "$tmp/got-snaps-$ns")" "$(cat "$tmp/want-snaps-$ns")" \
    "namespace $ns: snapshots as ctr snapshots ls"
done
ok_grep "$tmp/dump" "K v1/default/images/docker.io/library/busybox:latest/labels/gp.test yes" \
  "the label set with ctr images label is read"
ok_grep "$tmp/dump" "K v1/default/images/docker.io/library/busybox:latest/labels/big $big" \
  "the label on an overflow page is read whole"

# ---- damaged copies ----
# u64 FILE OFFSET / u32 FILE OFFSET: a little-endian integer of the file.
u64 () { od -An -tu8 -j "$2" -N8 "$1" | tr -d ' '; }
u32 () { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
# put FILE OFFSET HEXBYTES: overwrite bytes in place.
put () {
  printf "$(printf '%s' "$3" | sed 's/../\\x&/g')" |
    dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# le64 N: N as 8 little-endian bytes, in hex.
le64 () { printf '%016x' "$1" | sed 's/../& /g' | awk '{ for (i = 8; i >= 1; i--) printf "%s", $i }'; }

ps=$(u32 "$meta" 24)
tx0=$(u64 "$meta" 64)
tx1=$(u64 "$meta" $((ps + 64)))
cur=0
[ "$tx1" -gt "$tx0" ] && cur=$ps
other=$((ps - cur))
root=$(u64 "$meta" $((cur + 32)))
hwm=$(u64 "$meta" $((cur + 56)))
diag "page size $ps, txids $tx0/$tx1, root page $root, $hwm pages in use"

# damaged NAME: a fresh copy to damage
damaged () { cp "$meta" "$tmp/$1.db"; echo "$tmp/$1.db"; }
# expect_error FILE TEXT MSG: gp-bolt-dump --check fails, naming FILE and saying TEXT
expect_error () {
  "$DUMP" --check "$1" > /dev/null 2> "$tmp/err"
  local rc=$?
  if [ $rc = 1 ] && grep -qF -- "$1" "$tmp/err" && grep -qF -- "$2" "$tmp/err"; then
    ok "$3"
  else
    not_ok "$3 (exit $rc, want 1 and '$2')"
    sed 's/^/#   /' "$tmp/err"
  fi
}

f=$(damaged truncated)
truncate -s $(((hwm - 1) * ps)) "$f"
expect_error "$f" "truncated: meta page" "truncated by a page: an error naming the file"
f=$(damaged tiny)
truncate -s 100 "$f"
expect_error "$f" "truncated: meta page 0" "truncated to 100 bytes (meta page 0 only)"
f=$(damaged empty)
: > "$f"
expect_error "$f" "not a bbolt database (0 bytes)" "an empty file"

f=$(damaged header)
put "$f" $((root * ps)) "$(le64 77777)"
expect_error "$f" "page $root has the header of page 77777" "the root page's header overwritten"

f=$(damaged cycle)
# the root page becomes a branch with one element pointing to itself
put "$f" $((root * ps + 8)) "01000100"
put "$f" $((root * ps + 16)) "10000000""01000000""$(le64 "$root")"
expect_error "$f" "points to page $root, reached already (a cycle of pages)" "a branch page pointing to itself"

f=$(damaged beyond)
put "$f" $((root * ps + 8)) "01000100"
put "$f" $((root * ps + 16)) "10000000""01000000""$(le64 $((hwm + 5)))"
expect_error "$f" "page $((hwm + 5)) is beyond the pages in use" "a child page beyond the high-water mark"

f=$(damaged elements)
# a count of elements that does not fit in the page
put "$f" $((root * ps + 10)) "ffff"
expect_error "$f" "elements do not fit in" "more elements than the page holds"

f=$(damaged badmeta)
put "$f" $((cur + 64)) "$(le64 $(( $(u64 "$meta" $((cur + 64))) + 2 )))"
"$DUMP" "$f" > "$tmp/dump-badmeta" 2> "$tmp/err"
ok_eq "$?" 0 "the current meta page's checksum broken: the other one is used" || sed 's/^/#   /' "$tmp/err"
put "$f" $((other + 64)) "$(le64 $(( $(u64 "$meta" $((other + 64))) + 2 )))"
expect_error "$f" "both meta pages are damaged (meta page 0: checksum mismatch; meta page 1: checksum mismatch)" \
  "both meta checksums broken"

f=$(damaged overflow)
put "$f" $((root * ps + 12)) "ffffff7f"
expect_error "$f" "overflows by" "a page overflowing past the pages in use"

ok_eq "$(sha256sum "$meta" "$snapdb")" "$sha_before" "the databases read are unchanged"

done_testing
