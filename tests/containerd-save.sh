#!/bin/bash
# graphpipe save from a containerd root, offline (stages/containerd),
# against containerd 1.6 and Docker 20.10 themselves.  TAP.
#
# A private containerd imports the golden docker saves (namespaces
# default, team, moby), an OCI archive of a two-platform index with gzip
# layers and one with a zstd layer, and exports them with `ctr images
# export`; then it is stopped and graphpipe reads its root:
# - OCI output carries exactly the blobs ctr exports (index, manifest,
#   config, layers, byte for byte) and index.json names the same target;
# - docker-archive output loads into a private Docker 20.10 daemon with
#   the image IDs (config digests) ctr's export names;
# - with --allow-rebuild, a layer whose blob is gone is rebuilt from its
#   snapshot (a warning), and must still match its DiffID;
# - --platform picks another manifest of the index, --namespace the
#   namespace; a name in several namespaces is an error listing them;
# - the root is found under a Docker data root (containerd/daemon) and a
#   disk's /var/lib (docker/containerd/daemon), read as Docker names them,
#   also when the Docker root has an image/ directory without images
#   (Docker 29's containerd image store), and beside it (a Docker root
#   whose images are in the distribution's /var/lib/containerd);
# - a damaged blob, a missing blob and a truncated meta.db give clear
#   errors and no output; nothing under the root changes.
set -u

top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=$(cd "${GP_TOP_BUILDDIR:-.}" && pwd)
GRAPHPIPE=${GRAPHPIPE:-$top_builddir/graphpipe}
shared=${GP_SHARED_DIR:-$top_builddir/tests/shared}
golden=$shared/golden/public

. "$top_srcdir/tests/migrate-tap.sh"
. "$top_srcdir/tests/containerd-lib.sh"

plan 67
if why=$(ctrd_missing); then
  skip_all "$why"
fi
for p in dockerd docker zstd; do
  command -v $p > /dev/null || skip_all "$p not installed"
done
[ -f "$golden/save-busybox_latest.tar.gz" ] || skip_all "no golden data under $golden"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gp-ctrd-save-XXXXXX") || exit 99
trap 'ctrd_stop; dockerd_stop; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

mk_oci_archive () {
  local out=$1 name=$2 comp=$3
  shift 3
  local dir
  dir=$(mktemp -d "$tmp/oci-XXXXXX")
  mkdir -p "$dir/blobs/sha256"
  # blob FILE: moves FILE into the layout; prints "digest size"
  blob () {
    local h s
    h=$(sha256sum "$1" | cut -d' ' -f1)
    s=$(stat -c %s "$1")
    mv "$1" "$dir/blobs/sha256/$h"
    echo "sha256:$h $s"
  }
  local entries= p os arch variant plat_json
  for p in "$@"; do
    IFS=/ read -r os arch variant <<< "$p"
    mkdir -p "$dir/root"
    echo "$name $p" > "$dir/root/platform.txt"
    mkdir -p "$dir/root/etc" && echo "$p" > "$dir/root/etc/hostname"
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$dir/root" -cf "$dir/layer.tar" .
    rm -rf "$dir/root"
    local diff_id="sha256:$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)"
    local lmt
    case $comp in
      gzip) gzip -n -9 "$dir/layer.tar"; mv "$dir/layer.tar.gz" "$dir/layer"; lmt=application/vnd.oci.image.layer.v1.tar+gzip ;;
      zstd) zstd -q --rm -19 "$dir/layer.tar" -o "$dir/layer"; lmt=application/vnd.oci.image.layer.v1.tar+zstd ;;
    esac
    local ld ls
    read -r ld ls <<< "$(blob "$dir/layer")"
    plat_json="\"architecture\":\"$arch\",\"os\":\"$os\""
    [ -n "$variant" ] && plat_json="$plat_json,\"variant\":\"$variant\""
    printf '{%s,"config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["%s"]}}' \
      "$plat_json" "$diff_id" > "$dir/config"
    local cd cs
    read -r cd cs <<< "$(blob "$dir/config")"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"%s","digest":"%s","size":%s}]}' \
      "$cd" "$cs" "$lmt" "$ld" "$ls" > "$dir/manifest"
    local md ms
    read -r md ms <<< "$(blob "$dir/manifest")"
    entries="$entries${entries:+,}{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$md\",\"size\":$ms,\"platform\":{$plat_json}}"
  done
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s]}' "$entries" > "$dir/index"
  local id is
  read -r id is <<< "$(blob "$dir/index")"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$id" "$is" "$name" "${name##*:}" > "$dir/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' > "$dir/oci-layout"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$dir" -cf "$out" oci-layout index.json blobs
  rm -rf "$dir"
}

