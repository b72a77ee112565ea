#!/bin/sh
# Unpacks the exactness data of the tree (tests/golden/, tests/vectors/)
# into the shared-data layout the tests read ($GP_SHARED_DIR):
#
#   DEST/golden/public/...        golden-public.tar.xz, each .tar gzipped
#                                 again (gzip -9n) under its .tar.gz name
#   DEST/spec/moby-vectors.md     tests/vectors/moby-vectors.md
#   DEST/spec/fixtures/...        tests/vectors/fixtures/...
#
# Every file is checked against tests/golden/SHA256SUMS (the .tar files
# before gzip) and no other file may be there.  Anything missing or
# different fails with a message naming it, and DEST is left as it was.
#
# usage: tests/golden/unpack.sh TESTS_SRCDIR DEST   (run by make check)
set -u

[ $# = 2 ] || { echo "usage: $0 TESTS_SRCDIR DEST" >&2; exit 2; }
src=$1
dest=$2
pack=$src/golden/golden-public.tar.xz
sums=$src/golden/SHA256SUMS

fail () {
  echo "$0: error: $*" >&2
  echo "$0: the byte-exact tests need this data (see tests/golden/README.md); not running them" >&2
  exit 1
}

for f in "$pack" "$sums" "$src/vectors/moby-vectors.md" "$src/vectors/fixtures"; do
  [ -e "$f" ] || fail "$f is missing"
done
for prog in xz tar gzip sha256sum; do
  command -v "$prog" > /dev/null 2>&1 || fail "$prog not found (Debian packages xz-utils, tar, gzip, coreutils)"
done
sums_abs=$(cd "$(dirname "$sums")" && pwd)/$(basename "$sums")

tmp=$dest.tmp
rm -rf "$tmp"
mkdir -p "$tmp/golden/public" "$tmp/spec" || fail "cannot create $tmp"
trap 'rm -rf "$tmp"' EXIT INT TERM

xz -dc < "$pack" > "$tmp/pack.tar" || fail "$pack: xz cannot decompress it"
tar -xf "$tmp/pack.tar" --no-same-owner -C "$tmp/golden/public" || fail "$pack: tar cannot unpack it"
rm -f "$tmp/pack.tar"
cp "$src/vectors/moby-vectors.md" "$tmp/spec/" &&
  cp -R "$src/vectors/fixtures" "$tmp/spec/fixtures" || fail "cannot copy $src/vectors"
chmod -R u+w "$tmp"

# Exactly the listed files, with the listed bytes.
(cd "$tmp" && find . -type f | sed 's|^\./||' | LC_ALL=C sort) > "$tmp.have"
sed 's/^[0-9a-f]*  //' "$sums" | LC_ALL=C sort > "$tmp.want"
missing=$(LC_ALL=C comm -13 "$tmp.have" "$tmp.want")
extra=$(LC_ALL=C comm -23 "$tmp.have" "$tmp.want")
rm -f "$tmp.have" "$tmp.want"
[ -z "$missing" ] || fail "missing from $pack or $src/vectors: $(echo $missing)"
[ -z "$extra" ] || fail "not in $sums: $(echo $extra)"
if ! bad=$(cd "$tmp" && LC_ALL=C sha256sum --strict -c "$sums_abs" 2>&1); then
  echo "$bad" | grep -v ': OK$' >&2
  fail "checksums of the unpacked data do not match $sums"
fi

# The tests read the golden tarballs under their .tar.gz names.
for t in "$tmp"/golden/public/*.tar; do
  gzip -9n "$t" || fail "gzip $t"
done

rm -rf "$dest" && mv "$tmp" "$dest" || fail "cannot move $tmp to $dest"
trap - EXIT INT TERM
