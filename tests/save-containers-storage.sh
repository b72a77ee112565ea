#!/bin/sh
# `graphpipe save` from a containers-storage root (podman, TAP), checked
# against podman 4.3 itself, on each driver (vfs; overlay where the
# kernel mounts it; btrfs, the root on a btrfs file system the test makes
# in a loop-mounted image file under its temporary directory: each layer
# a subvolume):
#
#  - podman loads Docker 1.10.3's golden saves (gunzipped) into a private
#    root and builds images with --isolation=chroot (FROM scratch + COPY of
#    Debian's static busybox, then RUN steps): hard links, whiteouts, an
#    opaque directory (rm -rf dir && mkdir dir), a user xattr (setfattr),
#    long names and a non-UTF-8 name, an image on top of another;
#  - with no podman running, graphpipe save of the same names, as
#    docker-archive and oci-archive, carries the same config bytes and
#    layer digests as `podman save` of them, and layer tars byte-identical
#    to podman's (and to the golden tarballs' layer.tar files);
#  - a fresh podman root loads what graphpipe wrote with the same image IDs;
#  - the root is unchanged (ctime included), also read through a read-only
#    bind mount; graphpipe verify passes on it and fails on damage;
#  - a rootless layout (files owned by mapped IDs) gives the same bytes;
#  - btrfs: a copy of the root on a plain file system (cp -a) gives the
#    same bytes; --driver chooses between the stores of two drivers;
#  - crashed and hostile stores (incomplete layer, missing tar-split,
#    truncated images.json, path traversal in an ID, a big-data key or a
#    tar-split entry): exit 1, the image and reason named, no output file.
#
# Environment (set by make check): GP_SHARED_DIR, GP_TOP_SRCDIR,
# GP_TOP_BUILDDIR, GRAPHPIPE.
set -u

top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${GP_TOP_BUILDDIR:-.}
shared=${GP_SHARED_DIR:-$top_builddir/tests/shared}
golden=$shared/golden/public
GRAPHPIPE=${GRAPHPIPE:-$top_builddir/graphpipe}
CSIMAGES=${CSIMAGES:-$top_builddir/tests/gp-cs-images}

. "$top_srcdir/tests/migrate-tap.sh"
. "$top_srcdir/tests/forensics-lib.sh"
. "$top_srcdir/tests/btrfs-lib.sh"
# checks per driver (all skipped when the kernel has no overlay for
# podman, or no btrfs file system can be made: see btrfs_checks)
per_driver=26
# checks of the btrfs root alone, after the per-driver ones
btrfs_checks=12
plan $((91 + per_driver + btrfs_checks))
fx_require_golden save-busybox_latest.tar.gz
fx_skip_unless_root
for prog in podman python3 setfattr unshare; do
  command -v "$prog" > /dev/null 2>&1 ||
    skip_all "$prog not installed (Debian packages podman, python3, attr, util-linux)"
done
[ -x /bin/busybox ] || skip_all "/bin/busybox not installed (Debian package busybox-static)"
ldd /bin/busybox > /dev/null 2>&1 &&
  skip_all "/bin/busybox is dynamically linked: install Debian's busybox-static"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gp-cstore-XXXXXX") || exit 99
