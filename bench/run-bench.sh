#!/bin/bash
# graphpipe benchmark (issue 7), run by `make bench`.
#
# Generates (once, kept in BENCH_DIR and reused while the parameters are
# the same) two legacy roots of layer data, BENCH_GIB and half of it, and
# two metadata-heavy roots, BENCH_IMAGES images and half of it, with
# bench/gp-mkbench; then times, in this one run:
#   - the floors: one `openssl dgst -sha256` pass and one `cat` pass over
#     the same layer files (to /dev/null);
#   - graphpipe migrate with --jobs 1 and --jobs N on the large root, and
#     with --jobs N on the other three;
#   - graphpipe save of every tag of the migrated large root, and one
#     openssl pass over the tarball it wrote;
#   - the same save as an OCI layout (--format oci-archive to standard
#     output, --format oci-dir), with its ratio to docker-archive (issue
#     15's target: within 1.1x, peak RSS unchanged), and from the legacy
#     graph itself (--source legacy).
# Each line gives wall time, CPU time (user+sys), MiB/s of layer bytes
# and peak RSS (GNU time's maximum resident set size), then the ratios
# and the issue's targets as PASS/FAIL lines.  These are figures, not
# tests: the exit status is 0 whatever they are.  Then
# bench/podman-side.sh (issue 16) and bench/shapes.sh (issue 18).
#
# Nothing is deleted while it runs: what a measurement wrote (aside trees,
# tarballs, OCI directories, podman's root, roots made with other
# parameters) is renamed into BENCH_DIR/trash, removed once at the very
# end (bench/trash.sh says why: ext4 without a journal).  When the
# previous benchmark's removal is less than 6 minutes old, the header says
# that system times may be inflated.
#
# Environment: GP_BUILDDIR (the build tree), BENCH_GIB (default 2),
# BENCH_IMAGES (10000), BENCH_SEED (1), BENCH_JOBS (CPUs), BENCH_REPEAT
# (runs per measurement, the best is kept; 1), BENCH_DIR (where the roots
# go), BENCH_COLD (auto: also cold-cache runs when the page cache can be
# dropped; 0: never).
set -euo pipefail

builddir=${GP_BUILDDIR:?GP_BUILDDIR: the build tree}
gp=$builddir/graphpipe
mk=$builddir/bench/gp-mkbench
hs=$builddir/bench/gp-hashspeed
gib=${BENCH_GIB:-2}
images=${BENCH_IMAGES:-10000}
seed=${BENCH_SEED:-1}
jobs=${BENCH_JOBS:-}
[ -n "$jobs" ] || jobs=$(nproc)
repeat=${BENCH_REPEAT:-1}
dir=${BENCH_DIR:-$builddir/bench-data}
cold=${BENCH_COLD:-auto}
timebin=/usr/bin/time

die () { echo "bench: $*" >&2; exit 1; }
[ -x "$timebin" ] || die "$timebin (GNU time) is needed: apt-get install time"
command -v openssl > /dev/null || die "openssl is needed: apt-get install openssl"
[ -x "$mk" ] || die "$mk not built"
mkdir -p "$dir"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/trash.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; trash_end' EXIT

half () { awk -v x="$1" 'BEGIN { printf "%g", x / 2 }'; }
fmt () { awk -v x="$1" -v f="$2" 'BEGIN { printf f, x }'; }

# ---- the roots ----

# gen NAME ARGS...: the root $dir/NAME written by gp-mkbench ARGS, reused
# when it was made with the same arguments.
gen () {
  local name=$1
  shift
  local root=$dir/$name stamp="$* --seed=$seed"
  if [ -f "$root.stamp" ] && [ "$(cat "$root.stamp")" = "$stamp" ] && [ -d "$root" ]; then
    return
  fi
  trash "$root" "$root.stamp" "$root".*
  echo "generating $name: gp-mkbench $stamp"
  local t0=$(date +%s.%N)
  "$mk" "$@" --seed="$seed" --tags-out="$root.tags" "$root" > "$root.info"
  local t1=$(date +%s.%N)
  echo "  $(cat "$root.info") ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s)"
  (cd "$root" && find . | LC_ALL=C sort) > "$root.listing"
  (cd "$root" && find aufs/diff -type f -print0 | LC_ALL=C sort -z) > "$root.files"
  (cd "$root" && find aufs/diff -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }') > "$root.bytes"
  echo "$stamp" > "$root.stamp"
}

