#!/bin/sh
# `graphpipe save --source legacy` (the legacy-graph source) on the golden
# legacy root (TAP, golden data, root):
#  - for every golden name set, by tag, repository, image ID and ID
#    prefix, the docker-archive output is byte for byte migrate + save of
#    the same names (a migrated copy), the earlier export-legacy pipeline
#    (a migration into a temporary store, then save) and `--preset
#    export-legacy` (now this source); --compat 20.10 and the OCI
#    formats too (oci-archive bytes, oci-dir files);
#  - nothing under the root changes and nothing is left under $TMPDIR
#    (no temporary store);
#  - bad input: an unknown name, a root that is not a legacy graph, a
#    corrupt image JSON beside intact images (a warning naming it; the
#    others still save, identical to migrate + save), each with a clear
#    error or warning and no output on failure.
set -u

top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${GP_TOP_BUILDDIR:-.}
shared=${GP_SHARED_DIR:-$top_builddir/tests/shared}
golden=$shared/golden/public
GRAPHPIPE=${GRAPHPIPE:-$top_builddir/graphpipe}

. "$top_srcdir/tests/migrate-tap.sh"
. "$top_srcdir/tests/forensics-lib.sh"
plan 45
fx_require_golden
fx_skip_unless_root

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gp-save-legacy-XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
umask 022

fx_extract "$tmp/src" || bail_out "cannot extract legacy-root.tar.gz"
fx_extract "$tmp/inplace" || bail_out "cannot extract legacy-root.tar.gz"
fx_snapshot "$tmp/src" ctime > "$tmp/src.before"
mkdir "$tmp/t"
"$GRAPHPIPE" migrate -q --root "$tmp/inplace" > "$tmp/m.log" 2>&1 ||
  bail_out "migration of the reference copy failed: $(cat "$tmp/m.log")"

# The IDs the migration gave two tags, from its repositories.json.
id_of () {
  sed 's/.*"'"$1"'":"\(sha256:[0-9a-f]*\)".*/\1/' "$tmp/inplace/image/vfs/repositories.json"
}
app_id=$(id_of myapp:v1)
bb_id=$(id_of busybox:latest)
case $app_id$bb_id in
  sha256:*sha256:*) ;;
  *) bail_out "no image IDs for myapp:v1 and busybox:latest in the migrated copy" ;;
esac
bb_prefix=$(echo "$bb_id" | cut -c8-19)

mkdir "$tmp/tmpstore"
cat > "$tmp/via-store.conf" <<'EOC'
[pipeline]
description=export-legacy before the legacy-graph source: a migration into a temporary store, then save
stages=scan-graph;register-layers;build-configs;migrate-tags;docker-store;tar-export
[scan-graph]
target=temporary
[docker-store]
images=${images}
[tar-export]
output=${output}
compress=${compress}
EOC

i=0
for names in "busybox:latest" "busybox" "myapp:v1 busybox:1.0" \
             "legacy/tool:1.6 localhost:5000/team/tool:2.1" "$app_id" "$bb_prefix myapp:v1"; do
  i=$((i + 1))
  # shellcheck disable=SC2086
  "$GRAPHPIPE" save -q --root "$tmp/inplace" -o "$tmp/ref$i.tar" $names > "$tmp/s.log" 2>&1
  ok_eq "$?" 0 "[$names] migrate + save exits 0" || sed 's/^/# /' "$tmp/s.log"
  # shellcheck disable=SC2086
  TMPDIR=$tmp/t "$GRAPHPIPE" save -q --source legacy --root "$tmp/src" -o "$tmp/leg$i.tar" $names \
    > "$tmp/l.log" 2>&1
  ok_eq "$?" 0 "[$names] save --source legacy exits 0" || sed 's/^/# /' "$tmp/l.log"
  if cmp -s "$tmp/ref$i.tar" "$tmp/leg$i.tar"; then ok "[$names] --source legacy = migrate + save, byte for byte"
  else not_ok "[$names] --source legacy = migrate + save, byte for byte"; fi
  if [ $i -le 4 ]; then
    # the earlier export-legacy: a migration into a temporary store, then save
    TMPDIR=$tmp/tmpstore "$GRAPHPIPE" run -q "$tmp/via-store.conf" --root "$tmp/src" --driver vfs \
      -s "images=$names" -s "output=$tmp/exp$i.tar" -s compress=none > "$tmp/e.log" 2>&1
    if cmp -s "$tmp/exp$i.tar" "$tmp/leg$i.tar"; then ok "[$names] --source legacy = migration into a temporary store + save"
    else not_ok "[$names] --source legacy = migration into a temporary store + save"; sed 's/^/# /' "$tmp/e.log"; fi
    "$GRAPHPIPE" save -q --preset export-legacy --root "$tmp/src" -o "$tmp/pre$i.tar" $names > "$tmp/e.log" 2>&1
    if cmp -s "$tmp/pre$i.tar" "$tmp/leg$i.tar"; then ok "[$names] --preset export-legacy = --source legacy"
    else not_ok "[$names] --preset export-legacy = --source legacy"; sed 's/^/# /' "$tmp/e.log"; fi
  fi