cleanup () {
  # the btrfs file system, and its loop device
  gp_btrfs_release
  # podman's overlay driver may leave its home bind-mounted: unmount what
  # is mounted under our own directory
  awk -v w="$tmp/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" 2> /dev/null || true; done
  if [ "${GP_KEEP_TMP:-0}" = 1 ]; then
    echo "# kept $tmp" >&2
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Private configuration: no search registries, no events, cgroupfs, and a
# storage.conf of our own so the system's options do not apply.
cat > "$tmp/registries.conf" <<'EOF'
unqualified-search-registries = []
EOF
# tmp_dir: podman's own runtime files (default /run/libpod, shared with
# every other podman on the machine)
cat > "$tmp/containers.conf" <<EOF
[engine]
events_logger = "none"
cgroup_manager = "cgroupfs"
tmp_dir = "$tmp/libpod-tmp"
EOF
cat > "$tmp/storage.conf" <<EOF
[storage]
driver = "vfs"
runroot = "$tmp/run-default"
graphroot = "$tmp/root-default"
EOF
export CONTAINERS_CONF="$tmp/containers.conf"
export CONTAINERS_REGISTRIES_CONF="$tmp/registries.conf"
export CONTAINERS_STORAGE_CONF="$tmp/storage.conf"
export TMPDIR="$tmp"

# pm ROOT DRIVER ARGS...: podman on a private root.
pm () {
  pm_root=$1
  pm_driver=$2
  shift 2
  podman --root "$pm_root" --runroot "$pm_root.run" --storage-driver "$pm_driver" \
    --cgroup-manager cgroupfs --events-backend none "$@"
}

# archive_digests FILE: one line per image of a docker-archive or
# oci-archive tarball, sorted: the sha256 of its config bytes, then the
# sha256 of each layer's uncompressed tar, bottom first.
archive_digests () {
  python3 - "$1" <<'EOF'
import gzip, hashlib, json, sys, tarfile
t = tarfile.open(sys.argv[1])
members = {m.name.lstrip("./"): m for m in t.getmembers()}
def read(name):
    m = members[name.lstrip("./")]
    while m.issym() or m.islnk():
        target = m.linkname if m.islnk() else (name.rsplit("/", 1)[0] + "/" + m.linkname if "/" in name else m.linkname)
        m = members[target.lstrip("./")]
    return t.extractfile(m).read()
def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()
def plain(b):
    return gzip.decompress(b) if b[:2] == b"\x1f\x8b" else b
out = []
if "manifest.json" in members:
    for e in json.loads(read("manifest.json")):
        out.append(" ".join([sha(read(e["Config"]))] + [sha(read(l)) for l in e["Layers"]]))
else:
    def blob(d):
        return read("blobs/" + d.replace(":", "/"))
    for m in json.loads(read("index.json"))["manifests"]:
        man = json.loads(blob(m["digest"]))
        c = blob(man["config"]["digest"])
        assert sha(c) == man["config"]["digest"]
        out.append(" ".join([sha(c)] + [sha(plain(blob(l["digest"]))) for l in man["layers"]]))
print("\n".join(sorted(out)))
EOF
}

# layer_files FILE DIR: the layer tars of a docker-archive, extracted to
# DIR as <sha256>.tar (so that two archives' layers can be compared with cmp).
layer_files () {
  python3 - "$1" "$2" <<'EOF'
import hashlib, json, os, sys, tarfile
t = tarfile.open(sys.argv[1])
for e in json.loads(t.extractfile("manifest.json").read()):
    for l in e["Layers"]:
        b = t.extractfile(l).read()
        with open(os.path.join(sys.argv[2], hashlib.sha256(b).hexdigest() + ".tar"), "wb") as f:
            f.write(b)
EOF
}

# The build context: static busybox, and setfattr with its libraries
# (removed again in a later layer: one more whiteout).
ctx=$tmp/ctx
mkdir -p "$ctx"
cp /bin/busybox "$ctx/busybox"
cp "$(command -v setfattr)" "$ctx/setfattr"
libs=$(ldd "$(command -v setfattr)" | awk '$2 == "=>" { print $3 } $1 ~ /^\// { print $1 }')
copies=
for lib in $libs; do
  cp -L "$lib" "$ctx/$(basename "$lib")"
  copies="$copies
COPY $(basename "$lib") $lib"
done
long=$(printf 'n%.0s' $(seq 1 200))
deep=d123456789012345678901234567890123456789/e123456789012345678901234567890123456789/f123456789012345678901234567890123456789/g123456789
cat > "$ctx/Containerfile" <<EOF
FROM scratch
COPY busybox /bin/busybox
COPY setfattr /usr/bin/setfattr$copies
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin"]
RUN set -e; mkdir -p /data/keep /data/gone /data/opq/sub /data/$deep; \\
    echo hello > /data/keep/file; echo a > /data/gone/a; echo x > /data/opq/sub/x; \\
    echo o > /data/opq/old; echo linked > /data/hl1; ln /data/hl1 /data/hl2; \\
    ln /data/hl1 /data/keep/hl3; echo long > /data/$long; echo deep > /data/$deep/$long; \\
    printf 'latin' > "/data/\$(printf 'caf\\351-\\377\\376')"; ln -s keep/file /data/sym; \\
    setfattr -n user.graphpipe -v test /data/keep/file; seq 1 200000 > /data/big
RUN set -e; rm -rf /data/gone; rm /data/hl2; rm -rf /data/opq && mkdir /data/opq && \\
    echo new > /data/opq/new; echo changed >> /data/keep/file; rm /usr/bin/setfattr
EOF
cat > "$ctx/Containerfile.two" <<'EOF'
FROM localhost/gp/test:v1
RUN echo two > /two && rm /data/hl1
EOF

golden_tars="save-busybox_latest save-myapp_v1+busybox_1.0.variant1"
for g in $golden_tars; do
  gzip -dc "$golden/$g.tar.gz" > "$tmp/$g.tar" || bail_out "cannot gunzip $golden/$g.tar.gz"
done

# The names saved: podman's short names (localhost/ and a stored name's
# path), a full name, an ID prefix (set below).
names_docker="busybox myapp:v1 localhost/busybox:1.0 gp/test:v1 localhost/gp/test:v2 other"

# btrfs: why it cannot run here (empty when it can)
btrfs_why=$(gp_btrfs_missing)

for driver in vfs overlay btrfs; do
  root=$tmp/$driver/root
  mkdir -p "$tmp/$driver"
  out=$tmp/$driver
  if [ "$driver" = btrfs ]; then
    # the root alone on the btrfs file system; podman's btrfs driver
    # makes each layer a subvolume (a snapshot of its parent's)
    if [ -z "$btrfs_why" ]; then
      gp_btrfs_mount "$tmp/btrfs.img" "$out/fs"
      case $? in
        0) root=$out/fs/root ;;
        1) btrfs_why=$(echo "$gp_btrfs_why" | head -1) ;;
        *) echo "$gp_btrfs_why" | sed 's/^/# /'; bail_out "mkfs.btrfs of $tmp/btrfs.img failed" ;;
      esac
    fi
    if [ -n "$btrfs_why" ]; then
      # a prerequisite: a failure under GP_REQUIRE_ALL
      i=0
      while [ $i -lt $((per_driver + btrfs_checks)) ]; do
        skip "btrfs: a podman root on a loop-mounted btrfs file system" "$btrfs_why"
        i=$((i + 1))
      done
      break
    fi
  fi
  # podman: load the golden saves, build the test images
  ok_setup=true
  for g in $golden_tars; do
    pm "$root" "$driver" load -q -i "$tmp/$g.tar" > "$out/load.log" 2>&1 || { ok_setup=false; break; }
  done
  if $ok_setup; then
    pm "$root" "$driver" build -q --isolation=chroot -t gp/test:v1 "$ctx" > "$out/build.log" 2>&1 &&
    pm "$root" "$driver" build -q --isolation=chroot -t gp/test:v2 -f "$ctx/Containerfile.two" "$ctx" >> "$out/build.log" 2>&1 &&
    pm "$root" "$driver" tag gp/test:v2 localhost/other:latest >> "$out/build.log" 2>&1 ||
      ok_setup=false
  fi
  if ! $ok_setup && [ "$driver" = overlay ] &&
     grep -qi -e 'overlay' -e 'mount' -e 'not supported' "$out/load.log" "$out/build.log" 2> /dev/null; then
    # the kernel's overlay support is not ours to require: a plain skip
    i=0
    while [ $i -lt $per_driver ]; do
      echo "ok $((gp_tap_n + 1)) # SKIP overlay: podman cannot use it here: $(tail -1 "$out/build.log" "$out/load.log" 2>/dev/null | tr '\n' ' ')"
      gp_tap_n=$((gp_tap_n + 1))
      i=$((i + 1))
    done
    continue
  fi
  if ! $ok_setup; then
    cat "$out/load.log" "$out/build.log" 2>/dev/null | sed 's/^/# /'
    bail_out "$driver: podman cannot load or build here (see above)"
  fi
  # podman save of the same names (with no podman left running after)
  prefix=$(pm "$root" "$driver" images --no-trunc --format '{{.ID}}' localhost/gp/test:v1 | sed 's/^sha256://' | cut -c1-12)
  names="$names_docker $prefix"
  [ "$driver" = vfs ] && names_vfs=$names
  pm "$root" "$driver" save -q -m --format docker-archive -o "$out/podman.tar" $names > "$out/podman-save.log" 2>&1
  ok_eq $? 0 "$driver: podman save docker-archive of $names" || sed 's/^/# /' "$out/podman-save.log"
  for n in busybox gp/test:v1 other; do
    f=$(echo "$n" | tr '/:' '__')
    pm "$root" "$driver" save -q --format oci-archive -o "$out/podman-$f.oci.tar" "$n" > "$out/podman-save.log" 2>&1 ||
      { sed 's/^/# /' "$out/podman-save.log"; bail_out "$driver: podman save --format oci-archive $n failed"; }
  done
  # podman's own answers for names that need its lookup rules: a short
  # name two registries hold (podman takes the image it lists first), a
  # path suffix, docker.io normalisation, digests, an ID prefix
  pm "$root" "$driver" tag gp/test:v2 quay.io/a/tool:1 > /dev/null &&
  pm "$root" "$driver" tag gp/test:v1 example.com/b/tool:1 > /dev/null ||
    bail_out "$driver: podman tag failed"
  digest=$(pm "$root" "$driver" image inspect --format '{{.Digest}}' gp/test:v1)
  full=$(pm "$root" "$driver" image inspect --format '{{.Id}}' gp/test:v2 | sed 's/^sha256://')
  lookups="tool:1 b/tool:1 a/tool:1 busybox gp/test:v1 localhost/gp/test@$digest test@$digest $prefix sha256:$full $full"
  : > "$out/lookups.podman"
  for n in $lookups; do
    echo "$n $(pm "$root" "$driver" image inspect --format '{{.Id}}' "$n" 2>&1 | sed 's/^sha256://')" >> "$out/lookups.podman"
  done
  ids=$(pm "$root" "$driver" images --no-trunc --format '{{.ID}}' | sed 's/^sha256://' | sort -u)
  for id in $ids; do
    echo "sha256:$id $(pm "$root" "$driver" image inspect --format '{{.Digest}}' "$id")"
  done > "$out/manifest-digests"
  for n in busybox gp/test:v1 other; do
    pm "$root" "$driver" image inspect --format '{{.Id}}' "$n" | sed 's/^sha256://' > "$out/id-$(echo "$n" | tr '/:' '__')"
  done
  if pgrep -x podman > /dev/null 2>&1 && [ -n "$(pgrep -a podman | grep -F -- "$root")" ]; then
    bail_out "$driver: a podman process still uses $root"
  fi

  fx_snapshot "$root" ctime > "$out/root.before"

  # graphpipe save, docker-archive
  "$GRAPHPIPE" save -q --root "$root" -o "$out/gp.tar" $names > "$out/gp.log" 2>&1
  ok_eq $? 0 "$driver: graphpipe save (auto-detected containers-storage) of $names" || sed 's/^/# /' "$out/gp.log"
  archive_digests "$out/podman.tar" > "$out/podman.digests"
  archive_digests "$out/gp.tar" > "$out/gp.digests"
  ok_eq "$(wc -l < "$out/gp.digests")" "$(echo "$ids" | wc -l)" "$driver: docker-archive: every image of the root (the names reach them all)"
  if cmp -s "$out/podman.digests" "$out/gp.digests"; then
    ok "$driver: docker-archive: config bytes and layer digests equal podman save's"
  else
    not_ok "$driver: docker-archive: config bytes and layer digests equal podman save's"
    diff "$out/podman.digests" "$out/gp.digests" | sed 's/^/# /'
  fi
  # the layer tars, byte for byte: podman's, and the golden tarballs'
  mkdir -p "$out/layers-podman" "$out/layers-gp" "$out/layers-golden"
  layer_files "$out/podman.tar" "$out/layers-podman"
  layer_files "$out/gp.tar" "$out/layers-gp"
  for g in $golden_tars; do
    layer_files "$tmp/$g.tar" "$out/layers-golden"
  done
  same=true
  for f in "$out/layers-podman"/*.tar; do
    cmp -s "$f" "$out/layers-gp/$(basename "$f")" || { same=false; diag "differs: $(basename "$f")"; }
  done
  $same && [ "$(ls "$out/layers-podman" | wc -l)" = "$(ls "$out/layers-gp" | wc -l)" ]
  ok_eq $? 0 "$driver: every layer tar is byte-identical to podman save's ($(ls "$out/layers-gp" | wc -l) layers)"
  same=true
  for f in "$out/layers-golden"/*.tar; do
    cmp -s "$f" "$out/layers-gp/$(basename "$f")" || { same=false; diag "golden layer missing or different: $(basename "$f")"; }
  done
  $same
  ok_eq $? 0 "$driver: the golden tarballs' layer tars come out byte-identical ($(ls "$out/layers-golden" | wc -l) layers)"
  # the built image's features are in its layers
  python3 - "$out/gp.tar" > "$out/features" <<'EOF'
import io, json, sys, tarfile
t = tarfile.open(sys.argv[1])
seen = set()
for e in json.loads(t.extractfile("manifest.json").read()):
    for l in e["Layers"]:
        for m in tarfile.open(fileobj=io.BytesIO(t.extractfile(l).read()), encoding="utf-8", errors="surrogateescape"):
            if m.islnk(): seen.add("hardlink")
            if m.name.rsplit("/", 1)[-1].startswith(".wh.") and m.name.endswith(".wh..wh..opq"): seen.add("opaque")
            elif m.name.rsplit("/", 1)[-1].startswith(".wh."): seen.add("whiteout")
            if len(m.name.encode("utf-8", "surrogateescape")) > 100: seen.add("long")
            if any(k.startswith("SCHILY.xattr.user.graphpipe") for k in m.pax_headers): seen.add("xattr")
            try: m.name.encode("utf-8")
            except UnicodeEncodeError: seen.add("non-utf8")
print(" ".join(sorted(seen)))
EOF
  ok_eq "$(cat "$out/features")" "hardlink long non-utf8 opaque whiteout xattr" \
    "$driver: the saved layers hold hard links, long and non-UTF-8 names, an opaque dir, whiteouts, an xattr"

  # the stored manifest travels with an image when its blobs are the
  # uncompressed tars (images podman built): podman's manifest digest,
  # blobs the layer tars of podman save
  "$CSIMAGES" "$root" $names > "$out/published" 2> "$out/published.log"
  python3 - "$out/published" "$out/manifest-digests" "$out/podman.digests" "$(cat "$out/id-gp_test_v1")" > "$out/manifests.check" <<'EOF'
import sys
pub = [l.split() for l in open(sys.argv[1])]
podman = dict(l.split() for l in open(sys.argv[2]))
layers = {l.split()[0]: l.split()[1:] for l in open(sys.argv[3])}
bad = []
attached = set()
for img, mtype, mdigest, *blobs in pub:
    if mdigest == "-":
        continue
    attached.add(img)
    if podman.get(img) != mdigest:
        bad.append("%s: manifest %s, podman's %s" % (img, mdigest, podman.get(img)))
    if blobs != layers.get(img):
        bad.append("%s: blobs %s, podman save's layers %s" % (img, blobs, layers.get(img)))
if "sha256:" + sys.argv[4] not in attached:
    bad.append("gp/test:v1 has no manifest attached")
print("\n".join(bad) if bad else "ok %d" % len(attached))
EOF
  case $(cat "$out/manifests.check") in
    "ok "*) ok "$driver: stored manifests attached to $(cut -d' ' -f2 "$out/manifests.check") images are podman's, their blobs the layer tars" ;;
    *) not_ok "$driver: stored manifests attached are podman's, their blobs the layer tars"
       sed 's/^/# /' "$out/manifests.check" "$out/published.log" ;;
  esac

  # each lookup name alone: the image podman finds
  : > "$out/lookups.gp"
  for n in $lookups; do
    "$GRAPHPIPE" save -q --root "$root" -o "$out/lookup.tar" "$n" > "$out/gp.log" 2>&1 &&
      echo "$n $(archive_digests "$out/lookup.tar" | cut -d' ' -f1 | sed 's/^sha256://')" >> "$out/lookups.gp" ||
      echo "$n $(tail -1 "$out/gp.log")" >> "$out/lookups.gp"
  done
  if cmp -s "$out/lookups.podman" "$out/lookups.gp"; then
    ok "$driver: names resolve to the images podman resolves them to ($lookups)"
  else
    not_ok "$driver: names resolve to the images podman resolves them to"
    diff "$out/lookups.podman" "$out/lookups.gp" | sed 's/^/# /'
  fi

  # graphpipe save, oci-archive, one image each (podman 4.3 writes one)
  for n in busybox gp/test:v1 other; do
    f=$(echo "$n" | tr '/:' '__')
    "$GRAPHPIPE" save -q --source containers-storage --format oci-archive --root "$root" \
      -o "$out/gp-$f.oci.tar" "$n" > "$out/gp.log" 2>&1
    ok_eq $? 0 "$driver: graphpipe save --format oci-archive $n" || sed 's/^/# /' "$out/gp.log"
    archive_digests "$out/podman-$f.oci.tar" > "$out/podman-$f.oci.digests"
    archive_digests "$out/gp-$f.oci.tar" > "$out/gp-$f.oci.digests"
    # podman converts a Docker-format config to an OCI one (new bytes, new
    # ID); graphpipe keeps the config as stored: its digest is the image ID
    id=$(cat "$out/id-$f")
    pconfig=$(cut -d' ' -f1 "$out/podman-$f.oci.digests")
    gconfig=$(cut -d' ' -f1 "$out/gp-$f.oci.digests")
    if [ "$pconfig" != "sha256:$id" ]; then
      diag "podman converted $n's config for OCI ($pconfig, image ID $id): comparing layers only"
      sed -i "s/^[^ ]*/sha256:$id/" "$out/podman-$f.oci.digests"
    fi
    if [ -s "$out/gp-$f.oci.digests" ] && [ "$gconfig" = "sha256:$id" ] &&
       cmp -s "$out/podman-$f.oci.digests" "$out/gp-$f.oci.digests"; then
      ok "$driver: oci-archive $n: config bytes (as stored) and layer digests equal podman save's"
    else
      not_ok "$driver: oci-archive $n: config bytes (as stored) and layer digests equal podman save's"
      diff "$out/podman-$f.oci.digests" "$out/gp-$f.oci.digests" | sed 's/^/# /'
    fi
  done

  # nothing written to the store
  fx_snapshot "$root" ctime > "$out/root.after"
  cmp -s "$out/root.before" "$out/root.after"
  ok_eq $? 0 "$driver: the store is unchanged (contents, modes, times, ctimes)" ||
    diff "$out/root.before" "$out/root.after" | head -10 | sed 's/^/# /'

  # a fresh podman root loads what graphpipe wrote, with the same IDs
  fresh=$tmp/$driver/fresh
  pm "$fresh" vfs load -q -i "$out/gp.tar" > "$out/fresh.log" 2>&1
  ok_eq $? 0 "$driver: podman loads graphpipe's docker-archive into a fresh root" || sed 's/^/# /' "$out/fresh.log"
  got=$(pm "$fresh" vfs images --no-trunc --format '{{.ID}}' | sed 's/^sha256://' | sort -u)
  ok_eq "$got" "$ids" "$driver: ... with the same image IDs as the source root"
  pm "$fresh" vfs rmi -a -f > /dev/null 2>&1
  for n in busybox gp/test:v1; do
    f=$(echo "$n" | tr '/:' '__')
    pm "$fresh" vfs load -q -i "$out/gp-$f.oci.tar" > "$out/fresh.log" 2>&1
    ok_eq $? 0 "$driver: podman loads graphpipe's oci-archive of $n" || sed 's/^/# /' "$out/fresh.log"
    want=$(cat "$out/id-$f")
    got=$(pm "$fresh" vfs images --no-trunc --format '{{.ID}}' | sed 's/^sha256://' | sort -u | tr '\n' ' ')
    case " $got" in
      *" $want "*) ok "$driver: ... image $n keeps its ID" ;;
      *) not_ok "$driver: ... image $n keeps its ID ($want not in: $got)" ;;
    esac
  done
  pm "$fresh" vfs rmi -a -f > /dev/null 2>&1

  # a read-only bind mount of the root: the same bytes
  mkdir -p "$tmp/ro"
  unshare -m sh -c 'mount --bind "$1" "$2" && mount -o remount,bind,ro "$2" &&
                    touch "$2/probe" 2> /dev/null && exit 3
                    exec "$3" save -q --root "$2" -o "$4" $5' sh \
    "$root" "$tmp/ro" "$GRAPHPIPE" "$out/gp-ro.tar" "$names" > "$out/ro.log" 2>&1
  rc=$?
  ok_eq $rc 0 "$driver: graphpipe save from a read-only bind mount of the root" || sed 's/^/# /' "$out/ro.log"
  cmp -s "$out/gp.tar" "$out/gp-ro.tar"
  ok_eq $? 0 "$driver: ... writes the same bytes"

  # graphpipe verify: clean, then one file of one layer damaged (on a copy)
  "$GRAPHPIPE" verify -q --root "$root" > "$out/verify.log" 2>&1
  ok_eq $? 0 "$driver: graphpipe verify on the podman root" || sed 's/^/# /' "$out/verify.log"
  fx_snapshot "$root" ctime > "$out/root.after"
  cmp -s "$out/root.before" "$out/root.after"
  ok_eq $? 0 "$driver: verify writes nothing" ||
    diff "$out/root.before" "$out/root.after" | head -10 | sed 's/^/# /'