# reset NAME: move what a migration wrote out of the root (into the
# trash, $aside/N), so the next one starts over.
aside=
aside_n=0
reset () {
  local root=$dir/$1
  aside_n=$((aside_n + 1))
  [ -n "$aside" ] || aside=$(mktemp -d "$BENCH_TRASH/aside-bench.XXXXXX")
  "$mk" --set-aside="$aside/$aside_n" "$root"
  if ! (cd "$root" && find . | LC_ALL=C sort) | cmp -s - "$root.listing"; then
    die "$root: not back to its generated state after a reset"
  fi
}

drop_caches () {
  sync
  echo 3 > /proc/sys/vm/drop_caches 2> /dev/null
}

# ---- measuring ----

# measure VAR CMD...: runs CMD ($repeat times, keeps the fastest) under
# GNU time; sets VAR_wall, VAR_cpu (user+sys, s) and VAR_rss (KiB).
# PRE (a function name, optional) runs before each attempt, untimed.
PRE=
measure () {
  local var=$1
  shift
  local best= w u s m
  for _ in $(seq "$repeat"); do
    [ -z "$PRE" ] || $PRE
    if ! "$timebin" -f '%e %U %S %M' -o "$tmp/time" bash -c '"$@"' bash "$@" > "$tmp/out" 2> "$tmp/err"; then
      cat "$tmp/err" >&2
      die "failed: $*"
    fi
    read -r w u s m < <(tail -n 1 "$tmp/time")
    if [ -z "$best" ] || awk -v a="$w" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=$w
      printf -v "${var}_wall" %s "$w"
      printf -v "${var}_cpu" %s "$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')"
      printf -v "${var}_rss" %s "$m"
    fi
  done
}

header () {
  printf '%-44s %8s %8s %9s %9s\n' "$1" "wall s" "CPU s" "MiB/s" "RSS MiB"
}

# row LABEL VAR BYTES
row () {
  local w=${2}_wall c=${2}_cpu r=${2}_rss
  printf '%-44s %8.2f %8.2f %9.0f %9.1f\n' "$1" "${!w}" "${!c}" \
    "$(awk -v b="$3" -v t="${!w}" 'BEGIN { print (t > 0 ? b / 1048576 / t : 0) }')" \
    "$(awk -v k="${!r}" 'BEGIN { print k / 1024 }')"
}

