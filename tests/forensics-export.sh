#!/bin/sh
# Saving from a legacy root without migrating it (TAP, golden data, root):
#  - `save --preset export-legacy` on the read-only legacy root writes the
#    very bytes of migrate + save, and of Docker's own `docker save`;
#    nothing under the root changes and its temporary store is removed;
#  - `save --root TARGET --layers-from SRC` after `migrate --target`
#    writes the same bytes; without --layers-from the layers are missing.
set -u

top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${GP_TOP_BUILDDIR:-.}
shared=${GP_SHARED_DIR:-$top_builddir/tests/shared}
golden=$shared/golden/public
GRAPHPIPE=${GRAPHPIPE:-$top_builddir/graphpipe}

. "$top_srcdir/tests/migrate-tap.sh"
. "$top_srcdir/tests/forensics-lib.sh"
plan 30
fx_require_golden
fx_skip_unless_root

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gp-export-XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
umask 022

fx_extract "$tmp/src" || bail_out "cannot extract legacy-root.tar.gz"
fx_extract "$tmp/inplace" || bail_out "cannot extract legacy-root.tar.gz"
fx_snapshot "$tmp/src" > "$tmp/src.before"
mkdir "$tmp/t"

"$GRAPHPIPE" migrate -q --root "$tmp/inplace" > "$tmp/m.log" 2>&1
ok_eq "$?" 0 "in-place migration of a copy exits 0" || sed 's/^/# /' "$tmp/m.log"
"$GRAPHPIPE" migrate -q --root "$tmp/src" --target "$tmp/target" > "$tmp/m.log" 2>&1
ok_eq "$?" 0 "migration into a target exits 0" || sed 's/^/# /' "$tmp/m.log"

i=0
for names in "busybox:latest" "busybox" "myapp:v1 busybox:1.0" "legacy/tool:1.6 localhost:5000/team/tool:2.1"; do
  i=$((i + 1))
  # shellcheck disable=SC2086
  "$GRAPHPIPE" save -q --root "$tmp/inplace" -o "$tmp/ref$i.tar" $names > "$tmp/s.log" 2>&1
  ok_eq "$?" 0 "[$names] save from the migrated copy exits 0" || sed 's/^/# /' "$tmp/s.log"

  # shellcheck disable=SC2086
  TMPDIR=$tmp/t "$GRAPHPIPE" save -q --preset export-legacy --root "$tmp/src" -o "$tmp/exp$i.tar" $names \
    > "$tmp/e.log" 2>&1
  ok_eq "$?" 0 "[$names] export-legacy exits 0" || sed 's/^/# /' "$tmp/e.log"
  if cmp -s "$tmp/ref$i.tar" "$tmp/exp$i.tar"; then ok "[$names] export-legacy = migrate + save, byte for byte"
  else not_ok "[$names] export-legacy = migrate + save, byte for byte"; fi

  # shellcheck disable=SC2086
  "$GRAPHPIPE" save -q --root "$tmp/target" --layers-from "$tmp/src" -o "$tmp/lf$i.tar" $names \
    > "$tmp/l.log" 2>&1
  ok_eq "$?" 0 "[$names] save --layers-from exits 0" || sed 's/^/# /' "$tmp/l.log"
  if cmp -s "$tmp/ref$i.tar" "$tmp/lf$i.tar"; then ok "[$names] save --layers-from = migrate + save, byte for byte"
  else not_ok "[$names] save --layers-from = migrate + save, byte for byte"; fi
done

gzip -dc < "$golden/save-busybox_latest.tar.gz" > "$tmp/docker1.tar"
if cmp -s "$tmp/docker1.tar" "$tmp/exp1.tar"; then ok "export-legacy busybox:latest = Docker 1.10.3's docker save"
else not_ok "export-legacy busybox:latest = Docker 1.10.3's docker save"; fi
gzip -dc < "$golden/save-busybox.tar.gz" > "$tmp/docker2.tar"
if cmp -s "$tmp/docker2.tar" "$tmp/exp2.tar"; then ok "export-legacy busybox = Docker 1.10.3's docker save"
else not_ok "export-legacy busybox = Docker 1.10.3's docker save"; fi

fx_snapshot "$tmp/src" > "$tmp/src.after"
if diff -u "$tmp/src.before" "$tmp/src.after" > "$tmp/src.diff"; then ok "nothing under the legacy root changed"
else not_ok "nothing under the legacy root changed"; sed 's/^/# /' "$tmp/src.diff" | head; fi
if [ -z "$(ls -A "$tmp/t")" ]; then ok "the temporary stores are removed"
else not_ok "the temporary stores are removed"; ls -A "$tmp/t" | sed 's/^/# /'; fi

# A failure (unknown name) still removes the temporary store.
TMPDIR=$tmp/t "$GRAPHPIPE" save -q --preset export-legacy --root "$tmp/src" -o "$tmp/x.tar" nosuch:tag \
  > "$tmp/x.log" 2>&1
rc=$?
if [ "$rc" != 0 ] && [ ! -e "$tmp/x.tar" ] && [ -z "$(ls -A "$tmp/t")" ]; then
  ok "a failed export writes nothing and removes its temporary store (exit $rc)"
else
  not_ok "a failed export writes nothing and removes its temporary store (exit $rc)"
fi
ok_grep "$tmp/x.log" "nosuch" "the failure names the image"

# Without --layers-from the target has no layer files.
"$GRAPHPIPE" save -q --root "$tmp/target" -o "$tmp/y.tar" busybox:latest > "$tmp/y.log" 2>&1
ok_eq "$?" 1 "save from a target without --layers-from fails (exit 1)"
"$GRAPHPIPE" save -q --root "$tmp/target" --layers-from "$tmp/nonexistent" -o "$tmp/y.tar" busybox \
  > "$tmp/y.log" 2>&1
ok_eq "$?" 2 "--layers-from a missing directory is a usage error"

done_testing