done

gzip -dc < "$golden/save-busybox_latest.tar.gz" > "$tmp/docker1.tar"
if cmp -s "$tmp/docker1.tar" "$tmp/leg1.tar"; then ok "--source legacy busybox:latest = Docker 1.10.3's docker save"
else not_ok "--source legacy busybox:latest = Docker 1.10.3's docker save"; fi

# --compat 20.10 (Docker 20.10's save bytes) after the legacy source
# (a layer directory written as a symlink has the save time as its mtime:
# the two saves may fall in different seconds, under valgrind they do)
for names in "busybox:latest" "myapp:v1 busybox:1.0"; do
  t0=$(date +%s)
  # shellcheck disable=SC2086
  "$GRAPHPIPE" save -q --compat 20.10 --root "$tmp/inplace" -o "$tmp/ref20.tar" $names > /dev/null 2>&1
  # shellcheck disable=SC2086
  TMPDIR=$tmp/t "$GRAPHPIPE" save -q --compat 20.10 --source legacy --root "$tmp/src" -o "$tmp/leg20.tar" $names \
    > "$tmp/c.log" 2>&1
  t1=$(date +%s)
  if [ -s "$tmp/ref20.tar" ] && { cmp -s "$tmp/ref20.tar" "$tmp/leg20.tar" ||
       python3 "$top_srcdir/tests/save-compat-compare.py" "$tmp/leg20.tar" "$t0" "$t1" \
         "$tmp/ref20.tar" >> "$tmp/c.log" 2>&1; }; then
    ok "[$names] --compat 20.10 --source legacy = migrate + save --compat 20.10"
  else
    not_ok "[$names] --compat 20.10 --source legacy = migrate + save --compat 20.10"; sed 's/^/# /' "$tmp/c.log"
  fi
done

# A layer the Docker 1.10.3 layout holds under several v1 IDs is copied
# within the output file from its first span, not rebuilt: the same
# bytes as rebuilding every one in stream order (GP_SAVE_NO_PWRITE=1),
# whether the output is -o FILE or standard output redirected to a file.
copies_of () { grep -o '"layer-copies":[0-9]*' "$1" | cut -d: -f2; }
all_tags="busybox:latest busybox:1.0 myapp:v1 legacy/tool:1.6 localhost:5000/team/tool:2.1"
# shellcheck disable=SC2086
"$GRAPHPIPE" save -q --root "$tmp/inplace" --jobs 2 --report="$tmp/copy.json" \
  -o "$tmp/copy.tar" $all_tags > "$tmp/c.log" 2>&1
st=$?
n=$(copies_of "$tmp/copy.json")
if [ "$st" = 0 ] && [ "${n:-0}" -ge 1 ]; then
  ok "save -o FILE of every tag exits 0 and copies a repeated layer ($n)"
else
  not_ok "save -o FILE of every tag exits 0 and copies a repeated layer (exit $st, ${n:-no} copies)"
  sed 's/^/# /' "$tmp/c.log"