done

# btrfs: the layers are subvolumes; a copy of the root on a plain file
# system reads the same; a root holding two drivers' stores; damage.
if [ -z "$btrfs_why" ]; then
  broot=$tmp/btrfs/fs/root
  out=$tmp/btrfs
  layers=$(python3 -c 'import json,sys; print(" ".join(l["id"] for l in json.load(open(sys.argv[1]))))' "$broot/btrfs-layers/layers.json")
  subvols=0
  for l in $layers; do
    # a subvolume's root directory is inode 256
    [ "$(stat -c %i "$broot/btrfs/subvolumes/$l" 2> /dev/null)" = 256 ] && subvols=$((subvols + 1))
  done
  ok_eq "$subvols" "$(echo $layers | wc -w)" "btrfs: every layer of btrfs-layers/layers.json is a subvolume btrfs/subvolumes/<id>"
  copy=$tmp/btrfs/copy
  cp -a "$broot" "$copy" || bail_out "cannot copy the btrfs root to $copy"
  [ "$(stat -f -c %T "$copy")" != btrfs ] || diag "the copy is on btrfs too"
  "$GRAPHPIPE" save -q --root "$copy" -o "$out/gp-copy.tar" $names > "$out/gp.log" 2>&1
  ok_eq $? 0 "btrfs: graphpipe save from a copy of the root on $(stat -f -c %T "$copy") (cp -a)" ||
    sed 's/^/# /' "$out/gp.log"
  cmp -s "$out/gp.tar" "$out/gp-copy.tar"
  ok_eq $? 0 "btrfs: ... writes the bytes it writes from the btrfs root"
  "$GRAPHPIPE" verify -q --root "$copy" > "$out/verify.log" 2>&1
  ok_eq $? 0 "btrfs: graphpipe verify on the copy" || sed 's/^/# /' "$out/verify.log"
  # the vfs root's stores beside the btrfs ones
  cp -a "$tmp/vfs/root/vfs-images" "$tmp/vfs/root/vfs-layers" "$tmp/vfs/root/vfs" "$copy/" ||
    bail_out "cannot add the vfs stores to $copy"
  "$GRAPHPIPE" save --progress=none --root "$copy" -o "$out/bad.tar" busybox > "$out/bad.log" 2>&1
  ok_eq $? 1 "btrfs: a root with vfs and btrfs image stores and no --driver: exit 1"
  ok_grep "$out/bad.log" "image stores of several drivers (vfs, btrfs): choose one with --driver" \
    "btrfs: ... naming both drivers"
  "$GRAPHPIPE" save -q --root "$copy" --driver btrfs -o "$out/gp-copy.tar" $names > "$out/gp.log" 2>&1 &&
    cmp -s "$out/gp.tar" "$out/gp-copy.tar"
  ok_eq $? 0 "btrfs: --driver btrfs on that root: the btrfs root's bytes" || sed 's/^/# /' "$out/gp.log"
  "$GRAPHPIPE" save -q --root "$copy" --driver vfs -o "$out/gp-copy.tar" $names_vfs > "$out/gp.log" 2>&1 &&
    cmp -s "$tmp/vfs/gp.tar" "$out/gp-copy.tar"
  ok_eq $? 0 "btrfs: --driver vfs on that root: the vfs root's bytes" || sed 's/^/# /' "$out/gp.log"
  # damage (on the copy): a layer's subvolume gone, a file of one changed
  btop=$(python3 -c 'import json,sys; print([i["layer"] for i in json.load(open(sys.argv[1])) if "localhost/gp/test:v1" in i.get("names", [])][0])' "$broot/btrfs-images/images.json")
  f=$(find "$copy/btrfs/subvolumes/$btop/data" -name file | head -1)
  echo tampered >> "$f"
  "$GRAPHPIPE" verify --progress=none --root "$copy" --driver btrfs > "$out/bad.log" 2>&1
  rc=$?
  ok_eq "$rc:$(grep -q -F "$btop" "$out/bad.log" && echo named)" "1:named" "btrfs: verify on a copy with a changed file in a layer: exit 1, the layer named" ||
    sed 's/^/# /' "$out/bad.log"
  rm -rf "$copy/btrfs/subvolumes/$btop"
  "$GRAPHPIPE" save --progress=none --root "$copy" --driver btrfs -o "$out/bad.tar" gp/test:v1 > "$out/bad.log" 2>&1
  ok_eq "$?:$([ -e "$out/bad.tar" ] && echo written)" "1:" "btrfs: save from a copy with a layer's subvolume gone: exit 1, no output file"
  ok_grep "$out/bad.log" "btrfs/subvolumes/$btop: layer directory does not exist" "btrfs: ... the reason is named"
  # unmounted and detached (also done by the exit trap)
  gp_btrfs_release
  ok_eq "$(awk -v w="$tmp/" 'index($2, w) == 1' /proc/mounts)$(losetup -n -O NAME -j "$tmp/btrfs.img")" "" \
    "btrfs: the file system unmounts and its loop device detaches"
