#!/bin/bash
# graphpipe benchmark, real layer shapes (issue 18): run at the end of
# `make bench`, or alone with `make bench-shapes`.
#
# Generates (once, reused while the parameters are the same) two legacy
# roots with bench/gp-mkbench:
#   - rootfs: a Debian-minbase-like rootfs as a layer (tens of thousands
#     of small files, most under 4 KiB, a few MiB-sized, symbolic links)
#     plus four more layers (--kind=rootfs, BENCH_SHAPE_FILES files);
#   - many: BENCH_SHAPE_IMAGES images of one small layer each (1 MiB on
#     average, every 20th of 20 MiB), every 10th layer without
#     tar-data.json.gz, i.e. rebuilt through the fallback archiver
#     (--kind=many).
# A new BENCH_SEED regenerates both (held-out data; the seed is in the
# header and in the targets block).  For each, page cache warm:
#   - the floor: one `openssl dgst -sha256` pass over the layer files;
#   - graphpipe migrate --jobs N, and --jobs X (more threads than cores:
#     they help when threads wait on the disk or on file creation);
#   - graphpipe save of every tag (> FILE), with two floors: the read
#     floor, one openssl pass over the tarball it wrote, and the write
#     floor, `cat` of the layer files (then zeros) into a new file of the
#     size save wrote (coreutils 9 copies with copy_file_range);
# then page cache cold (sync; echo 3 > /proc/sys/vm/drop_caches before
# each pass; needs root and BENCH_COLD != 0, else one line says why): the
# floor and migrate --jobs N and X.  Each row gives wall time, user and
# system CPU time, peak RSS and the ratios of wall and CPU time to its
# floor; then one extra run of the floor, migrate and save under
# `strace -c -f` gives the system calls made, per file and per layer, by
# kind.  Last, the issue's targets as PASS/FAIL lines.  Figures, not
# tests: the exit status is 0 whatever they are (1 when a command
# failed).  On a busy machine, compare CPU times and system call counts;
# wall times move with the load.
#
# Nothing is deleted while it runs: aside trees, outputs and roots made
# with other parameters are renamed into BENCH_DIR/trash, removed at the
# end of the outermost script (this one under `make bench-shapes`,
# run-bench.sh under `make bench`); see bench/trash.sh.  Before each
# timed write (migrate, save, the write floor) the previous output goes
# to the trash and `sync` writes back what is dirty, untimed.
#
# The graphpipe measured is the binary itself (.libs/graphpipe when
# libtool built a wrapper script), so that the wrapper's shell and sed
# runs are not counted.
#
# Environment: GP_BUILDDIR, BENCH_DIR, BENCH_SEED, BENCH_JOBS,
# BENCH_REPEAT, BENCH_COLD as for run-bench.sh; BENCH_SHAPE_FILES
# (34000), BENCH_SHAPE_IMAGES (800); BENCH_SHAPE_JOBS_EXTRA (X above;
# twice the CPUs; 0 or N: no such rows); BENCH_SHAPE_STRACE (1; 0: no
# strace runs).
set -euo pipefail

builddir=${GP_BUILDDIR:?GP_BUILDDIR: the build tree}
mk=$builddir/bench/gp-mkbench
seed=${BENCH_SEED:-1}
jobs=${BENCH_JOBS:-}
[ -n "$jobs" ] || jobs=$(nproc)
repeat=${BENCH_REPEAT:-1}
dir=${BENCH_DIR:-$builddir/bench-data}
files=${BENCH_SHAPE_FILES:-34000}
images=${BENCH_SHAPE_IMAGES:-800}
want_strace=${BENCH_SHAPE_STRACE:-1}
jobsx=${BENCH_SHAPE_JOBS_EXTRA:-}
[ -n "$jobsx" ] || jobsx=$((2 * $(nproc)))
[ "$jobsx" != "$jobs" ] || jobsx=0
cold=${BENCH_COLD:-auto}
timebin=/usr/bin/time

