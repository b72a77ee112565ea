#!/bin/sh
# `graphpipe migrate --target` on Docker's golden legacy root (TAP):
#  - the target holds the same store files, byte for byte, as Docker
#    1.10.3's in-place migration (expected/tree.txt and expected/files,
#    with the helper files graph/<id>/.migration-* mapped to
#    image/vfs/graphpipe-migration/<id>/);
#  - the source root is identical before and after (bytes, modes, owners,
#    link counts, mtimes, symlinks);
#  - a run killed at crash points leaves only the work directory, and a
#    rerun finishes and publishes the same files; a rerun on the published
#    target changes nothing;
#  - bad targets are refused (exit 2) and a dry run writes nothing;
#  - --report maps every v1 ID to Docker's image ID and lists the skipped
#    container;
#  - --dry-run's byte count equals the sum of the layers' tar sizes, taken
#    from Docker's own tar-split files in migrated-root.tar.gz.
set -u

top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${GP_TOP_BUILDDIR:-.}
shared=${GP_SHARED_DIR:-$top_builddir/tests/shared}
golden=$shared/golden/public
GRAPHPIPE=${GRAPHPIPE:-$top_builddir/graphpipe}
treesh=$top_srcdir/tests/golden-tree.sh
# Crash points to kill at (1-based; "last": the last point of a run).
points=${GP_TARGET_KILL_POINTS:-1 7 20 45 last}

. "$top_srcdir/tests/migrate-tap.sh"
. "$top_srcdir/tests/forensics-lib.sh"
plan 27
fx_require_golden
fx_skip_unless_root

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gp-target-XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
umask 022

# The same without mtimes: two runs that wrote the same files.
content () {
  (cd "$1" && LC_ALL=C find . -printf '%p\t%y\t%m\t%U:%G\t%s\t%n\t%l\n' | LC_ALL=C sort &&
   LC_ALL=C find . -type f ! -name '*.gz' ! -name '.migration-tardata' -exec sha256sum {} + |
   LC_ALL=C sort -k2)
}

# expected/tree.txt with the helper files moved to the helper directory,
# compressed columns blanked and the tardata link count left out (a copy
# here, a hard link in graph/).
map_expected () {
  grep -v '^#' | sed 's#^graph/\([0-9a-f]*\)/\.migration-#image/vfs/graphpipe-migration/\1/.migration-#' |
  awk -F '\t' 'BEGIN { OFS = "\t" }
    $7 != "-" && $7 != "" { $5 = "*"; $6 = "*" }
    $1 ~ /\.migration-tardata$/ { $3 = "*"; $8 = "*" } { print }' | LC_ALL=C sort
}
map_actual () {
  awk -F '\t' 'BEGIN { OFS = "\t" }
    $1 ~ /^image\/vfs\/graphpipe-migration(\/[0-9a-f]+)?$/ { next }
    $7 != "-" && $7 != "" { $5 = "*"; $6 = "*" }
    $1 ~ /\.migration-tardata$/ { $3 = "*"; $8 = "*" } { print }' | LC_ALL=C sort
}

fx_extract "$tmp/pristine" || bail_out "cannot extract legacy-root.tar.gz"
fx_extract "$tmp/src" || bail_out "cannot extract legacy-root.tar.gz"
fx_snapshot "$tmp/src" > "$tmp/src.before"
map_expected < "$golden/expected/tree.txt" > "$tmp/expected-tree"

# ---- the migration into a target ----
"$GRAPHPIPE" migrate --root "$tmp/src" --target "$tmp/out/store" --report "$tmp/report.json" \
  > "$tmp/run.log" 2>&1
rc=$?
ok_eq "$rc" 0 "migrate --target exits 0" || sed 's/^/# /' "$tmp/run.log" | tail -20
if [ -d "$tmp/out/store/image/vfs" ] && [ ! -e "$tmp/out/.store.gp-target" ]; then
  ok "the target is published, no work directory left"
else
  not_ok "the target is published, no work directory left"
fi

fx_snapshot "$tmp/src" > "$tmp/src.after"
if diff -u "$tmp/src.before" "$tmp/src.after" > "$tmp/src.diff"; then
  ok "the source root is identical before and after"
else
  not_ok "the source root is identical before and after"
  sed 's/^/# /' "$tmp/src.diff" | head -20
fi

