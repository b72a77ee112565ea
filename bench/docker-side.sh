#!/bin/bash
# graphpipe save side by side with Docker's own `docker save` (issue 7),
# run by `make bench-docker`; never by `make check`.
#
# Docker 1.10.3 cannot run here, but a Docker 20.10 daemon can, so the
# comparison is for save, on the very same Docker-written data root:
#   1. a legacy root from bench/gp-mkbench (BENCH_DOCKER_GIB GiB, kept in
#      BENCH_DIR and reused while the parameters are the same), migrated
#      by graphpipe, every tag saved by graphpipe into a tarball;
#   2. a private dockerd (--storage-driver overlay2, a fresh data root
#      under BENCH_DIR, its own socket, no networking) `docker load`s that
#      tarball (timed once);
#   3. page cache warm, best of BENCH_REPEAT rounds (the attempts of the
#      different commands alternate, so that other work on the machine
#      hits them alike), each under GNU time (wall, CPU user+sys, peak
#      RSS):
#        docker save TAGS... > FILE   (the daemon does the work: its CPU
#                                      and peak RSS are read from /proc)
#        graphpipe save --root DOCKER_ROOT --driver overlay2 --jobs 1|N
#                                      TAGS... -o - > FILE
#                                     (dockerd stays up, idle; its CPU
#                                      during these runs is shown too)
#        openssl dgst -sha256 over each tarball (the issue's floor);
#   4. checks: the tarball graphpipe wrote from Docker's overlay2 root is
#      byte-identical to the one Docker loaded, and (python3) in both
#      tarballs every tag has the same config digest, the same layer tar
#      digests, and those equal the config's rootfs.diff_ids;
#   5. always (trap): stops dockerd, removes its data root and the
#      tarballs.  The legacy root stays for the next run.
#
# Environment: GP_BUILDDIR (the build tree), BENCH_DOCKER_GIB (default 1),
# BENCH_SEED (1), BENCH_JOBS (CPUs), BENCH_REPEAT (2), BENCH_DIR (default
# GP_BUILDDIR/bench-data), BENCH_DOCKER_MIN_FREE_GB (20: refuse to start
# with less free space where BENCH_DIR is), DOCKERD and DOCKER (the
# programs; default: dockerd from PATH and the docker client installed
# next to it, else docker from PATH).
#
# Exit status: 0 when it ran (the figures are not pass/fail) or was
# skipped (not root, no dockerd/docker, no overlay file system); 1 when
# something failed, including the checks of step 4.
set -euo pipefail

builddir=${GP_BUILDDIR:?GP_BUILDDIR: the build tree}
gp=$builddir/graphpipe
mk=$builddir/bench/gp-mkbench
gib=${BENCH_DOCKER_GIB:-1}
seed=${BENCH_SEED:-1}
jobs=${BENCH_JOBS:-}
[ -n "$jobs" ] || jobs=$(nproc)
repeat=${BENCH_REPEAT:-2}
dir=${BENCH_DIR:-$builddir/bench-data}
min_free=${BENCH_DOCKER_MIN_FREE_GB:-20}
timebin=/usr/bin/time