fi

# Crashed and hostile stores, on copies of the vfs root.
vroot=$tmp/vfs/root
top=$(python3 -c 'import json,sys; print([i["layer"] for i in json.load(open(sys.argv[1])) if "localhost/gp/test:v1" in i.get("names", [])][0])' "$vroot/vfs-images/images.json")
testid=$(python3 -c 'import json,sys; print([i["id"] for i in json.load(open(sys.argv[1])) if "localhost/gp/test:v1" in i.get("names", [])][0])' "$vroot/vfs-images/images.json")
# damage KIND: a copy of the vfs root damaged one way, in $tmp/bad
damage () {
  rm -rf "$tmp/bad" && cp -a "$vroot" "$tmp/bad" || return 1
  case $1 in
    incomplete)
      python3 - "$tmp/bad/vfs-layers/layers.json" "$top" <<'EOF'
import json, sys
l = json.load(open(sys.argv[1]))
for e in l:
    if e["id"] == sys.argv[2]: e["flags"] = {"incomplete": True}
json.dump(l, open(sys.argv[1], "w"))
EOF
      ;;
    no-tar-split) rm "$tmp/bad/vfs-layers/$top.tar-split.gz" ;;
    no-layer-dir) rm -rf "$tmp/bad/vfs/dir/$top" ;;
    truncated) head -c 100 "$vroot/vfs-images/images.json" > "$tmp/bad/vfs-images/images.json" ;;
    layer-traversal)
      python3 - "$tmp/bad/vfs-images/images.json" "$testid" <<'EOF'