fi
# shellcheck disable=SC2086
GP_SAVE_NO_PWRITE=1 "$GRAPHPIPE" save -q --root "$tmp/inplace" -o - $all_tags > "$tmp/seq.tar" 2> "$tmp/c.log"
if [ -s "$tmp/seq.tar" ] && cmp -s "$tmp/copy.tar" "$tmp/seq.tar"; then
  ok "the copied layers = rebuilt in stream order, byte for byte"
else
  not_ok "the copied layers = rebuilt in stream order, byte for byte"
fi
# shellcheck disable=SC2086
"$GRAPHPIPE" save -q --root "$tmp/inplace" --jobs 2 --report="$tmp/copy2.json" -o - $all_tags \
  > "$tmp/copy2.tar" 2> "$tmp/c.log"
if [ -s "$tmp/copy2.tar" ] && cmp -s "$tmp/copy2.tar" "$tmp/seq.tar" \
   && [ "$(copies_of "$tmp/copy2.json")" = "$(copies_of "$tmp/copy.json")" ]; then
  ok "save > FILE copies the same layers (reopened for reading), byte for byte"
else
  not_ok "save > FILE copies the same layers (reopened for reading), byte for byte"
fi

# the OCI sink after the legacy source: what it writes from the migrated copy
all="busybox:latest busybox:1.0 myapp:v1 legacy/tool:1.6 localhost:5000/team/tool:2.1"
# shellcheck disable=SC2086
"$GRAPHPIPE" save -q --format oci-archive --root "$tmp/inplace" -o "$tmp/ref-oci.tar" $all > /dev/null 2>&1
# shellcheck disable=SC2086
TMPDIR=$tmp/t "$GRAPHPIPE" save -q --format oci-archive --source legacy --root "$tmp/src" \
  -o "$tmp/leg-oci.tar" $all > "$tmp/o.log" 2>&1
ok_eq "$?" 0 "oci-archive --source legacy exits 0" || sed 's/^/# /' "$tmp/o.log"
if [ -s "$tmp/ref-oci.tar" ] && cmp -s "$tmp/ref-oci.tar" "$tmp/leg-oci.tar"; then
  ok "oci-archive --source legacy = migrate + save --format oci-archive, byte for byte"
else
  not_ok "oci-archive --source legacy = migrate + save --format oci-archive, byte for byte"
fi
# shellcheck disable=SC2086
"$GRAPHPIPE" save -q --format oci-dir --compress gzip --root "$tmp/inplace" -o "$tmp/ref-dir" $all > /dev/null 2>&1
# shellcheck disable=SC2086
TMPDIR=$tmp/t "$GRAPHPIPE" save -q --format oci-dir --compress gzip --source legacy --root "$tmp/src" \
  -o "$tmp/leg-dir" $all > "$tmp/o.log" 2>&1
ok_eq "$?" 0 "oci-dir --compress gzip --source legacy exits 0" || sed 's/^/# /' "$tmp/o.log"
(cd "$tmp/ref-dir" 2>/dev/null && find . -type f -exec sha256sum {} + | LC_ALL=C sort) > "$tmp/ref-dir.sums"
(cd "$tmp/leg-dir" 2>/dev/null && find . -type f -exec sha256sum {} + | LC_ALL=C sort) > "$tmp/leg-dir.sums"
if [ -s "$tmp/ref-dir.sums" ] && cmp -s "$tmp/ref-dir.sums" "$tmp/leg-dir.sums"; then
  ok "oci-dir --compress gzip --source legacy: the same files as from the migrated copy"
else
  not_ok "oci-dir --compress gzip --source legacy: the same files as from the migrated copy"
fi

# nothing written: not under the root, no temporary store
fx_snapshot "$tmp/src" ctime > "$tmp/src.after"
if cmp -s "$tmp/src.before" "$tmp/src.after"; then ok "the legacy root is unchanged (ctime included)"
else not_ok "the legacy root is unchanged"; diff "$tmp/src.before" "$tmp/src.after" | head -5 | sed 's/^/# /'; fi
ok_eq "$(ls -A "$tmp/t")" "" "nothing left under \$TMPDIR (no temporary store)"