ratio () { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

verdict () { # verdict OK-EXPRESSION(awk) TEXT
  if awk "BEGIN { exit !($1) }"; then echo "PASS  $2"; else echo "FAIL  $2"; fi
}

# The timed commands run in a child bash (GNU time runs programs, not
# functions).
export dir gp
floor_openssl () { cd "$dir/$1" && xargs -0 -a "$dir/$1.files" openssl dgst -sha256 > /dev/null; }
floor_cat () { cd "$dir/$1" && xargs -0 -a "$dir/$1.files" cat > /dev/null; }
migrate () { "$gp" migrate --root "$dir/$1" --driver aufs --jobs "$2" -q; }
# the same with an fsync per file instead of one sync at the end
migrate_each () { "$gp" migrate --root "$dir/$1" --driver aufs --jobs "$2" --sync each -q; }
# save NAME JOBS: every tag of the root to NAME.save.tar, through standard
# output (`docker save > FILE`: no fsync); save_durable: with -o FILE,
# which graphpipe fsyncs before renaming it into place.  The previous
# output goes to the trash before each run, untimed (PRE=out_aside).
save () {
  xargs -d '\n' -a "$dir/$1.tags" "$gp" save --root "$dir/$1" --jobs "$2" -o - -q > "$dir/$1.save.tar"
}
save_durable () {
  xargs -d '\n' -a "$dir/$1.tags" "$gp" save --root "$dir/$1" --jobs "$2" -o "$dir/$1.save.tar" -q
}
# save_oci NAME JOBS FORMAT: the same images as an OCI layout (issue 15):
# oci-archive through standard output, or oci-dir (NAME.save.oci).
save_oci () {
  if [ "$3" = oci-dir ]; then
    xargs -d '\n' -a "$dir/$1.tags" "$gp" save --format oci-dir --root "$dir/$1" --jobs "$2" -o "$dir/$1.save.oci" -q
  else
    xargs -d '\n' -a "$dir/$1.tags" "$gp" save --format "$3" --root "$dir/$1" --jobs "$2" -o - -q > "$dir/$1.save.tar"
  fi
}
# save_legacy NAME JOBS: the same tags straight from the legacy graph
# (--source legacy: checksums every layer, then streams the named ones).
save_legacy () {
  xargs -d '\n' -a "$dir/$1.tags" "$gp" save --source legacy --root "$dir/$1" --jobs "$2" -o - -q > "$dir/$1.save.tar"
}
export -f floor_openssl floor_cat migrate migrate_each save save_durable save_oci save_legacy
out_aside () { trash "$dir/$large.save.tar" "$dir/$large.save.oci"; }

large=large-$gib
small=large-$(half "$gib")
meta=meta-$images
meta2=meta-$((images / 2))

echo "== graphpipe benchmark: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "   SHA extensions: $(grep -qw sha_ni /proc/cpuinfo && echo yes || echo no); $(openssl version); jobs N = $jobs; best of $repeat"
load=$(cut -d' ' -f1 /proc/loadavg)
echo "   load average at start: $load$(awk -v l="$load" -v n="$(nproc)" 'BEGIN { if (l > 0.5 * n) print " (other work is running: wall-clock figures suffer more than CPU figures)" }')"
trash_init
if [ -x "$hs" ]; then
  ossl_speed=$(openssl speed -bytes 1048576 -seconds 1 sha256 2> /dev/null | awk '/^sha256/ { sub(/k$/, "", $2); printf "%.0f", $2 / 1000 }')
  "$hs" > "$tmp/hs"
  echo "   hash throughput, MB/s of CPU time, 1 MiB buffers: SHA-256 graphpipe $(awk '$1 == "sha256-graphpipe" { print $2 }' "$tmp/hs")," \
       "nettle alone $(awk '$1 == "sha256-nettle" { print $2 }' "$tmp/hs"), openssl speed $ossl_speed;" \
       "CRC-64 clmul $(awk '$1 == "crc64-clmul" { print $2 }' "$tmp/hs"), table $(awk '$1 == "crc64-table" { print $2 }' "$tmp/hs")"
fi
gen "$large" --bytes="${gib}G"
gen "$small" --bytes="$(half "$gib")G"
gen "$meta" --kind=meta --images="$images"
gen "$meta2" --kind=meta --images=$((images / 2))

can_drop=no
if [ "$cold" != 0 ] && drop_caches; then
  can_drop=yes
fi

bytes=$(cat "$dir/$large.bytes")
bytes2=$(cat "$dir/$small.bytes")
nfiles=$(tr -cd '\0' < "$dir/$large.files" | wc -c)
echo
echo "Large root: $(cat "$dir/$large.info" | sed 's/^[^:]*: //'), $nfiles files"
echo "Page cache: warm (every file read once before each timed pass)$([ "$can_drop" = yes ] && echo "; cold runs below" || echo "; it cannot be dropped here (no permission), so cold runs are left out")"
echo
(floor_cat "$large") # warm the cache (in a subshell: it changes directory)
header "large root, $(fmt "$bytes" '%.0f') layer bytes"
measure cat floor_cat "$large"
row "cat > /dev/null" cat "$bytes"
measure ossl floor_openssl "$large"
row "openssl dgst -sha256 (the floor)" ossl "$bytes"
PRE="reset $large"
measure mig1 migrate "$large" 1
row "migrate --jobs 1" mig1 "$bytes"
measure migN migrate "$large" "$jobs"
row "migrate --jobs $jobs" migN "$bytes"
PRE=

# save every tag of the migrated root (the last migration above)
ntags=$(wc -l < "$dir/$large.tags")
out=$dir/$large.save.tar
PRE=out_aside
measure saveD save_durable "$large" "$jobs"
measure save1 save "$large" 1
measure saveN save "$large" "$jobs"
save_bytes=$(stat -c %s "$out")
PRE=
measure sossl openssl dgst -sha256 "$out"
PRE=out_aside
row "save --jobs 1 ($ntags tags) > FILE" save1 "$bytes"
row "save --jobs $jobs > FILE" saveN "$bytes"
row "save --jobs $jobs -o FILE (fsync'ed)" saveD "$bytes"
row "openssl dgst -sha256 of the tarball" sossl "$save_bytes"
echo "  (save wrote $(fmt "$save_bytes" '%.0f') bytes; MiB/s of save is over the layer bytes)"
# the OCI sink on the same images, next to docker-archive (saveN)
measure ociA save_oci "$large" "$jobs" oci-archive
oci_bytes=$(stat -c %s "$out")
measure ociD save_oci "$large" "$jobs" oci-dir
row "save --format oci-archive --jobs $jobs > FILE" ociA "$bytes"
row "save --format oci-dir --jobs $jobs -o DIR" ociD "$bytes"
echo "  (oci-archive wrote $(fmt "$oci_bytes" '%.0f') bytes)"
measure legS save_legacy "$large" "$jobs"
row "save --source legacy --jobs $jobs > FILE" legS "$bytes"
PRE=
echo "  (straight from graph/, no migration: every layer checksummed, then the tags' layers written)"
out_aside

if [ "$can_drop" = yes ]; then
  echo
  header "cold page cache (dropped before each pass)"
  PRE=drop_caches
  measure cossl floor_openssl "$large"
  row "openssl dgst -sha256" cossl "$bytes"
  measure ccat floor_cat "$large"
  row "cat > /dev/null" ccat "$bytes"
  cold_pre () { reset "$large"; drop_caches; }
  PRE=cold_pre
  measure cmig migrate "$large" "$jobs"
  row "migrate --jobs $jobs" cmig "$bytes"
  PRE=
  (floor_cat "$large")
fi

echo
header "growth"
(floor_cat "$small")
PRE="reset $small"
measure migS migrate "$small" "$jobs"
PRE="reset $meta"
measure migM migrate "$meta" "$jobs"
PRE="reset $meta2"
measure migM2 migrate "$meta2" "$jobs"
measure migM2e migrate_each "$meta2" "$jobs"
PRE=
row "migrate --jobs $jobs, large root /2" migS "$bytes2"
row "migrate --jobs $jobs, large root" migN "$bytes"
row "migrate --jobs $jobs, $((images / 2)) images" migM2 0
row "migrate --jobs $jobs, $images images" migM 0
row "  $((images / 2)) images, --sync each (fsync per file)" migM2e 0
perg () { awk -v t="$1" -v b="$2" 'BEGIN { printf "%.2f", t / (b / 1073741824) }'; }
peri () { awk -v t="$1" -v n="$2" 'BEGIN { printf "%.3f", t * 1000 / n }'; }
g1=$(perg "$migS_wall" "$bytes2"); g2=$(perg "$migN_wall" "$bytes")
i1=$(peri "$migM2_wall" $((images / 2))); i2=$(peri "$migM_wall" "$images")
echo "  per GiB of layers:  $g1 s at $(fmt "$bytes2" '%.0f') bytes, $g2 s at $(fmt "$bytes" '%.0f') bytes"
echo "  per image (meta):   $i1 ms at $((images / 2)) images, $i2 ms at $images images"

echo
echo "== ratios"
echo "  migrate --jobs $jobs / openssl:      $(ratio "$migN_wall" "$ossl_wall")"
echo "  migrate --jobs 1 / openssl:      $(ratio "$mig1_wall" "$ossl_wall")"
echo "  migrate --jobs $jobs / cat:          $(ratio "$migN_wall" "$cat_wall")"
echo "  CPU time, migrate --jobs $jobs / openssl: $(ratio "$migN_cpu" "$ossl_cpu")"
echo "  migrate speed-up, jobs 1 -> $jobs:   $(ratio "$mig1_wall" "$migN_wall")x"
echo "  save --jobs $jobs / openssl of its output: $(ratio "$saveN_wall" "$sossl_wall")"
echo "  save speed-up, jobs 1 -> $jobs:      $(ratio "$save1_wall" "$saveN_wall")x"
echo "  save oci-archive / docker-archive: $(ratio "$ociA_wall" "$saveN_wall") (oci-dir: $(ratio "$ociD_wall" "$saveN_wall")); peak RSS $(fmt "$ociA_rss" %d) / $(fmt "$saveN_rss" %d) KiB"
[ "$can_drop" = yes ] && echo "  cold: migrate / openssl:       $(ratio "$cmig_wall" "$cossl_wall")"

echo
echo "== targets (issue 7)"
verdict "$migN_wall <= 0.75 * $ossl_wall" "migrate --jobs $jobs: $(fmt "$migN_wall" %.2f) s <= 0.75 x openssl $(fmt "$ossl_wall" %.2f) s = $(fmt "$(awk -v o="$ossl_wall" 'BEGIN { print 0.75 * o }')" %.2f) s"
verdict "$saveN_wall <= 1.2 * $sossl_wall" "save --jobs $jobs > FILE: $(fmt "$saveN_wall" %.2f) s <= 1.2 x openssl over its $(fmt "$save_bytes" '%.0f') bytes = $(fmt "$(awk -v o="$sossl_wall" 'BEGIN { print 1.2 * o }')" %.2f) s"
verdict "$ociA_wall <= 1.1 * $saveN_wall" "save --format oci-archive --jobs $jobs > FILE: $(fmt "$ociA_wall" %.2f) s <= 1.1 x docker-archive $(fmt "$saveN_wall" %.2f) s = $(fmt "$(awk -v o="$saveN_wall" 'BEGIN { print 1.1 * o }')" %.2f) s (issue 15)"
verdict "$ociA_rss <= 1.1 * $saveN_rss + 4096" "peak RSS of oci-archive $(fmt "$ociA_rss" %d) KiB, of docker-archive $(fmt "$saveN_rss" %d) KiB: unchanged (within 10% + 4 MiB; issue 15)"
maxrss=0
for v in mig1 migN save1 saveN saveD ociA ociD legS migS migM migM2 migM2e; do
  r=${v}_rss
  [ "${!r}" -gt "$maxrss" ] && maxrss=${!r}
done
verdict "$maxrss < 65536" "peak RSS of every graphpipe run: $(fmt "$maxrss" '%d') KiB < 64 MiB"
scaled=$(awk -v t="$migM_wall" -v n="$images" 'BEGIN { printf "%.2f", t * 10000 / n }')
verdict "$scaled < 10" "metadata root: $images images in $(fmt "$migM_wall" %.2f) s$([ "$images" = 10000 ] || echo " ($scaled s scaled to 10,000)") < 10 s"
verdict "$g2 <= 1.25 * $g1 && $i2 <= 1.25 * $i1" "linear growth: per-GiB and per-image costs at the larger size within 25% of the smaller"

# ---- containers-storage (issue 16) ----
# The large root's images loaded into a private podman root: graphpipe
# save from it against podman save (bench/podman-side.sh; it says so and
# goes on without root or podman).  A failure there is reported, not fatal.
echo
echo "== podman side (issue 16)"
BENCH_DIR="$dir" BENCH_REPEAT="$repeat" GP_BUILDDIR="$builddir" \
  bash "$here/podman-side.sh" "$dir/$large" || echo "FAIL  bench/podman-side.sh (above)"

# ---- issue 18: real layer shapes (rootfs-like, many small layers,
# fallback layers), in their own script: bench/shapes.sh ----
bash "$here/shapes.sh"