import json, sys
l = json.load(open(sys.argv[1]))
for e in l:
    if e["id"] == sys.argv[2]: e["layer"] = "../../../../etc"
json.dump(l, open(sys.argv[1], "w"))
EOF
      ;;
    entry-traversal)
      # a tar-split file entry named ../../../etc/passwd, its size and CRC kept
      python3 - "$tmp/bad/vfs-layers/$top.tar-split.gz" <<'EOF'
import gzip, json, sys
lines = gzip.open(sys.argv[1]).read().splitlines()
out = []
done = False
for ln in lines:
    e = json.loads(ln)
    if not done and e["type"] == 1 and e.get("size", 0) > 0:
        e["name"] = "../../../../../../../../etc/passwd"; done = True
    out.append(json.dumps(e, separators=(",", ":")).encode())
gzip.open(sys.argv[1], "wb").write(b"\n".join(out) + b"\n")
EOF
      ;;
    config-changed)
      f="$tmp/bad/vfs-images/$testid/=$(printf 'sha256:%s' "$testid" | base64 -w0)"
      [ -f "$f" ] || return 1
      printf ' ' >> "$f"
      ;;
    chain)
      python3 - "$tmp/bad/vfs-layers/layers.json" "$top" <<'EOF'
import json, sys
l = json.load(open(sys.argv[1]))
for e in l:
    if e["id"] == sys.argv[2]: e["diff-digest"] = "sha256:" + "0" * 64