sh "$treesh" "$tmp/pristine" "$tmp/out/store" | map_actual > "$tmp/tree"
if diff -u "$tmp/expected-tree" "$tmp/tree" > "$tmp/tree.diff"; then
  ok "target tree equals expected/tree.txt (paths mapped)"
else
  not_ok "target tree equals expected/tree.txt (paths mapped)"
  sed 's/^/# /' "$tmp/tree.diff" | head -40
fi

bad=0
n=0
for f in $(cd "$golden/expected/files" && find . -type f | LC_ALL=C sort); do
  n=$((n + 1))
  g=$(echo "$f" | sed 's#^\./graph/\([0-9a-f]*\)/\.migration-#./image/vfs/graphpipe-migration/\1/.migration-#')
  case $f in
    *.gunzipped)
      gzip -dc < "$tmp/out/store/${g%.gunzipped}" > "$tmp/gunzipped" 2>/dev/null &&
      cmp -s "$tmp/gunzipped" "$golden/expected/files/$f" || { bad=$((bad + 1)); diag "differs: $g"; } ;;
    *)
      cmp -s "$tmp/out/store/$g" "$golden/expected/files/$f" || { bad=$((bad + 1)); diag "differs: $g"; } ;;
  esac
done
ok_eq "$bad" 0 "all $n files of expected/files match in the target"

# ---- the report ----
r=$tmp/report.json
if command -v python3 > /dev/null 2>&1; then
  python3 - "$r" "$golden/expected/ids.txt" > "$tmp/report.check" 2>&1 <<'PY'
import json, sys
rep = json.load(open(sys.argv[1]))
want = {}
for line in open(sys.argv[2]):
    f = line.rstrip("\n").split("\t")
    if line.startswith("#") or not f[0] or f[0].startswith("layer") or len(f) < 2:
        continue
    if f[1].startswith("image="):
        want[f[0]] = f[1][len("image="):]
errors = []
if rep["mapping"] != want:
    errors.append("mapping differs: %r" % (set(rep["mapping"].items()) ^ set(want.items())))
if rep["exit_code"] != 0 or rep["status"] != "ok":
    errors.append("status %r" % rep["status"])
if not rep["target"].endswith("/out/store"):
    errors.append("target %r" % rep["target"])
st = {i["v1_id"]: i["status"] for i in rep["images"]}
if sorted(st) != sorted(want) or set(st.values()) != {"migrated"}:
    errors.append("images %r" % st)
sk = [s for s in rep["skipped"] if s["kind"] == "container"]
if len(sk) != 1 or "98210684eeb1" not in sk[0]["reason"] or "not migrated" not in sk[0]["reason"]:
    errors.append("skipped %r" % rep["skipped"])
if rep["counters"].get("images migrated") != 9:
    errors.append("counters %r" % rep["counters"])
print("\n".join(errors) if errors else "ok")
sys.exit(1 if errors else 0)
PY
  if [ $? = 0 ]; then ok "report: mapping equals expected/ids.txt, skipped container named"
  else not_ok "report: mapping equals expected/ids.txt, skipped container named"; sed 's/^/# /' "$tmp/report.check"; fi
else
  skip "report: mapping equals expected/ids.txt, skipped container named" "python3 not found (Debian package python3)"
fi

# ---- reruns ----
fx_snapshot "$tmp/out/store" > "$tmp/t1"
"$GRAPHPIPE" migrate -q --root "$tmp/src" --target "$tmp/out/store" > "$tmp/rerun.log" 2>&1
rc=$?
ok_eq "$rc" 0 "rerun on the published target exits 0" || sed 's/^/# /' "$tmp/rerun.log"
fx_snapshot "$tmp/out/store" > "$tmp/t2"
if diff -u "$tmp/t1" "$tmp/t2" > /dev/null; then ok "rerun changes nothing in the target"
else not_ok "rerun changes nothing in the target"; fi

content "$tmp/out/store" > "$tmp/reference"
GRAPHPIPE_TEST_CRASH_LOG=1 "$GRAPHPIPE" migrate -q --root "$tmp/src" --target "$tmp/count" \
  2> "$tmp/count.log" > /dev/null
rc=$?
total=$(grep -c '^crash point' "$tmp/count.log")
if [ "$rc" = 0 ] && [ "$total" -gt 20 ]; then
  ok "a run into a target passes $total crash points"
else
  not_ok "a run into a target passes $total crash points (exit $rc)"
  sed 's/^/# /' "$tmp/count.log" | tail -20
