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
#     is not poisoned by the failed run).
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
ok_eq "$(tar -tf "$out/images.tar" | head -2 | tr '\n' ' ')" "oci-layout index.json " \
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

done_testing