json.dump(l, open(sys.argv[1], "w"))
EOF
      ;;
    wrong-type)
      python3 - "$tmp/bad/vfs-images/images.json" "$testid" <<'EOF'
import json, sys
l = json.load(open(sys.argv[1]))
for e in l:
    if e["id"] == sys.argv[2]: e["names"] = 5
json.dump(l, open(sys.argv[1], "w"))
EOF
      ;;
    layer-content) f=$(find "$tmp/bad/vfs/dir/$top/data" -name file | head -1); echo tampered >> "$f" ;;
  esac
}
for kind in incomplete no-tar-split no-layer-dir truncated layer-traversal entry-traversal config-changed chain wrong-type; do
  damage $kind || bail_out "cannot damage a copy of the vfs root ($kind)"
  "$GRAPHPIPE" save --progress=none --root "$tmp/bad" -o "$tmp/bad.tar" gp/test:v1 busybox > "$tmp/bad.log" 2>&1
  ok_eq $? 1 "crashed store ($kind): exit 1" || sed 's/^/# /' "$tmp/bad.log"
  [ ! -e "$tmp/bad.tar" ]
  ok_eq $? 0 "crashed store ($kind): no output file"
  case $kind in
    incomplete) want="flagged incomplete" ;;
    no-tar-split) want="$top.tar-split.gz" ;;
    no-layer-dir) want="vfs/dir/$top: layer directory does not exist" ;;
    truncated) want="vfs-images/images.json: not valid JSON" ;;
    layer-traversal) want='"../../../../etc" is not a valid ID' ;;
    entry-traversal) want="etc/passwd" ;;
    config-changed) want="config digest is" ;;
    chain) want="has diff digest sha256:0000" ;;
    wrong-type) want='"names" is not an array' ;;
  esac
  ok_grep "$tmp/bad.log" "$want" "crashed store ($kind): the reason is named ($want)"