# ---- containerd imports and exports ----
gunzip -c "$golden/save-busybox_latest.tar.gz" > "$tmp/busybox.tar"
gunzip -c "$golden/save-myapp_v1+busybox_1.0.variant1.tar.gz" > "$tmp/myapp.tar"
mk_oci_archive "$tmp/multi.tar" example.com/gp/multi:1 gzip linux/amd64 linux/arm64/v8
mk_oci_archive "$tmp/zstd.tar" example.com/gp/zstd:1 zstd linux/amd64
ctrd_start "$tmp/ctrd" || skip_all "containerd does not start here"
{
  ctr -n default images import "$tmp/busybox.tar" &&
    ctr -n default images import --all-platforms "$tmp/multi.tar" &&
    ctr -n default images import "$tmp/zstd.tar" &&
    ctr -n team images import "$tmp/myapp.tar" &&
    ctr -n team images import "$tmp/busybox.tar" &&
    ctr -n moby images import "$tmp/busybox.tar" &&
    ctr -n default images export "$tmp/ctr-busybox.tar" docker.io/library/busybox:latest &&
    ctr -n team images export "$tmp/ctr-myapp.tar" docker.io/library/myapp:v1 &&
    ctr -n team images export "$tmp/ctr-two.tar" docker.io/library/myapp:v1 docker.io/library/busybox:1.0 &&
    ctr -n default images export "$tmp/ctr-multi.tar" example.com/gp/multi:1 &&
    ctr -n default images export --platform linux/arm64 "$tmp/ctr-multi-arm64.tar" example.com/gp/multi:1 &&
    ctr -n default images export "$tmp/ctr-zstd.tar" example.com/gp/zstd:1
} > "$tmp/ctr.log" 2>&1
ok_eq "$?" 0 "ctr imports the golden saves and the OCI archives, and exports them" ||
  sed 's/^/#   /' "$tmp/ctr.log"
ctrd_stop
root=$tmp/ctrd/root
state_before=$(cd "$root" && find . -printf '%p %s %T@\n' | LC_ALL=C sort | sha256sum)

# ---- OCI: exactly ctr's blobs ----
# oci_case LABEL CTR_EXPORT GRAPHPIPE_ARGS...
oci_case () {
  local label=$1 want=$2
  shift 2
  local out=$tmp/oci-$label
  mkdir -p "$tmp/ctr-$label"
  tar -C "$tmp/ctr-$label" -xf "$want"
  "$GRAPHPIPE" save -q --root "$root" --format oci-dir -o "$out" "$@" > "$tmp/log" 2>&1
  if ! ok_eq "$?" 0 "$label: graphpipe save --format oci-dir $*"; then
    sed 's/^/#   /' "$tmp/log"
    not_ok "$label: blobs as ctr images export"
    not_ok "$label: index.json names ctr's targets"
    return
  fi
  ok_eq "$(cd "$out/blobs/sha256" && sha256sum * | LC_ALL=C sort)" \
    "$(cd "$tmp/ctr-$label/blobs/sha256" && sha256sum * | LC_ALL=C sort)" \
    "$label: blobs (index, manifest, config, layers) byte for byte as ctr images export"
  targets () { grep -o '"digest":"sha256:[0-9a-f]*"' "$1/index.json" | LC_ALL=C sort -u; }
  ok_eq "$(targets "$out")" "$(targets "$tmp/ctr-$label")" "$label: index.json names ctr's targets"
}
oci_case busybox "$tmp/ctr-busybox.tar" --namespace default busybox
oci_case myapp "$tmp/ctr-myapp.tar" docker.io/library/myapp:v1
oci_case multi "$tmp/ctr-multi.tar" --platform linux/amd64 example.com/gp/multi:1
oci_case multi-arm64 "$tmp/ctr-multi-arm64.tar" --platform linux/arm64 example.com/gp/multi:1
oci_case zstd "$tmp/ctr-zstd.tar" example.com/gp/zstd:1
oci_case two "$tmp/ctr-two.tar" --namespace team myapp:v1 busybox:1.0

