#!/bin/bash
# graphpipe save from a podman root side by side with `podman save`
# (issue 16): run by `make bench` (bench/run-bench.sh) on its large root,
# or alone (GP_BUILDDIR=... bash bench/podman-side.sh ROOT, ROOT migrated
# by graphpipe); never by `make check`.
#
#   1. every tag of a migrated bench root (argument ROOT, a Docker 1.10+
#      root whose tags are listed in ROOT.tags) saved by graphpipe into a
#      tarball, and `podman load`ed into a private containers-storage
#      root under BENCH_DIR (overlay where the kernel mounts it, else
#      vfs; its own --root/--runroot, no search registries, no events);
#   2. page cache warm, best of BENCH_REPEAT rounds (the two commands
#      alternate), under GNU time (wall, CPU user+sys, peak RSS):
#        podman save -m --format docker-archive -o FILE TAGS...
#        graphpipe save --root PODMAN_ROOT -o FILE TAGS...
#      and the ratio of their CPU times (the issue's aim: graphpipe within
#      1.2x of podman's CPU at worst; a figure, not a test);
#   3. a check (python3): both tarballs hold the same configs and layer
#      tar digests per image;
#   4. always (trap): moves the podman root and the tarballs into the
#      bench's trash (bench/trash.sh: BENCH_DIR/trash, removed at the end
#      of the outermost bench script, here when run alone), so that no
#      tree of tens of thousands of files is deleted right before the
#      next measurements (bench/shapes.sh's, in `make bench`).
#
# Environment: GP_BUILDDIR (the build tree), BENCH_REPEAT (1), BENCH_DIR
# (GP_BUILDDIR/bench-data).  Exit status 0 when it ran or was skipped
# (not root, no podman), 1 when something failed.
set -euo pipefail

builddir=${GP_BUILDDIR:?GP_BUILDDIR: the build tree}
gp=$builddir/graphpipe
root=${1:?usage: podman-side.sh MIGRATED-BENCH-ROOT}
repeat=${BENCH_REPEAT:-1}
dir=${BENCH_DIR:-$builddir/bench-data}
timebin=/usr/bin/time