done
# A rootless store has the same layout, its files owned by the user's
# mapped IDs (container root = the user, the rest subordinate IDs): the
# tar headers come from the tar-split, so the bytes must not change.
rm -rf "$tmp/rootless" && mkdir -p "$tmp/rootless/.local/share/containers" &&
  cp -a "$vroot" "$tmp/rootless/.local/share/containers/storage" &&
  chown -R -h 1000:1000 "$tmp/rootless/.local/share/containers/storage" &&
  find "$tmp/rootless/.local/share/containers/storage/vfs/dir" -mindepth 2 -exec chown -h 100999:100999 {} + ||
  bail_out "cannot lay out a rootless copy of the vfs root"
"$GRAPHPIPE" save -q --root "$tmp/rootless/.local/share/containers/storage" -o "$tmp/rootless.tar" $names_vfs > "$tmp/bad.log" 2>&1
ok_eq $? 0 "a rootless layout (files owned by mapped IDs): graphpipe save" || sed 's/^/# /' "$tmp/bad.log"
cmp -s "$tmp/vfs/gp.tar" "$tmp/rootless.tar"
ok_eq $? 0 "... writes the bytes it writes from the rootful store"
rm -rf "$tmp/rootless" "$tmp/rootless.tar"

# a --driver whose store is not there
"$GRAPHPIPE" save --progress=none --root "$vroot" --driver overlay -o "$tmp/bad.tar" busybox > "$tmp/bad.log" 2>&1
ok_eq $? 1 "--driver overlay on a vfs-only root: exit 1"
ok_grep "$tmp/bad.log" "no overlay-images store" "... naming the missing store"
"$GRAPHPIPE" save --progress=none --root "$vroot" --driver btrfs -o "$tmp/bad.tar" busybox > "$tmp/bad.log" 2>&1
ok_eq "$?:$(grep -c -F "no btrfs-images store (--driver btrfs)" "$tmp/bad.log")" "1:1" \
  "--driver btrfs on a vfs-only root: exit 1, naming the missing store"