die () { echo "bench-shapes: $*" >&2; exit 1; }
[ -x "$timebin" ] || die "$timebin (GNU time) is needed: apt-get install time"
command -v openssl > /dev/null || die "openssl is needed: apt-get install openssl"
[ -x "$mk" ] || die "$mk not built"

gp=$builddir/graphpipe
if [ -x "$builddir/.libs/graphpipe" ]; then
  gp=$builddir/.libs/graphpipe
  export LD_LIBRARY_PATH=$builddir/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
have_strace=no
if [ "$want_strace" != 0 ] && command -v strace > /dev/null; then
  have_strace=yes
fi

mkdir -p "$dir"
. "$(cd "$(dirname "$0")" && pwd)/trash.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; trash_end' EXIT

fmt () { awk -v x="$1" -v f="$2" 'BEGIN { printf f, x }'; }
ratio () { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
cpu () { local u=${1}_user s=${1}_sys; awk -v a="${!u}" -v b="${!s}" 'BEGIN { print a + b }'; }
verdict () { # verdict OK-EXPRESSION(awk) TEXT
  if awk "BEGIN { exit !($1) }"; then echo "PASS  $2"; else echo "FAIL  $2"; fi
}

# shape_gen NAME ARGS...: $dir/NAME by gp-mkbench ARGS, reused when made
# with the same arguments; with its listing, layer file list and counts.
shape_gen () {
  local name=$1
  shift
  local root=$dir/$name stamp="$* --seed=$seed"
  if [ -f "$root.stamp" ] && [ "$(cat "$root.stamp")" = "$stamp" ] && [ -d "$root" ]; then
    return
  fi
  trash "$root" "$root.stamp" "$root".*
  echo "generating $name: gp-mkbench $stamp"
  "$mk" "$@" --seed="$seed" --tags-out="$root.tags" "$root" > "$root.info"
  echo "  $(cat "$root.info")"
  (cd "$root" && find . | LC_ALL=C sort) > "$root.listing"
  (cd "$root" && find aufs/diff -type f -print0 | LC_ALL=C sort -z) > "$root.files"
  (cd "$root" && find aufs/diff -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }') > "$root.bytes"
  ls "$root/graph" | wc -l > "$root.layers"
  (cd "$root/graph" && ls -d */tar-data.json.gz 2> /dev/null | wc -l) > "$root.tarsplit"
  echo "$stamp" > "$root.stamp"
}

# shape_reset NAME: what a migration wrote goes aside, into the trash
# (renames only), so that the next one starts over; then sync.
aside=
shape_aside_n=0
shape_reset () {
  local root=$dir/$1
  shape_aside_n=$((shape_aside_n + 1))
  [ -n "$aside" ] || aside=$(mktemp -d "$BENCH_TRASH/aside-shapes.XXXXXX")
  "$mk" --set-aside="$aside/$shape_aside_n" "$root"
  if ! (cd "$root" && find . | LC_ALL=C sort) | cmp -s - "$root.listing"; then
    die "$root: not back to its generated state after a reset"
  fi
  sync
}

drop_caches () {
  sync
  echo 3 > /proc/sys/vm/drop_caches 2> /dev/null
}
shape_reset_cold () { shape_reset "$1"; drop_caches; }
# shape_out_aside NAME: save's and the write floor's outputs to the trash
shape_out_aside () {
  trash "$dir/$1.save.tar" "$dir/$1.wfloor"
  sync
}

# shape_measure VAR CMD...: CMD under GNU time ($repeat times, the
# fastest kept); sets VAR_wall, VAR_user, VAR_sys (s), VAR_rss (KiB).
# SHAPE_PRE (a function name, optional) runs before each attempt.
SHAPE_PRE=
shape_measure () {
  local var=$1
  shift
  local best= w u s m
  for _ in $(seq "$repeat"); do
    [ -z "$SHAPE_PRE" ] || $SHAPE_PRE
    if ! "$timebin" -f '%e %U %S %M' -o "$tmp/time" bash -c '"$@"' bash "$@" > "$tmp/out" 2> "$tmp/err"; then
      cat "$tmp/err" >&2
      die "failed: $*"
    fi
    read -r w u s m < <(tail -n 1 "$tmp/time")
    if [ -z "$best" ] || awk -v a="$w" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=$w
      printf -v "${var}_wall" %s "$w"
      printf -v "${var}_user" %s "$u"
      printf -v "${var}_sys" %s "$s"
      printf -v "${var}_rss" %s "$m"
    fi
  done
}

shape_header () {
  printf '%-40s %7s %7s %7s %7s %8s %8s\n' "$1" "wall s" "user s" "sys s" "RSS MiB" "÷floor" "CPU÷fl"
}

# shape_row LABEL VAR FLOORVAR
shape_row () {
  local w=${2}_wall u=${2}_user s=${2}_sys r=${2}_rss fw=${3}_wall fu=${3}_user fs=${3}_sys
  printf '%-40s %7.2f %7.2f %7.2f %7.1f %8s %8s\n' "$1" "${!w}" "${!u}" "${!s}" \
    "$(awk -v k="${!r}" 'BEGIN { print k / 1024 }')" "$(ratio "${!w}" "${!fw}")x" \
    "$(ratio "$(awk -v a="${!u}" -v b="${!s}" 'BEGIN { print a + b }')" \
             "$(awk -v a="${!fu}" -v b="${!fs}" 'BEGIN { print a + b }')")x"
}

# shape_syscalls LABEL NFILES NLAYERS CMD...: CMD under strace -c -f; one
# line of totals per file and per layer, one of counts by kind.
shape_syscalls () {
  local label=$1 nf=$2 nl=$3
  shift 3
  if ! strace -c -f -o "$tmp/strace" bash -c '"$@"' bash "$@" > "$tmp/out" 2> "$tmp/err"; then
    cat "$tmp/err" >&2
    die "failed under strace: $*"
  fi
  awk -v label="$label" -v nf="$nf" -v nl="$nl" '
    $1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {
      n = $4; sc = $NF; total += n
      if (sc ~ /^open/) k = "open"
      else if (sc ~ /stat/) k = "stat"
      else if (sc ~ /^(p?read|readv|preadv)/) k = "read"
      else if (sc ~ /^(p?write|writev|pwritev|copy_file_range|sendfile)/) k = "write"
      else if (sc == "close") k = "close"
      else if (sc == "fcntl") k = "fcntl"
      else if (sc == "getdents64") k = "getdents"
      else if (sc ~ /sync/) k = "sync"
      else if (sc == "futex") k = "futex"
      else if (sc ~ /^(rename|link|unlink|mkdir|fchmod|chmod|symlink)/) k = "namespace"
      else k = "other"
      by[k] += n
    }
    END {
      printf "  %-38s %9d calls: %6.2f per file, %8.1f per layer\n", label, total, total / nf, total / nl
      line = "    per file:"
      split("open stat read write close fcntl getdents namespace sync futex other", order, " ")
      for (i = 1; i <= 11; i++)
        if (by[order[i]] > 0)
          line = line sprintf(" %s %.2f", order[i], by[order[i]] / nf)
      print line
    }' "$tmp/strace"
}

export gp dir
shape_floor () { cd "$dir/$1" && xargs -0 -a "$dir/$1.files" openssl dgst -sha256 > /dev/null; }
shape_cat () { cd "$dir/$1" && xargs -0 -a "$dir/$1.files" cat > /dev/null; }
# shape_wfloor NAME SIZE: the layer files, then zeros, into a new file of
# SIZE bytes (what save wrote)
shape_wfloor () {
  local pad=$(($2 - $(cat "$dir/$1.bytes")))
  { (cd "$dir/$1" && xargs -0 -a "$dir/$1.files" cat)
    [ "$pad" -le 0 ] || head -c "$pad" /dev/zero
  } > "$dir/$1.wfloor"
}
shape_migrate () { "$gp" migrate --root "$dir/$1" --driver aufs --jobs "$2" -q; }
shape_save () {
  xargs -d '\n' -a "$dir/$1.tags" "$gp" save --root "$dir/$1" --jobs "$2" -o - -q > "$dir/$1.save.tar"
}
export -f shape_floor shape_cat shape_wfloor shape_migrate shape_save

# shape_bench NAME TITLE: the rows of one shape; sets NAME-prefixed
# results for the targets (shape_<name>_mig, _migx, _rss, _migw, _flw).
shape_bench () {
  local name=$1 title=$2
  local bytes nfiles nlayers ntarsplit
  bytes=$(cat "$dir/$name.bytes")
  nfiles=$(tr -cd '\0' < "$dir/$name.files" | wc -c)
  nlayers=$(cat "$dir/$name.layers")
  ntarsplit=$(cat "$dir/$name.tarsplit")
  echo
  echo "$title: $nlayers layers ($((nlayers - ntarsplit)) without tar-data.json.gz), $nfiles files, $(fmt "$bytes" '%.0f') bytes"
  (shape_cat "$name") # warm the cache (in a subshell: it changes directory)
  shape_header "  (warm page cache)"
  shape_measure fl shape_floor "$name"
  shape_row "openssl dgst -sha256 (the floor)" fl fl
  SHAPE_PRE="shape_reset $name"
  if [ "$jobsx" != 0 ]; then
    shape_measure migx shape_migrate "$name" "$jobsx"
  fi
  shape_measure mig shape_migrate "$name" "$jobs"
  SHAPE_PRE=
  shape_row "migrate --jobs $jobs" mig fl
  [ "$jobsx" = 0 ] || shape_row "migrate --jobs $jobsx" migx fl
  # save of the migration just above, then its two floors
  local out=$dir/$name.save.tar save_bytes
  SHAPE_PRE="shape_out_aside $name"
  shape_measure sv shape_save "$name" "$jobs"
  SHAPE_PRE=
  save_bytes=$(stat -c %s "$out")
  shape_measure svfl openssl dgst -sha256 "$out"
  SHAPE_PRE="shape_out_aside $name"
  shape_measure svwf shape_wfloor "$name" "$save_bytes"
  SHAPE_PRE=
  [ "$(stat -c %s "$dir/$name.wfloor")" = "$save_bytes" ] || die "$dir/$name.wfloor: not $save_bytes bytes"
  shape_row "save --jobs $jobs, every tag > FILE" sv svfl
  shape_row "openssl dgst -sha256 of the tarball" svfl svfl
  shape_row "cat layer files (+ zeros) > FILE" svwf svfl
  echo "  save wrote $(fmt "$save_bytes" '%.0f') bytes; save / read floor (openssl of the tarball): $(ratio "$sv_wall" "$svfl_wall")x wall, $(ratio "$(cpu sv)" "$(cpu svfl)")x CPU"
  echo "  save / write floor (cat of the layer files, then zeros, > FILE of that size): $(ratio "$sv_wall" "$svwf_wall")x wall, $(ratio "$(cpu sv)" "$(cpu svwf)")x CPU"
  if [ "$can_drop" = yes ]; then
    shape_header "  (cold page cache: dropped before each)"
    SHAPE_PRE=drop_caches
    shape_measure cfl shape_floor "$name"
    shape_row "openssl dgst -sha256 (the floor), cold" cfl cfl
    SHAPE_PRE="shape_reset_cold $name"
    if [ "$jobsx" != 0 ]; then
      shape_measure cmigx shape_migrate "$name" "$jobsx"
    fi
    shape_measure cmig shape_migrate "$name" "$jobs"
    SHAPE_PRE=
    shape_row "migrate --jobs $jobs, cold" cmig cfl
    [ "$jobsx" = 0 ] || shape_row "migrate --jobs $jobsx, cold" cmigx cfl
    (shape_cat "$name") # warm again
  fi
  if [ "$have_strace" = yes ]; then
    shape_syscalls "openssl (the floor)" "$nfiles" "$nlayers" shape_floor "$name"
    shape_reset "$name"
    shape_syscalls "migrate --jobs $jobs" "$nfiles" "$nlayers" shape_migrate "$name" "$jobs"
    shape_out_aside "$name"
    shape_syscalls "save --jobs $jobs" "$nfiles" "$nlayers" shape_save "$name" "$jobs"
  fi
  shape_out_aside "$name"
  local n=${name//-/_}
  printf -v "shape_${n}_mig" %s "$(ratio "$mig_wall" "$fl_wall")"
  printf -v "shape_${n}_migx" %s "$([ "$jobsx" = 0 ] || ratio "$migx_wall" "$fl_wall")"
  printf -v "shape_${n}_rss" %s "$(printf '%s\n' "$mig_rss" "${migx_rss:-0}" "${cmig_rss:-0}" "${cmigx_rss:-0}" "$sv_rss" | sort -n | tail -n 1)"
  printf -v "shape_${n}_migw" %s "$mig_wall"
  printf -v "shape_${n}_flw" %s "$fl_wall"
}

rootfs=shape-rootfs-$files
many=shape-many-$images
echo
echo "== real layer shapes (issue 18): seed $seed; jobs N = $jobs$([ "$jobsx" = 0 ] || echo ", X = $jobsx"); best of $repeat; load average at start: $(cut -d' ' -f1 /proc/loadavg)"
trash_init
can_drop=no
if [ "$cold" = 0 ]; then
  echo "   cold page cache rows skipped: BENCH_COLD=0"
elif [ "$(id -u)" != 0 ]; then
  echo "   cold page cache rows skipped: not root (they drop the page cache through /proc/sys/vm/drop_caches)"
elif ! drop_caches; then
  echo "   cold page cache rows skipped: /proc/sys/vm/drop_caches is not writable here"
else
  can_drop=yes
fi
shape_gen "$rootfs" --kind=rootfs --files="$files"
shape_gen "$many" --kind=many --images="$images"
shape_bench "$rootfs" "rootfs-like root"
shape_bench "$many" "many-layers root"

n1=${rootfs//-/_} n2=${many//-/_}
r1=shape_${n1}_mig r2=shape_${n2}_mig x1=shape_${n1}_migx x2=shape_${n2}_migx
m1=shape_${n1}_rss m2=shape_${n2}_rss
w1=shape_${n1}_migw f1=shape_${n1}_flw
w2=shape_${n2}_migw f2=shape_${n2}_flw
echo
echo "== targets (issue 18; seed $seed; migrate --jobs $jobs, page cache warm; wall-clock ratios: valid on a quiet machine only; load average now: $(cut -d' ' -f1 /proc/loadavg))"
verdict "${!r1} <= 1.0" "rootfs-like: migrate $(fmt "${!w1}" %.2f) s <= 1.0 x the floor $(fmt "${!f1}" %.2f) s (${!r1}x)"
verdict "${!r2} <= 0.9" "many layers: migrate $(fmt "${!w2}" %.2f) s <= 0.9 x the floor $(fmt "${!f2}" %.2f) s (${!r2}x)"
maxrss=$(printf '%s\n' "${!m1}" "${!m2}" | sort -n | tail -n 1)
verdict "$maxrss <= 65536" "peak RSS of migrate and save on both: $maxrss KiB <= 64 MiB"
[ "$jobsx" = 0 ] || echo "      (with --jobs $jobsx: rootfs-like ${!x1}x, many layers ${!x2}x the floor)"