# ---- bad input ----
TMPDIR=$tmp/t "$GRAPHPIPE" save -q --source legacy --root "$tmp/src" -o "$tmp/bad1.tar" nosuch:tag \
  > /dev/null 2> "$tmp/b1.log"
rc=$?
if [ "$rc" = 1 ] && grep -q "nosuch" "$tmp/b1.log" && [ ! -e "$tmp/bad1.tar" ]; then
  ok "an unknown name: exit 1 naming it, no output ($(head -1 "$tmp/b1.log" | cut -c1-120))"
else
  not_ok "an unknown name: exit 1 naming it, no output (exit $rc): $(cat "$tmp/b1.log")"
fi
TMPDIR=$tmp/t "$GRAPHPIPE" save -q --source legacy --root "$tmp/inplace/image" -o "$tmp/bad2.tar" busybox \
  > /dev/null 2> "$tmp/b2.log"
rc=$?
if [ "$rc" = 1 ] && grep -q "graph" "$tmp/b2.log" && [ ! -e "$tmp/bad2.tar" ]; then
  ok "not a legacy root: exit 1 saying so ($(head -1 "$tmp/b2.log" | cut -c1-120))"
else
  not_ok "not a legacy root: exit 1 saying so (exit $rc): $(cat "$tmp/b2.log")"
fi
# a corrupt image JSON: the image (and its descendants) cannot be had, the others can
fx_extract "$tmp/broken" || bail_out "cannot extract legacy-root.tar.gz"
fx_extract "$tmp/broken-m" || bail_out "cannot extract legacy-root.tar.gz"
leaf=$(sed 's/.*"legacy\/tool":{"1.6":"\([0-9a-f]*\)".*/\1/' "$tmp/broken/repositories-vfs")
[ -f "$tmp/broken/graph/$leaf/json" ] || bail_out "no legacy/tool:1.6 image in the golden legacy root"
printf '{not json' > "$tmp/broken/graph/$leaf/json"
printf '{not json' > "$tmp/broken-m/graph/$leaf/json"
"$GRAPHPIPE" migrate -q --root "$tmp/broken-m" > /dev/null 2>&1
"$GRAPHPIPE" save -q --root "$tmp/broken-m" -o "$tmp/broken-ref.tar" myapp:v1 busybox:1.0 > /dev/null 2>&1
TMPDIR=$tmp/t "$GRAPHPIPE" save --source legacy --root "$tmp/broken" -o "$tmp/broken.tar" myapp:v1 busybox:1.0 \
  > /dev/null 2> "$tmp/b3.log"
rc=$?
ok_eq "$rc" 0 "a corrupt image JSON beside intact images: the intact ones save (exit 0)"
if grep -q "$leaf" "$tmp/b3.log"; then ok "... with a warning naming the broken image"
else not_ok "... with a warning naming the broken image: $(cat "$tmp/b3.log")"; fi
if [ -s "$tmp/broken-ref.tar" ] && cmp -s "$tmp/broken-ref.tar" "$tmp/broken.tar"; then
  ok "... identical to migrate + save of the same root"
else not_ok "... identical to migrate + save of the same root"; fi
TMPDIR=$tmp/t "$GRAPHPIPE" save -q --source legacy --root "$tmp/broken" -o "$tmp/bad4.tar" legacy/tool:1.6 \
  > /dev/null 2> "$tmp/b4.log"
rc=$?
if [ "$rc" = 1 ] && grep -q "legacy/tool" "$tmp/b4.log" && [ ! -e "$tmp/bad4.tar" ]; then
  ok "the broken image by name: exit 1 naming it, no output"
else
  not_ok "the broken image by name: exit 1 naming it, no output (exit $rc): $(cat "$tmp/b4.log")"
fi
ok_eq "$(ls -A "$tmp/t")" "" "nothing left under \$TMPDIR after the failures"

done_testing