fi
for p in $points; do
  [ "$p" = last ] && p=$total
  rm -rf "$tmp/k"
  GRAPHPIPE_TEST_CRASH_AT=$p "$GRAPHPIPE" migrate -q --root "$tmp/src" --target "$tmp/k/store" \
    > "$tmp/kill.log" 2>&1
  rc=$?
  # (crash point 1 may come before the work directory exists: the points
  # include those inside the library's durable writes)
  if [ "$rc" != 137 ] || [ -e "$tmp/k/store" ]; then
    not_ok "crash point $p: killed before publishing (rc $rc)"
    continue
  fi
  "$GRAPHPIPE" migrate -q --root "$tmp/src" --target "$tmp/k/store" > "$tmp/kill.log" 2>&1
  rc=$?
  content "$tmp/k/store" > "$tmp/after-kill" 2>/dev/null
  if [ "$rc" = 0 ] && [ ! -e "$tmp/k/.store.gp-target" ] &&
     diff -u "$tmp/reference" "$tmp/after-kill" > "$tmp/kill.diff"; then
    ok "crash point $p: the rerun finishes and publishes the same files"
  else
    not_ok "crash point $p: the rerun finishes and publishes the same files (rc $rc)"
    sed 's/^/# /' "$tmp/kill.diff" "$tmp/kill.log" 2>/dev/null | head -20
  fi
done
fx_snapshot "$tmp/src" > "$tmp/src.after2"
if diff -q "$tmp/src.before" "$tmp/src.after2" > /dev/null; then ok "the source root is still identical after killed runs"
else not_ok "the source root is still identical after killed runs"; fi

# ---- refusals and dry runs ----
for bad in "$tmp/src" "$tmp/src/image" "$tmp" "$tmp/src/../src/x"; do
  "$GRAPHPIPE" migrate -q --root "$tmp/src" --target "$bad" > "$tmp/bad.log" 2>&1
  rc=$?
  ok_eq "$rc" 2 "--target $(echo "$bad" | sed "s#$tmp#TMP#") refused (exit 2)" || sed 's/^/# /' "$tmp/bad.log"
done
: > "$tmp/afile"
"$GRAPHPIPE" migrate -q --root "$tmp/src" --target "$tmp/afile" > "$tmp/bad.log" 2>&1
ok_eq "$?" 2 "--target naming a file refused (exit 2)"

"$GRAPHPIPE" migrate --dry-run --root "$tmp/src" --target "$tmp/dry/store" > "$tmp/dry.log" 2>&1
rc=$?
ok_eq "$rc" 0 "dry run with --target exits 0" || sed 's/^/# /' "$tmp/dry.log"
if [ ! -e "$tmp/dry" ]; then ok "dry run with --target creates nothing"; else not_ok "dry run with --target creates nothing"; fi
fx_snapshot "$tmp/src" > "$tmp/src.after3"
if diff -q "$tmp/src.before" "$tmp/src.after3" > /dev/null; then ok "dry run leaves the source identical"
else not_ok "dry run leaves the source identical"; fi

# ---- the dry run's estimate ----
# Docker's own tar-split files: a layer's tar is its segments (base64
# payloads) plus its file contents.
fx_extract "$tmp/docker" migrated-root.tar.gz || bail_out "cannot extract migrated-root.tar.gz"
want=$(fx_tar_bytes "$tmp"/docker/image/vfs/layerdb/sha256/*/tar-split.json.gz)
got=$(sed -n 's/.*layers to checksum (\([0-9]*\) bytes to hash).*/\1/p' "$tmp/dry.log")
ok_eq "$got" "$want" "dry run: bytes to hash = sum of the layers' tar sizes ($want)" ||
  sed 's/^/# /' "$tmp/dry.log" | grep -i 'dry run\|estimate'
ok_grep "$tmp/dry.log" "estimate: $want bytes to hash at " "dry run prints the expected time from a measured SHA-256 speed"
if grep -q 'estimate: .*MB/s per thread .*: expected [0-9.]* \(ms\|s\|min\|h\)' "$tmp/dry.log"; then
  ok "the estimate names the speed and the expected time"
else
  not_ok "the estimate names the speed and the expected time"
fi
real=$(sed -n 's/^bytes hashed: //p' "$tmp/run.log")
ok_eq "$real" "$want" "the real run hashed as many bytes as the dry run announced"

done_testing
