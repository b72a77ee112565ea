#!/bin/sh
# Batches, reports and dry-run estimates of `graphpipe migrate` on legacy
# roots written by gp-mklegacy (TAP; no root privileges needed):
#  - three roots, the second broken: the others are migrated, one summary,
#    exit 1; --roots-from does the same; three good roots: exit 0;
#  - the batch's --report holds one report per root;
#  - --report of one root: the mapping, a failed image with its reason;
#  - --dry-run's byte count equals the sum of the layers' tar sizes
#    (computed here from the tar-split files the migration then writes)
#    and the bytes the real run hashes, and it prints the expected time;
#  - --target keeps the source identical and is refused with a batch.
set -u

top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${GP_TOP_BUILDDIR:-.}
GRAPHPIPE=${GRAPHPIPE:-$top_builddir/graphpipe}
MKLEGACY=${MKLEGACY:-$top_builddir/tests/gp-mklegacy}
sample=$top_srcdir/data/sample-root.ini

. "$top_srcdir/tests/migrate-tap.sh"
. "$top_srcdir/tests/forensics-lib.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gp-batch-XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

# mk NAME [EXTRA-INI]: the sample root plus EXTRA-INI, as $tmp/NAME.
mk () {
  { cat "$sample"; printf '%s\n' "${2:-}"; } > "$tmp/$1.ini"
  rm -rf "$tmp/$1"
  "$MKLEGACY" "$tmp/$1.ini" "$tmp/$1" > "$tmp/$1.mk.log" 2>&1 ||
    { sed 's/^/# /' "$tmp/$1.mk.log"; bail_out "gp-mklegacy $1 failed"; }
}

# json_get FILE EXPR: a value of the report (python3), or SKIP.
json_get () {
  if command -v python3 > /dev/null 2>&1; then
    python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2" 2>&1
  else
    echo SKIP
  fi
}
ok_json () {
  got=$(json_get "$1" "$2")
  if [ "$got" = SKIP ]; then skip "$4" "python3 not found (Debian package python3)"; return; fi
  ok_eq "$got" "$3" "$4"
}

