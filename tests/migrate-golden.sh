#!/bin/sh
# Golden test of `graphpipe migrate` (TAP): Docker 1.10.3's own migration
# of shared/golden/public/legacy-root.tar.gz is the reference.
#
#  - the tree of new/changed files equals expected/tree.txt (gzip files:
#    the gunzipped column), under umask 022 and umask 077;
#  - every file in expected/files matches byte for byte;
#  - expected/ids.txt holds (image IDs, parents, chains, cache-ids);
#  - a second run changes nothing (listing, bytes, mtimes).
#
# Environment (set by make check): GP_SHARED_DIR (default
# <top_builddir>/tests/shared), GP_TOP_SRCDIR, GP_TOP_BUILDDIR, GRAPHPIPE (the
# command; default <top_builddir>/graphpipe).
set -u

top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${GP_TOP_BUILDDIR:-.}
shared=${GP_SHARED_DIR:-$top_builddir/tests/shared}
golden=$shared/golden/public
GRAPHPIPE=${GRAPHPIPE:-$top_builddir/graphpipe}
treesh=$top_srcdir/tests/golden-tree.sh

. "$top_srcdir/tests/migrate-tap.sh"
. "$top_srcdir/tests/forensics-lib.sh"
plan 11
fx_require_golden
fx_skip_unless_root

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gp-golden-XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

fx_extract "$tmp/pristine" || bail_out "cannot extract legacy-root.tar.gz"
fx_normalise_tree < "$golden/expected/tree.txt" > "$tmp/expected-tree"

for mask in 022 077; do
  root=$tmp/root-$mask
  fx_extract "$root" || bail_out "cannot extract legacy-root.tar.gz"
  (umask $mask && "$GRAPHPIPE" migrate --root "$root" > "$tmp/out-$mask" 2>&1)
  rc=$?
  ok_eq "$rc" 0 "umask $mask: migrate exits 0" || sed 's/^/# /' "$tmp/out-$mask"

  sh "$treesh" "$tmp/pristine" "$root" | fx_normalise_tree > "$tmp/tree-$mask"
  if diff -u "$tmp/expected-tree" "$tmp/tree-$mask" > "$tmp/tree-$mask.diff"; then
    ok "umask $mask: tree equals expected/tree.txt"
  else
    not_ok "umask $mask: tree equals expected/tree.txt"
    sed 's/^/# /' "$tmp/tree-$mask.diff" | head -60
  fi

  if grep -q 'graph/.*/\.migration-tardata' "$tmp/tree-$mask"; then
    ok "umask $mask: helper files present"
  else
    not_ok "umask $mask: helper files present"
  fi
done

root=$tmp/root-022

# expected/files: byte for byte (gunzipped for .gunzipped).
bad=0
n=0
for f in $(cd "$golden/expected/files" && find . -type f | LC_ALL=C sort); do
  n=$((n + 1))
  case $f in
    *.gunzipped)
      target=$root/${f%.gunzipped}
      gzip -dc < "$target" > "$tmp/gunzipped" 2>/dev/null || { bad=$((bad + 1)); diag "cannot gunzip $target"; continue; }
      cmp -s "$tmp/gunzipped" "$golden/expected/files/$f" || { bad=$((bad + 1)); diag "differs: $f"; }
      ;;
    *)
      cmp -s "$root/$f" "$golden/expected/files/$f" || { bad=$((bad + 1)); diag "differs: $f"; }
      ;;
  esac
done
ok_eq "$bad" 0 "all $n files of expected/files match"

# expected/ids.txt
bad=0
n_layers=0
mapping=$(cat "$root/.migration-v1-images.json")
layerdb=$root/image/vfs/layerdb/sha256
meta=$root/image/vfs/imagedb/metadata/sha256
while IFS='	' read -r a b c d e; do
  case $a in
    '#'*) continue ;;
    layer*)
      # layer line (its leading tab is eaten by read): layer[i] diff= chain= cache-id=
      diff=${b#diff=}; chain=${c#chain=}; cache=${d#cache-id=}
      hex=${chain#sha256:}
      [ "$(cat "$layerdb/$hex/diff" 2>/dev/null)" = "$diff" ] || { bad=$((bad + 1)); diag "$v1 $a: diff"; }
      [ "$(cat "$layerdb/$hex/cache-id" 2>/dev/null)" = "$cache" ] || { bad=$((bad + 1)); diag "$v1 $a: cache-id"; }
      n_layers=$((n_layers + 1))
      ;;
    *)
      v1=$a; image=${b#image=}; parent=${c#parent=}
      case $mapping in
        *"\"$v1\":\"$image\""*) ;;
        *) bad=$((bad + 1)); diag "$v1: mapping lacks $image" ;;
      esac
      [ -f "$root/image/vfs/imagedb/content/sha256/${image#sha256:}" ] || { bad=$((bad + 1)); diag "$v1: no config"; }
      if [ "$parent" = - ]; then
        [ ! -e "$meta/${image#sha256:}/parent" ] || { bad=$((bad + 1)); diag "$v1: unexpected parent"; }
      else
        [ "$(cat "$meta/${image#sha256:}/parent" 2>/dev/null)" = "$parent" ] || { bad=$((bad + 1)); diag "$v1: parent"; }
      fi
      ;;
  esac
done < "$golden/expected/ids.txt"
[ "$n_layers" -gt 0 ] || bad=$((bad + 1))
ok_eq "$bad" 0 "expected/ids.txt holds ($n_layers layers checked)"

# A second run changes nothing.
fx_snapshot "$root" > "$tmp/snap1"
(umask 022 && "$GRAPHPIPE" migrate --root "$root" > "$tmp/out-again" 2>&1)
rc=$?
ok_eq "$rc" 0 "second run exits 0" || sed 's/^/# /' "$tmp/out-again"
fx_snapshot "$root" > "$tmp/snap2"
if diff -u "$tmp/snap1" "$tmp/snap2" > "$tmp/snap.diff"; then
  ok "second run changes nothing"
else
  not_ok "second run changes nothing"
  sed 's/^/# /' "$tmp/snap.diff" | head -40
fi

# The source graph is untouched apart from Docker's helper files.
if (cd "$tmp/pristine/graph" && find . -type f | LC_ALL=C sort | while read -r f; do
      cmp -s "$f" "$root/graph/$f" || echo "$f"; done) | grep -q .; then
  not_ok "legacy files unchanged"
else
  ok "legacy files unchanged"
fi

done_testing