# oci-archive, to a file (positioned writes) and to a pipe: the same blobs
"$GRAPHPIPE" save -q --root "$root" --format oci-archive -o "$tmp/multi.oci.tar" \
  --platform linux/arm64 example.com/gp/multi:1 > "$tmp/log" 2>&1 &&
  "$GRAPHPIPE" save -q --root "$root" --format oci-archive -o - example.com/gp/zstd:1 \
    2> "$tmp/log" | cat > "$tmp/zstd.oci.tar"
ok_eq "$?" 0 "oci-archive to a file and to a pipe" || sed 's/^/#   /' "$tmp/log"
for c in multi:multi-arm64 zstd:zstd; do
  mkdir -p "$tmp/x-${c%%:*}"
  tar -C "$tmp/x-${c%%:*}" -xf "$tmp/${c%%:*}.oci.tar"
  ok_eq "$(cd "$tmp/x-${c%%:*}/blobs/sha256" && sha256sum * | LC_ALL=C sort)" \
    "$(cd "$tmp/ctr-${c#*:}/blobs/sha256" && sha256sum * | LC_ALL=C sort)" \
    "oci-archive ${c%%:*}: blobs byte for byte as ctr images export"
done

# ---- --allow-rebuild: a garbage-collected blob, its snapshot kept ----
# myapp:v1's empty layers (the 1024-byte end-of-archive tar, blob =
# DiffID sha256:5f70bf18...) are rebuilt from their snapshots by Docker's
# archiver with the same DiffID; busybox's first layer (a tar of 2015)
# is not, and the image fails.
empty=5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef
rebuild=$tmp/rebuild
cp -a "$root" "$rebuild"
rm -f "$rebuild/io.containerd.content.v1.content/blobs/sha256/$empty"
"$GRAPHPIPE" save -q --root "$rebuild" -o "$tmp/rb0.tar" myapp:v1 > "$tmp/log" 2>&1
[ $? != 0 ] && [ ! -e "$tmp/rb0.tar" ]
ok_eq "$?" 0 "a garbage-collected layer blob fails without --allow-rebuild"
ok_grep "$tmp/log" "blob sha256:$empty is not in the content store" "the error names the blob"
"$GRAPHPIPE" save --root "$rebuild" --allow-rebuild -o "$tmp/rebuilt.docker.tar" myapp:v1 > "$tmp/rb.log" 2>&1
ok_eq "$?" 0 "--allow-rebuild rebuilds it from its snapshot" || sed 's/^/#   /' "$tmp/rb.log"
ok_grep "$tmp/rb.log" "is gone; rebuilt from snapshot $rebuild/io.containerd.snapshotter.v1.overlayfs/snapshots/" \
  "with a warning naming the snapshot"
first=$(tar -xOf "$tmp/busybox.tar" manifest.json | grep -o '"[0-9a-f]*/layer.tar"' | head -1 | tr -d '"')
first=$(tar -xOf "$tmp/busybox.tar" "$first" | sha256sum | cut -d' ' -f1)
rm -f "$rebuild/io.containerd.content.v1.content/blobs/sha256/$first"
"$GRAPHPIPE" save -q --root "$rebuild" --allow-rebuild --namespace default -o "$tmp/rb1.tar" busybox > "$tmp/log" 2>&1
[ $? != 0 ] && [ ! -e "$tmp/rb1.tar" ]
ok_eq "$?" 0 "a rebuilt layer whose tar is not its DiffID fails the image"
ok_grep "$tmp/log" "layer sha256:$first rebuilt from snapshot" "the error names the layer and the snapshot"

# ---- docker-archive: Docker 20.10 loads it, same image IDs ----
# config_of CTR_EXPORT_DIR: the image ID (config digest) ctr's export names
config_of () { grep -o '"Config":"blobs/sha256/[0-9a-f]*"' "$1/manifest.json" | sed 's|.*/|sha256:|; s|"$||'; }
if dockerd_start "$tmp/docker"; then
  ok "a private Docker daemon runs"
  for c in "busybox --namespace default busybox:latest busybox:latest" \
           "myapp --namespace team myapp:v1 myapp:v1" \
           "multi --namespace default example.com/gp/multi:1 example.com/gp/multi:1" \
           "zstd --namespace default example.com/gp/zstd:1 example.com/gp/zstd:1"; do
    read -r label opt ns name dname <<< "$c"
    "$GRAPHPIPE" save -q --root "$root" $opt $ns -o "$tmp/$label.docker.tar" "$name" > "$tmp/log" 2>&1 &&
      docker load -i "$tmp/$label.docker.tar" > "$tmp/load.log" 2>&1
    if ok_eq "$?" 0 "$label: docker-archive written and loaded by Docker"; then
      ok_eq "$(docker inspect -f '{{.Id}}' "$dname" 2>&1)" "$(config_of "$tmp/ctr-$label")" \
        "$label: Docker's image ID is the config digest ctr exports"
    else
      sed 's/^/#   /' "$tmp/log" "$tmp/load.log"
      not_ok "$label: Docker's image ID is the config digest ctr exports"
    fi
  done
  docker rmi -f myapp:v1 > /dev/null 2>&1
  docker load -i "$tmp/rebuilt.docker.tar" > "$tmp/load.log" 2>&1
  ok_eq "$?" 0 "the image with a rebuilt layer loads into Docker" || sed 's/^/#   /' "$tmp/load.log"
  ok_eq "$(docker inspect -f '{{.Id}}' myapp:v1 2>&1)" "$(config_of "$tmp/ctr-myapp")" \
    "with the same image ID"
  dockerd_stop
else
  not_ok "a private Docker daemon runs"
fi

# ---- names, namespaces, platforms ----
"$GRAPHPIPE" save -q --root "$root" -o "$tmp/amb.tar" busybox:latest > "$tmp/log" 2>&1
rc=$?
[ $rc != 0 ] && [ ! -e "$tmp/amb.tar" ]
ok_eq "$?" 0 "a name in several namespaces fails (exit $rc), writing nothing"
ok_grep "$tmp/log" "busybox:latest: in several namespaces (default, moby, team): choose one with --namespace" \
  "the error lists the namespaces"
"$GRAPHPIPE" save -q --root "$root" -o "$tmp/one.tar" myapp:v1 > "$tmp/log" 2>&1
ok_eq "$?" 0 "a name in one namespace needs no --namespace" || sed 's/^/#   /' "$tmp/log"
"$GRAPHPIPE" save -q --root "$root" --platform linux/s390x -o "$tmp/s390x.tar" example.com/gp/multi:1 > "$tmp/log" 2>&1
[ $? != 0 ] && [ ! -e "$tmp/s390x.tar" ]
ok_eq "$?" 0 "a platform the index lacks fails"
ok_grep "$tmp/log" "no manifest for platform linux/s390x" "the error names the platform"
ok_grep "$tmp/log" "it has: linux/amd64, linux/arm64/v8" "and lists the index's platforms"

# ---- Docker's containerd store under a Docker root and a disk's /var/lib ----
mkdir -p "$tmp/dockerroot/containerd" "$tmp/varlib/docker/containerd"
cp -a "$root" "$tmp/dockerroot/containerd/daemon"
cp -a "$root" "$tmp/varlib/docker/containerd/daemon"
"$GRAPHPIPE" save -q --root "$root" --namespace moby -o "$tmp/moby.tar" busybox > "$tmp/log" 2>&1 &&
  "$GRAPHPIPE" save -q --root "$tmp/dockerroot" --namespace moby -o "$tmp/moby-dr.tar" busybox > "$tmp/log" 2>&1 &&
  "$GRAPHPIPE" save -q --root "$tmp/varlib" --namespace moby -o "$tmp/moby-vl.tar" busybox > "$tmp/log" 2>&1
ok_eq "$?" 0 "namespace moby read from the root, a Docker root and a disk's /var/lib (source auto)" ||
  sed 's/^/#   /' "$tmp/log"
cmp -s "$tmp/moby.tar" "$tmp/moby-dr.tar" && cmp -s "$tmp/moby.tar" "$tmp/moby-vl.tar"
ok_eq "$?" 0 "the same tarball each way"
tar -xOf "$tmp/moby.tar" manifest.json > "$tmp/moby-manifest.json" 2> /dev/null
ok_grep "$tmp/moby-manifest.json" '"docker.io/library/busybox:latest"' "the tag is the name containerd records"
# docker images shows the target's digest as the ID of an image of its
# containerd store: a prefix of it names the image (untagged)
target=$(grep -o '"digest":"sha256:[0-9a-f]*"' "$tmp/ctr-busybox/index.json" | head -1 | sed 's/.*sha256:\([0-9a-f]*\)"/\1/')
"$GRAPHPIPE" save -q --root "$tmp/dockerroot" --namespace moby -o "$tmp/moby-id.tar" "${target:0:12}" > "$tmp/log" 2>&1
ok_eq "$?" 0 "the ID docker images shows (the target's digest, 12 digits) names the image" ||
  sed 's/^/#   /' "$tmp/log"
tar -xOf "$tmp/moby-id.tar" manifest.json > "$tmp/moby-id.json" 2> /dev/null
ok_grep "$tmp/moby-id.json" "\"Config\":\"$(config_of "$tmp/ctr-busybox" | sed 's/sha256://').json\"" \
  "its config is the one ctr exports"

# Docker 29 with the containerd image store: image/overlay2/ exists but
# holds no image; detection goes by content (its containerd's namespace
# moby), so no --source is needed.  Once imagedb holds a config, the same
# root is a classic Docker root again.
mkdir -p "$tmp/dockerroot/image/overlay2/imagedb/content/sha256" "$tmp/dockerroot/image/overlay2/layerdb"
echo '{"Repositories":{}}' > "$tmp/dockerroot/image/overlay2/repositories.json"
"$GRAPHPIPE" save -q --root "$tmp/dockerroot" --namespace moby -o "$tmp/moby-d29.tar" busybox > "$tmp/log" 2>&1
ok_eq "$?" 0 "a Docker root with an empty image/overlay2/ is read from its containerd store" ||
  sed 's/^/#   /' "$tmp/log"
cmp -s "$tmp/moby.tar" "$tmp/moby-d29.tar"
ok_eq "$?" 0 "the same tarball as from the containerd root itself"
cfg=$(config_of "$tmp/ctr-busybox" | sed 's/sha256://')
tar -xOf "$tmp/moby.tar" "$cfg.json" > "$tmp/dockerroot/image/overlay2/imagedb/content/sha256/$cfg"
"$GRAPHPIPE" save -q --root "$tmp/dockerroot" --namespace moby -o "$tmp/moby-classic.tar" busybox > "$tmp/log" 2>&1
[ $? != 0 ] && [ ! -e "$tmp/moby-classic.tar" ]
ok_eq "$?" 0 "with an image config in imagedb it is a Docker root (docker-store), not containerd"
ok_grep "$tmp/log" "docker-store: No such image: busybox" "the error comes from the docker-store source"
rm -rf "$tmp/dockerroot/image"

# Docker 29 from its own packages: the distribution's containerd holds the
# images, /var/lib/containerd beside the Docker data root /var/lib/docker
# (which has an empty image/ of its own): --root the Docker root finds it.
mkdir -p "$tmp/disk/var/lib/docker/image/overlayfs/imagedb/content/sha256"
cp -a "$root" "$tmp/disk/var/lib/containerd"
"$GRAPHPIPE" save -v --root "$tmp/disk/var/lib/docker" --namespace moby -o "$tmp/moby-sib.tar" busybox > "$tmp/log" 2>&1
ok_eq "$?" 0 "a Docker root whose images are in the containerd beside it (/var/lib/containerd)" ||
  sed 's/^/#   /' "$tmp/log"
cmp -s "$tmp/moby.tar" "$tmp/moby-sib.tar"
ok_eq "$?" 0 "the same tarball as from the containerd root itself"
ok_grep "$tmp/log" "reading its containerd image store $tmp/disk/var/lib/containerd" \
  "the run says where it read the images"
"$GRAPHPIPE" save -q --root "$tmp/disk/var/lib/docker/" --namespace moby -o "$tmp/moby-sib2.tar" busybox > "$tmp/log" 2>&1 &&
  cmp -s "$tmp/moby.tar" "$tmp/moby-sib2.tar"
ok_eq "$?" 0 "the same with a trailing slash on --root" || sed 's/^/#   /' "$tmp/log"
rm -rf "$tmp/disk/var/lib/containerd"
"$GRAPHPIPE" save -q --root "$tmp/disk/var/lib/docker" --source containerd -o "$tmp/moby-none.tar" busybox > "$tmp/log" 2>&1
[ $? != 0 ] && [ ! -e "$tmp/moby-none.tar" ]
ok_eq "$?" 0 "without that containerd root, --source containerd fails and writes nothing"
ok_grep "$tmp/log" "or for a Docker data root in the containerd/ beside it" "the error says where it looked"
rm -rf "$tmp/disk"

# ---- damage: blob, missing blob, meta.db ----
damaged=$tmp/damaged
cp -a "$root" "$damaged"
# the gzip layer of the multi-platform image (extracted by oci_case)
layer=$(cd "$tmp/ctr-multi/blobs/sha256" &&
  for f in *; do [ "$(head -c 2 "$f" | od -An -tx1 | tr -d ' ')" = 1f8b ] && echo "$f"; done | head -1)
blob=$damaged/io.containerd.content.v1.content/blobs/sha256/$layer
chmod u+w "$blob"
printf 'X' | dd of="$blob" bs=1 seek=30 conv=notrunc status=none
"$GRAPHPIPE" save -q --root "$damaged" -o "$tmp/bad1.tar" example.com/gp/multi:1 > "$tmp/log" 2>&1
[ $? != 0 ] && [ ! -e "$tmp/bad1.tar" ]
ok_eq "$?" 0 "a damaged layer blob fails, writing nothing"
ok_grep "$tmp/log" "blob sha256:$layer" "the error names the blob"
rm -f "$blob"
"$GRAPHPIPE" save -q --root "$damaged" -o "$tmp/bad2.tar" example.com/gp/multi:1 > "$tmp/log" 2>&1
[ $? != 0 ] && [ ! -e "$tmp/bad2.tar" ]
ok_eq "$?" 0 "a missing layer blob fails, writing nothing"
ok_grep "$tmp/log" "blob sha256:$layer is not in the content store" "the error says the blob is gone"
db=$damaged/io.containerd.metadata.v1.bolt/meta.db
truncate -s 20000 "$db"
"$GRAPHPIPE" save -q --root "$damaged" -o "$tmp/bad3.tar" busybox > "$tmp/log" 2>&1
[ $? != 0 ] && [ ! -e "$tmp/bad3.tar" ]
ok_eq "$?" 0 "a truncated meta.db fails, writing nothing"
ok_grep "$tmp/log" "$db: truncated" "the error names meta.db"

ok_eq "$(cd "$root" && find . -printf '%p %s %T@\n' | LC_ALL=C sort | sha256sum)" "$state_before" \
  "nothing under the containerd root changed"

done_testing