skip () { echo "bench-docker: skipped: $*"; exit 0; }
die () { echo "bench-docker: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (dockerd with overlay2)"
dockerd=${DOCKERD:-$(command -v dockerd || true)}
[ -n "$dockerd" ] && [ -x "$dockerd" ] || skip "dockerd not found"
docker=${DOCKER:-}
if [ -z "$docker" ]; then
  docker=$(dirname "$dockerd")/../bin/docker
  [ -x "$docker" ] || docker=$(command -v docker || true)
fi
[ -n "$docker" ] && [ -x "$docker" ] || skip "the docker client was not found"
if ! grep -qw overlay /proc/filesystems; then
  modprobe overlay 2> /dev/null || true
  grep -qw overlay /proc/filesystems || skip "the kernel has no overlay file system"
fi
[ -x "$timebin" ] || die "$timebin (GNU time) is needed: apt-get install time"
command -v openssl > /dev/null || die "openssl is needed: apt-get install openssl"
[ -x "$mk" ] || die "$mk not built"
[ -x "$gp" ] || die "$gp not built"

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
free=$(df -P -B1G "$dir" | awk 'NR == 2 { print $4 }')
df -h "$dir"
if [ "$free" -lt "$min_free" ]; then
  die "only $free GB free in $dir, $min_free GB needed (the Docker root, its temporary copies and the tarballs take several times BENCH_DOCKER_GIB); free space or set BENCH_DIR or BENCH_DOCKER_MIN_FREE_GB"
fi

legacy=$dir/docker-$gib
droot=$dir/docker-$gib.dockerd
src=$dir/docker-$gib.source.tar
out_docker=$dir/docker-$gib.docker-save.tar
out_gp=$dir/docker-$gib.graphpipe-save.tar
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gp-bench-docker-XXXXXX")
dpid=

stop_dockerd () {
  [ -n "$dpid" ] || return 0
  kill "$dpid" 2> /dev/null || true
  local i=0
  while kill -0 "$dpid" 2> /dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$dpid" 2> /dev/null || true
  dpid=
}
# remove_droot: Docker's data root; dockerd mounts nothing there for
# images, but one that was killed may leave mounts behind
remove_droot () {
  awk -v r="$droot" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" 2> /dev/null || true; done
  rm -rf "$droot"
}
cleanup () {
  stop_dockerd
  remove_droot
  rm -rf "$src" "$out_docker" "$out_gp" "$tmp" "$legacy.aside"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fmt () { awk -v x="$1" -v f="$2" 'BEGIN { printf f, x }'; }
ratio () { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
now () { date +%s.%N; }
since () { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

export GRAPHPIPE_NO_SYSTEM_PLUGINS=${GRAPHPIPE_NO_SYSTEM_PLUGINS:-1}
export GRAPHPIPE_NO_SYSTEM_PRESETS=${GRAPHPIPE_NO_SYSTEM_PRESETS:-1}
export DOCKER_CONFIG=$tmp/docker-config
export DOCKER_HOST=unix://$tmp/docker.sock

echo "== graphpipe save vs docker save: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "   dockerd $("$dockerd" --version | sed 's/^Docker version //'), client $("$docker" --version | sed 's/^Docker version //'); $(openssl version); jobs N = $jobs; best of $repeat"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "   load average at start: $load_start"

# ---- 1. the legacy root, migrated, saved by graphpipe ----

stamp="--bytes=${gib}G --seed=$seed"
if [ -f "$legacy.stamp" ] && [ "$(cat "$legacy.stamp")" = "$stamp" ] && [ -d "$legacy" ]; then
  echo "reusing $legacy ($stamp)"
else
  rm -rf "$legacy" "$legacy".*
  echo "generating $legacy: gp-mkbench $stamp"
  t0=$(now)
  "$mk" --bytes="${gib}G" --seed="$seed" --tags-out="$legacy.tags" "$legacy" > "$legacy.info"
  echo "  $(cat "$legacy.info") ($(since "$t0") s)"
  echo "$stamp" > "$legacy.stamp"
fi
mapfile -t tags < "$legacy.tags"
[ "${#tags[@]}" -gt 0 ] || die "$legacy.tags: no tags"
if [ "$(cat "$legacy.migrated" 2> /dev/null)" != "$stamp" ]; then
  if [ -e "$legacy/image" ]; then # a migration that did not finish
    "$mk" --set-aside="$legacy.aside" "$legacy"
    rm -rf "$legacy.aside"
  fi
  t0=$(now)
  "$gp" migrate --root "$legacy" --driver aufs --jobs "$jobs" -q
  echo "migrated it with graphpipe ($(since "$t0") s)"
  echo "$stamp" > "$legacy.migrated"
fi
t0=$(now)
"$gp" save --root "$legacy" --driver aufs --jobs "$jobs" -o - -q "${tags[@]}" > "$src"
echo "graphpipe saved its ${#tags[@]} tags: $(fmt "$(stat -c %s "$src")" %.0f) bytes ($(since "$t0") s)"

# ---- 2. a private dockerd on a fresh overlay2 root; docker load ----

remove_droot # left by a run that was killed
mkdir -p "$droot" "$DOCKER_CONFIG"
"$dockerd" --data-root "$droot" --storage-driver overlay2 -H "$DOCKER_HOST" \
  --pidfile "$tmp/dockerd.pid" --exec-root "$tmp/exec" \
  --iptables=false --ip6tables=false --bridge=none --ip-masq=false \
  > "$tmp/dockerd.log" 2>&1 &
dpid=$!
i=0
until "$docker" version > /dev/null 2>&1; do
  i=$((i + 1))
  if [ $i -gt 300 ] || ! kill -0 "$dpid" 2> /dev/null; then
    tail -20 "$tmp/dockerd.log" >&2
    die "dockerd did not start"
  fi
  sleep 0.1
done
driver=$("$docker" info --format '{{.Driver}}')
[ "$driver" = overlay2 ] || die "dockerd runs $driver, not overlay2"
echo "dockerd (pid $dpid) up on $droot, driver $driver"

# ---- measuring ----

hz=$(getconf CLK_TCK)
# dockerd's CPU time in ticks: its own (every thread) and that of its
# children it reaped (docker load applies layers in re-executed children)
dticks () { sed 's/^.*) //' "/proc/$dpid/stat" | awk '{ print $12 + $13 + $14 + $15 }'; }
# peak RSS (VmHWM) since the last reset, KiB
dhwm_reset () { echo 5 > "/proc/$dpid/clear_refs" 2> /dev/null || true; }
dhwm () { awk '/^VmHWM/ { print $2 }' "/proc/$dpid/status"; }

# measure VAR CMD...: one attempt of CMD under GNU time, standard output
# to /dev/null (the commands redirect their own); keeps in VAR_wall,
# VAR_cpu (user+sys, s), VAR_rss (KiB), VAR_dcpu (dockerd's CPU, s) and
# VAR_drss (dockerd's peak RSS, KiB) the figures of the fastest attempt.
measure () {
  local var=$1 w u s m d0 d1 dr best
  shift
  d0=$(dticks)
  dhwm_reset
  if ! "$timebin" -f '%e %U %S %M' -o "$tmp/time" bash -c '"$@"' bash "$@" > /dev/null 2> "$tmp/err"; then
    cat "$tmp/err" >&2
    die "failed: $*"
  fi
  d1=$(dticks)
  dr=$(dhwm)
  read -r w u s m < <(tail -n 1 "$tmp/time")
  best=${var}_wall
  if [ -z "${!best:-}" ] || awk -v a="$w" -v b="${!best}" 'BEGIN { exit !(a < b) }'; then
    printf -v "${var}_wall" %s "$w"
    printf -v "${var}_cpu" %s "$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')"
    printf -v "${var}_rss" %s "$m"
    printf -v "${var}_dcpu" %s "$(awk -v a="$d0" -v b="$d1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')"
    printf -v "${var}_drss" %s "$dr"
  fi
}

header () {
  printf '%-40s %7s %7s %7s %7s %8s %7s %7s\n' "" "wall" "CPU" "dockerd" "CPU" "MiB/s" "RSS" "dockerd"
  printf '%-40s %7s %7s %7s %7s %8s %7s %7s\n' "$1" "s" "s" "CPU s" "total s" "(bytes)" "MiB" "RSS MiB"
}
# row LABEL VAR BYTES
row () {
  local w=${2}_wall c=${2}_cpu r=${2}_rss dc=${2}_dcpu dr=${2}_drss
  printf '%-40s %7.2f %7.2f %7.2f %7.2f %8.0f %7.1f %7.1f\n' "$1" "${!w}" "${!c}" "${!dc}" \
    "$(awk -v a="${!c}" -v b="${!dc}" 'BEGIN { print a + b }')" \
    "$(awk -v b="$3" -v t="${!w}" 'BEGIN { print (t > 0 ? b / 1048576 / t : 0) }')" \
    "$(awk -v k="${!r}" 'BEGIN { print k / 1024 }')" \
    "$(awk -v k="${!dr}" 'BEGIN { print k / 1024 }')"
}

# The timed commands, run by a child bash under GNU time.
export docker gp droot out_docker out_gp src
docker_load () { "$docker" load -q -i "$src"; }
docker_save () { rm -f "$out_docker"; "$docker" save "$@" > "$out_docker"; }
gp_save () { # gp_save JOBS TAGS...
  local j=$1
  shift
  rm -f "$out_gp"
  "$gp" save --root "$droot" --driver overlay2 --jobs "$j" -o - -q "$@" > "$out_gp"
}
export -f docker_load docker_save gp_save

cat "$src" > /dev/null # warm
measure load docker_load
"$docker" images --format '{{.Repository}}:{{.Tag}}' | LC_ALL=C sort > "$tmp/loaded"
# (docker lists library/NAME as NAME)
if ! printf '%s\n' "${tags[@]}" | sed 's,^docker\.io/,,; s,^library/,,' | LC_ALL=C sort | cmp -s - "$tmp/loaded"; then
  die "docker load did not give the ${#tags[@]} tags: $(tr '\n' ' ' < "$tmp/loaded")"
fi
src_bytes=$(stat -c %s "$src")
rm -f "$src" # only the graphpipe tarball from Docker's root is compared
echo "docker loaded graphpipe's tarball: ${#tags[@]} tags; $(du -sh "$droot" | cut -f1) in its data root"

# ---- 3. the side by side ----

# warm the page cache with the layer files of Docker's root
find "$droot/overlay2" -path '*/diff/*' -type f -print0 | xargs -0 -r cat > /dev/null
echo "its overlay2 layers: $(find "$droot/overlay2" -path '*/diff/*' -type f | wc -l) files," \
  "$(find "$droot/overlay2" -path '*/diff/*' -type l | wc -l) symlinks," \
  "$(find "$droot/overlay2" -path '*/diff/*' -type c | wc -l) whiteouts (character devices)"
echo "load average before the timed runs: $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "$repeat"); do
  measure dsave docker_save "${tags[@]}"
  measure gsave1 gp_save 1 "${tags[@]}"
  measure gsaveN gp_save "$jobs" "${tags[@]}"
  measure dossl openssl dgst -sha256 "$out_docker"
  measure gossl openssl dgst -sha256 "$out_gp"
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
dbytes=$(stat -c %s "$out_docker")
gbytes=$(stat -c %s "$out_gp")

# ---- 4. checks ----

check_ok=yes
# The Docker 1.10.3 layout graphpipe writes makes the tarball a function
# of the images: from Docker 20.10's overlay2 root it must be the very
# bytes of the tarball Docker loaded (written from graphpipe's own root).
"$gp" save --root "$legacy" --driver aufs --jobs "$jobs" -o - -q "${tags[@]}" > "$src"
if cmp -s "$src" "$out_gp"; then
  ident="graphpipe's tarball from Docker's overlay2 root is byte-identical to the one docker loaded"
else
  ident="FAILED: graphpipe's tarball from Docker's overlay2 root differs from the one docker loaded: $(cmp "$src" "$out_gp" 2>&1 | head -1)"
  check_ok=no
fi
rm -f "$src"

if command -v python3 > /dev/null 2>&1; then
  if python3 - "$out_docker" "$out_gp" > "$tmp/cmp" 2>&1 << 'EOF'
# Compares two `docker save` tarballs, each in one streaming pass: for
# every tag, the config digest (checked against its file name) and the
# SHA-256 of each layer tar (symlinks followed) must be equal in both,
# and the layer digests must be the config's rootfs.diff_ids.
import hashlib, json, posixpath, sys, tarfile

def scan(path):
    links, sums, blobs, layer_files, layer_bytes = {}, {}, {}, 0, 0
    with tarfile.open(path, mode='r|') as t:
        for m in t:
            name = posixpath.normpath(m.name)
            if m.issym():
                links[name] = posixpath.normpath(
                    posixpath.join(posixpath.dirname(name), m.linkname))
            elif m.isfile():
                f = t.extractfile(m)
                h = hashlib.sha256()
                if name.endswith('.json'):
                    data = f.read()
                    h.update(data)
                    blobs[name] = data
                else:
                    while True:
                        b = f.read(1 << 20)
                        if not b:
                            break
                        h.update(b)
                    if name.endswith('/layer.tar'):
                        layer_files += 1
                        layer_bytes += m.size
                sums[name] = 'sha256:' + h.hexdigest()
    def resolve(n):
        for _ in range(16):
            if n not in links:
                return n
            n = links[n]
        raise SystemExit('%s: symlink loop at %s' % (path, n))
    out, errors = {}, []
    for e in json.loads(blobs['manifest.json']):
        cfg = posixpath.normpath(e['Config'])
        cid = sums[cfg]
        if 'sha256:' + posixpath.basename(cfg)[:-len('.json')] != cid:
            errors.append('%s: %s: its content digest is %s' % (path, cfg, cid))
        diff_ids = json.loads(blobs[cfg])['rootfs']['diff_ids']
        layers = [sums[resolve(posixpath.normpath(l))] for l in e['Layers']]
        if layers != diff_ids:
            errors.append('%s: %s: layer tars %s, diff_ids %s' % (path, cfg, layers, diff_ids))
        for tag in e.get('RepoTags') or []:
            out[tag] = (cid, layers)
    return out, errors, layer_files, len(links), layer_bytes

a, ea, fa, la, ba = scan(sys.argv[1])
b, eb, fb, lb, bb = scan(sys.argv[2])
errors = ea + eb
for tag in sorted(set(a) | set(b)):
    if tag not in a or tag not in b:
        errors.append('%s: only in %s' % (tag, sys.argv[1] if tag in a else sys.argv[2]))
    elif a[tag] != b[tag]:
        errors.append('%s: %s %s != %s %s' % (tag, a[tag][0], a[tag][1], b[tag][0], b[tag][1]))
if errors:
    print('\n'.join(errors[:20]))
    sys.exit(1)
print('%d tags, %d images, %d distinct layers: the same config digests and '
      'layer tar digests (= rootfs.diff_ids) in both' %
      (len(a), len({v[0] for v in a.values()}),
       len({l for v in a.values() for l in v[1]})))
print('docker save: %d layer.tar files (%d bytes) + %d symlinks to them; '
      'graphpipe: %d layer.tar files (%d bytes) + %d symlinks' % (fa, ba, la, fb, bb, lb))
EOF
  then
    same=$(cat "$tmp/cmp")
  else
    same="FAILED: the two tarballs disagree:
$(cat "$tmp/cmp")"
    check_ok=no
  fi
else
  same="(python3 not found: the per-tag comparison of the two tarballs is left out)"
fi

# ---- report ----

echo
echo "Data: $(sed 's/^[^:]*: //' "$legacy.info")"
echo "docker save wrote $(fmt "$dbytes" %.0f) bytes, graphpipe save $(fmt "$gbytes" %.0f) bytes (Docker 1.10.3's layout: a layer"
echo "  that is a layer of several images under different v1 IDs is written under each; Docker 20.10 writes"
echo "  it once and symlinks the others).  MiB/s below: of the bytes each command wrote or read."
echo "Page cache warm; dockerd stays up (idle) during the graphpipe runs."
echo
header "${#tags[@]} tags, best of $repeat"
row "docker load (graphpipe's tarball), once" load "$src_bytes"
row "docker save > FILE" dsave "$dbytes"
row "graphpipe save --jobs 1 -o - > FILE" gsave1 "$gbytes"
row "graphpipe save --jobs $jobs -o - > FILE" gsaveN "$gbytes"
row "openssl dgst -sha256, docker's tarball" dossl "$dbytes"
row "openssl dgst -sha256, graphpipe's" gossl "$gbytes"
echo "(CPU: the timed process and its children, user+sys; dockerd CPU: the daemon's own and its reaped"
echo " children's, from /proc/$dpid/stat before and after; dockerd RSS: its VmHWM, reset before each run)"
echo
tot () { awk -v a="$1" -v b="$2" 'BEGIN { print a + b }'; }
d_cpu=$(tot "$dsave_cpu" "$dsave_dcpu")
echo "== ratios"
echo "  wall, graphpipe --jobs $jobs / docker save:        $(ratio "$gsaveN_wall" "$dsave_wall")"
echo "  wall, graphpipe --jobs 1 / docker save:        $(ratio "$gsave1_wall" "$dsave_wall")"
echo "  CPU,  graphpipe --jobs $jobs / docker (client+daemon): $(ratio "$gsaveN_cpu" "$d_cpu")"
echo "  CPU,  graphpipe --jobs 1 / docker (client+daemon): $(ratio "$gsave1_cpu" "$d_cpu")"
echo "  wall per byte written, graphpipe --jobs $jobs / docker: $(ratio "$(awk -v t="$gsaveN_wall" -v b="$gbytes" 'BEGIN { print t / b }')" "$(awk -v t="$dsave_wall" -v b="$dbytes" 'BEGIN { print t / b }')")"
echo "  wall, docker save / openssl of its tarball:    $(ratio "$dsave_wall" "$dossl_wall")"
echo "  wall, graphpipe --jobs $jobs / openssl of its tarball: $(ratio "$gsaveN_wall" "$gossl_wall")"
echo "  load average (1, 5, 15 min): $load_start at the start, $load_end after the timed runs"
echo
echo "== checks"
echo "  $ident"
echo "$same" | sed 's/^/  /'
[ "$check_ok" = yes ] || die "the checks failed"