skip () { echo "bench-podman: skipped: $*"; exit 0; }
die () { echo "bench-podman: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (podman on a private rootful store)"
command -v podman > /dev/null || skip "podman not installed"
command -v python3 > /dev/null || skip "python3 not installed"
[ -f "$root.tags" ] || die "$root.tags: no tag list (a root from bench/gp-mkbench)"

mkdir -p "$dir"
. "$(cd "$(dirname "$0")" && pwd)/trash.sh"
trash_init
work=$(mktemp -d "$dir/podman-side.XXXXXX")
# podman's run roots (a few small files) apart, under /tmp: podman refuses
# a --runroot longer than 50 characters
run=$(mktemp -d /tmp/gp-podman.XXXXXX)
# podman's overlay driver leaves its home bind-mounted: unmount what is
# mounted under our own directories, then move them into the trash
cleanup () {
  awk -v w="$work/" -v r="$run/" 'index($2, w) == 1 || index($2, r) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" 2> /dev/null || true; done
  trash "$work"
  rm -rf "$run"
  trash_end
}
trap cleanup EXIT
cat > "$work/registries.conf" <<'EOF'
unqualified-search-registries = []
EOF
# tmp_dir: podman's own runtime files (default /run/libpod, shared with
# every other podman on the machine)
cat > "$work/containers.conf" <<EOF
[engine]
events_logger = "none"
cgroup_manager = "cgroupfs"
tmp_dir = "$work/libpod-tmp"
EOF
cat > "$work/storage.conf" <<EOF
[storage]
driver = "vfs"
runroot = "$run/run-default"
graphroot = "$work/root-default"
EOF
export CONTAINERS_CONF=$work/containers.conf CONTAINERS_REGISTRIES_CONF=$work/registries.conf
export CONTAINERS_STORAGE_CONF=$work/storage.conf TMPDIR=$work
proot=$work/root
pm () { podman --root "$proot" --runroot "$run/run" --storage-driver "$driver" \
          --cgroup-manager cgroupfs --events-backend none "$@"; }

xargs -d '\n' -a "$root.tags" "$gp" save --root "$root" -q -o "$work/in.tar" ||
  die "graphpipe save of $root failed"
driver=overlay
if ! pm load -q -i "$work/in.tar" > "$work/load.log" 2>&1; then
  trash "$proot"
  rm -rf "$run/run"
  driver=vfs
  pm load -q -i "$work/in.tar" > "$work/load.log" 2>&1 || { cat "$work/load.log" >&2; die "podman load failed"; }
fi
trash "$work/in.tar"
# the names podman gave them (localhost/NAME:TAG for a docker-archive's NAME:TAG)
mapfile -t tags < <(pm images --format '{{.Repository}}:{{.Tag}}' | LC_ALL=C sort)
[ "${#tags[@]}" -gt 0 ] || die "podman lists no images after loading"

export gp proot work run driver
podman_save () {
  podman --root "$proot" --runroot "$run/run" --storage-driver "$driver" \
    --cgroup-manager cgroupfs --events-backend none save -q -m --format docker-archive \
    -o "$work/podman.tar" "$@"
}
gp_save () {
  "$gp" save -q --root "$proot" -o "$work/gp.tar" "$@"
}
export -f podman_save gp_save

# measure VAR CMD...: best of $repeat by wall time; VAR_wall, VAR_cpu, VAR_rss.
measure () {
  local var=$1 w u s m
  shift
  "$timebin" -f '%e %U %S %M' -o "$work/time" bash -c '"$@"' bash "$@" > /dev/null 2> "$work/err" ||
    { cat "$work/err" >&2; die "failed: $*"; }
  read -r w u s m < <(tail -n 1 "$work/time")
  local bw=${var}_wall
  if [ -z "${!bw:-}" ] || awk -v a="$w" -v b="${!bw}" 'BEGIN { exit !(a < b) }'; then
    printf -v "${var}_wall" %s "$w"
    printf -v "${var}_cpu" %s "$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')"
    printf -v "${var}_rss" %s "$m"
  fi
}
# the previous round's tarballs go to the trash, untimed
for _ in $(seq "$repeat"); do
  trash "$work/podman.tar"
  measure pm podman_save "${tags[@]}"
  trash "$work/gp.tar"
  measure gs gp_save "${tags[@]}"
done
bytes=$(stat -c %s "$work/gp.tar")

printf '%-44s %8s %8s %9s %9s\n' "containers-storage ($driver), ${#tags[@]} tags" "wall s" "CPU s" "MiB/s" "RSS MiB"
row () {
  local w=${2}_wall c=${2}_cpu r=${2}_rss
  printf '%-44s %8.2f %8.2f %9.0f %9.1f\n' "$1" "${!w}" "${!c}" \
    "$(awk -v b="$bytes" -v t="${!w}" 'BEGIN { print (t > 0 ? b / 1048576 / t : 0) }')" \
    "$(awk -v k="${!r}" 'BEGIN { print k / 1024 }')"
}
row "podman save -m -o FILE" pm
row "graphpipe save -o FILE (fsync'ed)" gs
echo "  CPU time, graphpipe / podman save: $(awk -v a="$gs_cpu" -v b="$pm_cpu" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }') (aim: <= 1.2)"

python3 - "$work/podman.tar" "$work/gp.tar" <<'EOF' || die "the two tarballs differ in configs or layers"
import hashlib, json, sys, tarfile
def digests(path):
    t = tarfile.open(path)
    def sha(name):
        h = hashlib.sha256()
        f = t.extractfile(name)
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
        return h.hexdigest()
    return sorted(" ".join([sha(e["Config"])] + [sha(l) for l in e["Layers"]])
                  for e in json.loads(t.extractfile("manifest.json").read()))
a, b = digests(sys.argv[1]), digests(sys.argv[2])
print("  same configs and layer tars in both tarballs: %s (%d images)" % ("yes" if a == b else "NO", len(a)))
sys.exit(0 if a == b else 1)
EOF