BAD_IMAGE='
[image bad]
json={"id": not json'

mk a
mk b "$BAD_IMAGE"
mk c
mk d

# ---- a batch with one broken root ----
"$GRAPHPIPE" migrate --root "$tmp/a" --root "$tmp/b" --root "$tmp/c" --report "$tmp/batch.json" \
  > "$tmp/batch.out" 2> "$tmp/batch.log"
rc=$?
ok_eq "$rc" 1 "batch with a broken root exits 1" || sed 's/^/# /' "$tmp/batch.log" | tail -20
for r in a c; do
  if [ -s "$tmp/$r/.migration-v1-images.json" ] && [ -f "$tmp/$r/.migration-v1-tags" ]; then
    ok "root $r migrated despite the broken root before it"
  else
    not_ok "root $r migrated despite the broken root before it"
  fi
done
if grep -q '"sha256:' "$tmp/b/.migration-v1-images.json" 2> /dev/null; then
  ok "the broken root's good images migrated too"
else
  not_ok "the broken root's good images migrated too"
fi
n=$(grep -c 'summary: ' "$tmp/batch.log")
ok_eq "$n" 1 "one summary"
ok_grep "$tmp/batch.log" "summary: 3 roots, 2 succeeded, 1 failed" "summary counts 2 succeeded, 1 failed"
if grep -q "FAILED (exit 1).*$tmp/b\$" "$tmp/batch.log" && grep -q "^  ok .*$tmp/c\$" "$tmp/batch.log"; then
  ok "summary names each root with its outcome"
else
  not_ok "summary names each root with its outcome"
  sed 's/^/# /' "$tmp/batch.log" | tail -5
fi
ok_json "$tmp/batch.json" '(r["roots_total"], r["roots_failed"], [x["exit_code"] for x in r["roots"]])' \
  "(3, 1, [0, 1, 0])" "batch report: one report per root with its exit code"
ok_json "$tmp/batch.json" '[s["item"] for x in r["roots"] for s in x["skipped"] if s["kind"] == "image"]' \
  "['$(printf bad | sha256sum | cut -c1-64)']" "batch report: the broken image is listed as skipped"

# ---- --roots-from, a missing root in the middle ----
printf '# roots\n%s\n\n%s\n  %s  \n' "$tmp/nonexistent" "$tmp/d" "$tmp/b" > "$tmp/roots.txt"
"$GRAPHPIPE" migrate -q --roots-from "$tmp/roots.txt" > /dev/null 2> "$tmp/from.log"
rc=$?
ok_eq "$rc" 1 "--roots-from with a missing and a broken root exits 1"
ok_grep "$tmp/from.log" "summary: 3 roots, 1 succeeded, 2 failed" "--roots-from: the good root in between succeeded"
if [ -s "$tmp/d/.migration-v1-images.json" ]; then ok "--roots-from: root d migrated"; else not_ok "--roots-from: root d migrated"; fi

# ---- all good: exit 0 (the second time everything is done already) ----
mk e
"$GRAPHPIPE" migrate -q --root "$tmp/a" --root "$tmp/c" --root "$tmp/e" > /dev/null 2> "$tmp/good.log"
rc=$?
ok_eq "$rc" 0 "batch of three good roots exits 0" || sed 's/^/# /' "$tmp/good.log"
ok_grep "$tmp/good.log" "summary: 3 roots, 3 succeeded, 0 failed" "summary: 3 succeeded"
"$GRAPHPIPE" migrate -q --root "$tmp/a" --root "$tmp/c" --target "$tmp/t" > /dev/null 2>&1
ok_eq "$?" 2 "--target with several roots refused (exit 2)"

# verify takes a batch too, each root with its own driver.
sed 's/^driver=vfs$/driver=aufs/' "$sample" > "$tmp/v.ini"
"$MKLEGACY" "$tmp/v.ini" "$tmp/v" > /dev/null 2>&1 || bail_out "gp-mklegacy v (aufs) failed"
"$GRAPHPIPE" migrate -q --root "$tmp/v" > /dev/null 2>&1
"$GRAPHPIPE" verify -q --root "$tmp/a" --root "$tmp/v" > /dev/null 2> "$tmp/verify.log"
ok_eq "$?" 0 "verify of a vfs and an aufs root in one batch exits 0" || sed 's/^/# /' "$tmp/verify.log" | tail
ok_grep "$tmp/verify.log" "summary: 2 roots, 2 succeeded, 0 failed" "verify batch: one summary"

# ---- a single root's report ----
mk f "$BAD_IMAGE"
"$GRAPHPIPE" migrate -q --root "$tmp/f" --report "$tmp/f.json" > /dev/null 2>&1
ok_eq "$?" 1 "a root with a broken image exits 1"
ok_json "$tmp/f.json" '(r["status"], r["exit_code"], len(r["mapping"]), r["counters"]["images migrated"])' \
  "('failed', 1, 4, 4)" "report: status, mapping of the 4 good images"
ok_json "$tmp/f.json" '[(i["status"], "json" in i["reason"]) for i in r["images"] if i["v1_id"] == "'"$(printf bad | sha256sum | cut -c1-64)"'"]' \
  "[('failed', True)]" "report: the broken image failed, with its reason"
ok_json "$tmp/f.json" 'sorted(set(v for v in r["mapping"].values() if v.startswith("sha256:")))  == sorted(set(i["image_id"] for i in r["images"] if i["image_id"]))' \
  "True" "report: images and mapping agree"
"$GRAPHPIPE" migrate -q --root "$tmp/f" --report "$tmp/f2.json" > /dev/null 2>&1
ok_json "$tmp/f2.json" 'sorted(set(i["status"] for i in r["images"]))' "['earlier-run', 'failed']" \
  "report of a rerun: earlier-run images and the failed one"

# ---- dry-run estimate: bytes = sum of the layers' tar sizes ----
mk g
fx_snapshot "$tmp/g" > "$tmp/g.before"
"$GRAPHPIPE" migrate --dry-run --root "$tmp/g" > "$tmp/g.dry" 2>&1
ok_eq "$?" 0 "dry run exits 0"
fx_snapshot "$tmp/g" > "$tmp/g.after"
if diff -q "$tmp/g.before" "$tmp/g.after" > /dev/null; then ok "dry run writes nothing"; else not_ok "dry run writes nothing"; fi
got=$(sed -n 's/.*layers to checksum (\([0-9]*\) bytes to hash).*/\1/p' "$tmp/g.dry")
if grep -q "estimate: $got bytes to hash at [0-9]* MB/s per thread .*: expected [0-9.]* \(ms\|s\|min\|h\)" "$tmp/g.dry"; then
  ok "dry run prints the expected time from a measured SHA-256 speed"
else
  not_ok "dry run prints the expected time from a measured SHA-256 speed"
  sed 's/^/# /' "$tmp/g.dry" | grep -i 'dry\|estim'
fi
"$GRAPHPIPE" migrate --root "$tmp/g" > "$tmp/g.run" 2>&1
ok_eq "$?" 0 "the real run exits 0"
want=$(fx_tar_bytes "$tmp"/g/image/vfs/layerdb/sha256/*/tar-split.json.gz)
ok_eq "$got" "$want" "dry run: bytes to hash = sum of the layers' tar sizes"
ok_eq "$(sed -n 's/^bytes hashed: //p' "$tmp/g.run")" "$want" "the real run hashed that many bytes"

# ---- --target on a fixture: source identical, same store as in place ----
mk h
fx_snapshot "$tmp/h" > "$tmp/h.before"
"$GRAPHPIPE" migrate -q --root "$tmp/h" --target "$tmp/h-target" > "$tmp/h.log" 2>&1
ok_eq "$?" 0 "--target exits 0" || sed 's/^/# /' "$tmp/h.log"
fx_snapshot "$tmp/h" > "$tmp/h.after"
if diff -q "$tmp/h.before" "$tmp/h.after" > /dev/null; then ok "--target: source identical"; else not_ok "--target: source identical"; fi
# Same store files as an in-place migration with --read-only-source
# (which also keeps the helper files under image/vfs/graphpipe-migration).
"$GRAPHPIPE" migrate -q --read-only-source --root "$tmp/g" > /dev/null 2>&1
# The store files (gzip files by their uncompressed bytes), their modes and
# sizes, the mapping, the tag marker and the containers' config.v2.json.
list () {
  (cd "$1" && find image .migration-v1-images.json .migration-v1-tags containers/*/config.v2.json \
     ! -name '.migration-tardata' ! -name '*.gz' -printf '%p %y %m %s\n' | LC_ALL=C sort
   cd "$1" && find image .migration-v1-images.json containers/*/config.v2.json -type f \
     ! -name '.migration-tardata' ! -name '*.gz' -exec sha256sum {} + | LC_ALL=C sort -k2
   cd "$1" && for f in $(find image -name '*.gz' -o -name '.migration-tardata' | LC_ALL=C sort); do
     echo "$f $(gzip -dc < "$f" | sha256sum)"; done)
}
mk i
"$GRAPHPIPE" migrate -q --read-only-source --root "$tmp/i" > /dev/null 2>&1
list "$tmp/i" > "$tmp/i.list"
list "$tmp/h-target" > "$tmp/h.list"
if diff -u "$tmp/i.list" "$tmp/h.list" > "$tmp/hi.diff"; then
  ok "--target writes the store files an in-place migration writes"
else
  not_ok "--target writes the store files an in-place migration writes"
  sed 's/^/# /' "$tmp/hi.diff" | head -20
fi

done_testing
