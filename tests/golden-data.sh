#!/bin/sh
# The exactness data (TAP): what the tests read is what was published,
# and tests/golden/unpack.sh refuses anything else.
#
#  - every file of tests/golden/SHA256SUMS is in $GP_SHARED_DIR with its
#    checksum (a golden .tar by its gzipped .tar.gz, gunzipped), and
#    golden/ and spec/fixtures/ there have no other file;
#  - on a small data set of its own, unpack.sh unpacks, gzips the .tar
#    files (gunzipping gives the bytes back) and fails, naming the cause
#    and leaving the destination as it was, when the pack is missing or
#    corrupt, a checksum differs, a listed file is missing or an unlisted
#    one is there.
#
# Environment (set by make check): GP_SHARED_DIR, GP_TOP_SRCDIR.
set -u

top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${GP_TOP_BUILDDIR:-.}
shared=${GP_SHARED_DIR:-$top_builddir/tests/shared}
sums=$top_srcdir/tests/golden/SHA256SUMS
unpack=$top_srcdir/tests/golden/unpack.sh

. "$top_srcdir/tests/migrate-tap.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gp-golden-data-XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

# ---- the data the tests read ----
bad=0
n=0
while read -r sum path; do
  n=$((n + 1))
  case $path in
    golden/public/*.tar) got=$(gzip -dc < "$shared/$path.gz" 2> /dev/null | sha256sum | cut -d' ' -f1) ;;
    *) got=$(sha256sum < "$shared/$path" 2> /dev/null | cut -d' ' -f1) ;;
  esac
  if [ "$got" != "$sum" ]; then
    bad=$((bad + 1))
    diag "differs or missing: $shared/$path"
  fi
done < "$sums"
ok_eq "$bad" 0 "all $n files of SHA256SUMS are in $shared with their checksums"
ok_eq "$([ "$n" -gt 100 ] && echo yes)" yes "SHA256SUMS lists the whole golden set ($n files)"

# (golden/ and spec/fixtures/: a --with-shared-dir may hold more in spec/)
(cd "$shared" && find golden spec/fixtures -type f | sed 's|^\(golden/public/[^/]*\)\.tar\.gz$|\1.tar|' |
 LC_ALL=C sort) > "$tmp/have"
sed -n 's/^[0-9a-f]*  \(golden\/\|spec\/fixtures\/\)/\1/p' "$sums" | LC_ALL=C sort > "$tmp/want"
ok_eq "$(LC_ALL=C comm -3 "$tmp/have" "$tmp/want" | tr -d '\t' | tr '\n' ' ')" "" \
  "golden/ and spec/fixtures/ hold exactly the listed files"

# ---- unpack.sh on a small data set ----
src=$tmp/src
mkdir -p "$src/golden" "$src/vectors/fixtures/set" "$tmp/pack/expected"
printf 'readme\n' > "$tmp/pack/README.txt"
printf 'ids\n' > "$tmp/pack/expected/ids.txt"
(cd "$tmp/pack" && printf 'layer\n' > layer && tar -cf root.tar layer && rm layer)
printf 'vectors\n' > "$src/vectors/moby-vectors.md"
printf 'fixture\n' | gzip -n > "$src/vectors/fixtures/set/t.tar.gz"
(cd "$tmp/pack" && tar -cf - .) | xz > "$src/golden/golden-public.tar.xz"
{
  (cd "$tmp/pack" && find . -type f | sed 's|^\./||' | LC_ALL=C sort | while read -r f; do
     printf '%s  golden/public/%s\n' "$(sha256sum < "$f" | cut -d' ' -f1)" "$f"; done)
  printf '%s  spec/moby-vectors.md\n' "$(sha256sum < "$src/vectors/moby-vectors.md" | cut -d' ' -f1)"
  printf '%s  spec/fixtures/set/t.tar.gz\n' "$(sha256sum < "$src/vectors/fixtures/set/t.tar.gz" | cut -d' ' -f1)"
} > "$src/golden/SHA256SUMS"

# run_unpack NAME: unpack.sh $src into $tmp/NAME; status in $rc, stderr
# in $tmp/NAME.err.
run_unpack () {
  sh "$unpack" "$src" "$tmp/$1" > /dev/null 2> "$tmp/$1.err"
  rc=$?
}

run_unpack good
ok_eq "$rc" 0 "unpack.sh: a good data set unpacks" || sed 's/^/# /' "$tmp/good.err"
ok_eq "$(cd "$tmp/good" && find . -type f | LC_ALL=C sort | tr '\n' ' ')" \
  "./golden/public/README.txt ./golden/public/expected/ids.txt ./golden/public/root.tar.gz ./spec/fixtures/set/t.tar.gz ./spec/moby-vectors.md " \
  "unpack.sh: the shared-data layout, .tar gzipped"
if gzip -dc < "$tmp/good/golden/public/root.tar.gz" | cmp -s - "$tmp/pack/root.tar"; then
  ok "unpack.sh: the gzipped .tar gunzips to its bytes"
else
  not_ok "unpack.sh: the gzipped .tar gunzips to its bytes"
fi
ok_eq "$(ls -A "$tmp" | grep -c '^good\.tmp')" 0 "unpack.sh: no temporary left"

# expect_refusal NAME MESSAGE TEXT: unpack.sh into the good tree fails,
# says MESSAGE, and the tree is as it was.
expect_refusal () {
  (cd "$tmp/good" && find . -type f -exec sha256sum {} + | LC_ALL=C sort) > "$tmp/before"
  sh "$unpack" "$src" "$tmp/good" > /dev/null 2> "$tmp/$1.err"
  rc=$?
  ok_eq "$rc" 1 "unpack.sh refuses $3: exit 1"
  ok_grep "$tmp/$1.err" "$2" "unpack.sh refuses $3: says '$2'"
  (cd "$tmp/good" && find . -type f -exec sha256sum {} + | LC_ALL=C sort) > "$tmp/after"
  if cmp -s "$tmp/before" "$tmp/after"; then
    ok "unpack.sh refuses $3: the unpacked tree is as it was"
  else
    not_ok "unpack.sh refuses $3: the unpacked tree is as it was"
  fi
}

cp "$src/golden/SHA256SUMS" "$tmp/sums.good"
awk 'NR == 1 { $0 = (substr($0, 1, 1) == "0" ? "1" : "0") substr($0, 2) } { print }' \
  "$tmp/sums.good" > "$src/golden/SHA256SUMS"
expect_refusal badsum "golden/public/README.txt: FAILED" "a checksum that differs"
cp "$tmp/sums.good" "$src/golden/SHA256SUMS"

mv "$src/vectors/fixtures/set/t.tar.gz" "$tmp/t.tar.gz"
expect_refusal missing "missing from" "a listed file that is not there"
mv "$tmp/t.tar.gz" "$src/vectors/fixtures/set/t.tar.gz"

printf 'stray\n' > "$src/vectors/fixtures/set/stray"
expect_refusal extra "not in $src/golden/SHA256SUMS: spec/fixtures/set/stray" "an unlisted file"
rm "$src/vectors/fixtures/set/stray"

mv "$src/golden/golden-public.tar.xz" "$tmp/pack.xz"
expect_refusal nopack "golden-public.tar.xz is missing" "a missing pack"
head -c 100 "$tmp/pack.xz" > "$src/golden/golden-public.tar.xz"
expect_refusal corrupt "xz cannot decompress it" "a corrupt pack"
mv "$tmp/pack.xz" "$src/golden/golden-public.tar.xz"

run_unpack again
ok_eq "$rc" 0 "unpack.sh: the restored data set unpacks again" || sed 's/^/# /' "$tmp/again.err"

done_testing