"$GRAPHPIPE" save --progress=none --root "$vroot" --driver zfs -o "$tmp/bad.tar" busybox > "$tmp/bad.log" 2>&1
ok_eq "$?:$(grep -c -F "driver 'zfs' is not supported (overlay, vfs, btrfs)" "$tmp/bad.log")" "1:1" \
  "--driver zfs: exit 1, the drivers read listed"
# per image: the good image named with the bad one fails the run, only
# the bad one is reported
damage incomplete
"$GRAPHPIPE" save --progress=none --root "$tmp/bad" -o "$tmp/bad.tar" busybox gp/test:v1 > "$tmp/bad.log" 2>&1
ok_grep "$tmp/bad.log" "1 of 2 images cannot be read" "crashed store: the count of unreadable images"
ok_grep "$tmp/bad.log" "localhost/gp/test:v1" "crashed store: the unreadable image is named"
ok_no_grep "$tmp/bad.log" "localhost/busybox:latest (" "crashed store: the readable image is not reported"
"$GRAPHPIPE" verify --progress=none --root "$tmp/bad" > "$tmp/bad.log" 2>&1
ok_eq $? 1 "verify on a store with an incomplete layer: exit 1"
damage layer-content
"$GRAPHPIPE" verify --progress=none --root "$tmp/bad" > "$tmp/bad.log" 2>&1
ok_eq $? 1 "verify on a store with a changed layer file: exit 1"
ok_grep "$tmp/bad.log" "$top" "verify names the damaged layer"

done_testing
