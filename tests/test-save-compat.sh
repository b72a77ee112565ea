#!/bin/sh
# `graphpipe save --compat 20.10` against Docker 20.10's own `docker save`
# (TAP; also alone: make check-docker).
#
# 1. A private dockerd (overlay2 where the kernel has overlay, else vfs;
#    GP_DOCKER_DRIVER=vfs|overlay2|overlay|btrfs chooses, btrfs on a
#    loop-mounted btrfs image file made under the temporary directory,
#    unmounted and detached at exit; its own data root, exec root, socket
#    and pidfile under a temporary directory; no networking) loads the
#    golden save tarballs and builds
#    images with the legacy builder (DOCKER_BUILDKIT=0, FROM scratch,
#    Debian's busybox-static copied in, RUN steps under runc): deletions
#    (whiteouts), hard links, names longer than 100 bytes and non-ASCII
#    names, an image built on another (a parent in the same save) and one
#    with SHELL and HEALTHCHECK (fields 1.10.3's structs lack, which
#    enter the v1 ID); it also loads busybox's layers under crafted
#    configs (every 20.10-only field, lower-case and null keys, created
#    before 1970, Go's zero time, and in 2250).  While it runs, `docker save` writes the
#    reference tarballs: single, two-tag, ID, repository-name,
#    shared-layer, parent and symlinked-layer sets; a multi-image set
#    until Docker writes its images in the order of the names, which is
#    graphpipe's (Docker walks a Go map: its order changes per run).
# 2. The daemon is stopped (by its pid); graphpipe saves each set from its
#    data root with --compat 20.10.  Each tarball must equal the daemon's
#    byte for byte, except the mtime
#    fields (and so the header checksums) of the entries of a layer
#    directory whose layer.tar is a symlink: Docker writes its save time
#    there (doc/docker-save-20.10.md); ours must be our save time.
# 3. --compat 1.10 and no --compat keep Docker 1.10.3's golden bytes (the
#    golden legacy root, migrated); bad --compat values and combinations
#    are usage errors (exit 2), writing nothing.
#
# 4. Containers left on the root (one created, one that ran and wrote a
#    file: their `-init` and read-write layers in the driver's directory)
#    do not disturb graphpipe: every tag saves (docker-archive and
#    oci-archive, which skopeo inspects) and verify finds nothing wrong.
#
# Skipped without root, dockerd, docker, python3 or a static busybox, and
# with GP_SKIP_DOCKERD=1; with btrfs also without btrfs in the kernel, a
# loop device, losetup or mkfs.btrfs (Debian package btrfs-progs); with
# overlay or btrfs when dockerd refuses the driver.  Under GP_REQUIRE_ALL
# each of these fails.
set -u

top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${GP_TOP_BUILDDIR:-.}
shared=${GP_SHARED_DIR:-$top_builddir/tests/shared}
golden=$shared/golden/public
GRAPHPIPE=${GRAPHPIPE:-$top_builddir/graphpipe}
export GRAPHPIPE_NO_SYSTEM_PLUGINS=${GRAPHPIPE_NO_SYSTEM_PLUGINS:-1}
export GRAPHPIPE_NO_SYSTEM_PRESETS=${GRAPHPIPE_NO_SYSTEM_PRESETS:-1}

. "$top_srcdir/tests/migrate-tap.sh"
. "$top_srcdir/tests/forensics-lib.sh"
plan 45
fx_require_golden
fx_require_golden save-busybox.tar.gz
if [ "$(id -u)" != 0 ]; then
  skip_all "dockerd needs root"
fi
if ! command -v dockerd > /dev/null 2>&1 || ! command -v docker > /dev/null 2>&1; then
  skip_all "dockerd or docker not installed (Debian package docker.io)"
fi
if [ "${GP_SKIP_DOCKERD:-0}" = 1 ]; then
  skip_all "GP_SKIP_DOCKERD=1"
fi
command -v python3 > /dev/null 2>&1 || skip_all "python3 not installed"
busybox=
for b in /bin/busybox /usr/bin/busybox; do
  if [ -x "$b" ] && LC_ALL=C ldd "$b" 2>&1 | grep -q "not a dynamic executable"; then
    busybox=$b
    break
  fi
done
[ -n "$busybox" ] || skip_all "no static busybox (Debian package busybox-static)"

# GP_DOCKER_DRIVER=vfs|overlay2|overlay|btrfs chooses (default: overlay2
# where the kernel has overlay, else vfs)
driver=vfs
grep -qw overlay /proc/filesystems 2> /dev/null && driver=overlay2
driver=${GP_DOCKER_DRIVER:-$driver}
case $driver in
  vfs|overlay2|overlay|btrfs) ;;
  *) bail_out "GP_DOCKER_DRIVER=$driver: vfs, overlay2, overlay or btrfs" ;;
esac
if [ "$driver" = btrfs ]; then
  . "$top_srcdir/tests/btrfs-lib.sh"
  why=$(gp_btrfs_missing) && skip_all "$why"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gp-compat-XXXXXX") || exit 99
droot=$tmp/data
pid=
stop_dockerd () {
  [ -n "$pid" ] || return 0
  kill "$pid" 2> /dev/null
  i=0
  while kill -0 "$pid" 2> /dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$pid" 2> /dev/null
  wait "$pid" 2> /dev/null
  pid=
}
cleanup () {
  stop_dockerd
  # a daemon that was killed may leave mounts behind
  awk -v r="$tmp" 'index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount "$m" 2> /dev/null || umount -l "$m" 2> /dev/null; done
  # the btrfs image's loop device
  [ "$driver" != btrfs ] || gp_btrfs_release
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 1. the daemon, its images and its saves ----

# btrfs: the data root is a btrfs file system in a sparse image file
# (Docker's btrfs driver makes each layer a subvolume, a snapshot of its
# parent's)
if [ "$driver" = btrfs ]; then
  gp_btrfs_mount "$tmp/btrfs.img" "$droot"
  case $? in
    0) ;;
    1) skip_all "$(echo "$gp_btrfs_why" | head -1)" ;;
    *) echo "$gp_btrfs_why" | sed 's/^/#   | /'; bail_out "mkfs.btrfs of $tmp/btrfs.img failed" ;;
  esac
fi
export DOCKER_HOST=unix://$tmp/docker.sock
export DOCKER_CONFIG=$tmp/docker-config
# start_dockerd [TZ]: the daemon, in the time zone TZ when given
start_dockerd () {
  env ${1:+TZ=$1} dockerd --data-root "$droot" --storage-driver "$driver" -H "$DOCKER_HOST" \
    --pidfile "$tmp/dockerd.pid" --exec-root "$tmp/exec" --iptables=false \
    --ip6tables=false --ip-masq=false --bridge=none > "$tmp/dockerd.log" 2>&1 &
  pid=$!
  i=0
  until docker version > /dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 300 ] || ! kill -0 "$pid" 2> /dev/null; then
      stop_dockerd
      return 1
    fi
    sleep 0.1
  done
}
if ! start_dockerd && [ "$driver" = overlay2 ]; then
  diag "dockerd did not start with overlay2; vfs instead"
  sed 's/^/#   | /' "$tmp/dockerd.log" | tail -5
  rm -rf "$droot"
  driver=vfs
  start_dockerd
fi
if [ -z "$pid" ]; then
  case $driver in
    overlay|btrfs)
      # a driver this kernel or file system may lack: its reason
      sed 's/^/#   | /' "$tmp/dockerd.log" | tail -5
      skip_all "dockerd refuses the $driver driver here (its log above)" ;;
  esac
  not_ok "dockerd starts ($driver)"
  sed 's/^/#   | /' "$tmp/dockerd.log" | tail -20
  done_testing
  exit 1
fi
ok "dockerd 20.10 starts on a private $driver root"

# Crafted images: busybox:latest's layers under configs changed the ways
# Docker 20.10's structs and clock rules tell apart from 1.10.3's
# (written as a docker-load tarball; Docker checks each config's digest).
python3 - "$golden/save-busybox_latest.tar.gz" "$tmp/crafted.tar" << 'EOF'
import hashlib, io, json, sys, tarfile
src = tarfile.open(sys.argv[1])
manifest = json.load(src.extractfile('manifest.json'))
raw = src.extractfile(manifest[0]['Config']).read()
def healthcheck(c):
    c['config'].update({'ArgsEscaped': True, 'StopTimeout': 0, 'Shell': 'sh',
                        'Healthcheck': {'test': ['CMD-SHELL', 'x <y'], 'Interval': 1,
                                        'Timeout': 2, 'StartPeriod': 3, 'Retries': 4}})
    c['container_config'].update({'Healthcheck': {}, 'Shell': [], 'StopTimeout': None})
def lowercase(c):
    c['config'].update({'Healthcheck': {'Test': [], 'Retries': 0}, 'Shell': None,
                        'shell': ['a', 'b'], 'PublishService': 'p'})
    c['variant'] = ''
def variant(c):
    c.pop('os')
    c['variant'] = 'v7'
crafts = [('c-health', healthcheck), ('c-lower', lowercase), ('c-variant', variant),
          ('c-old', lambda c: c.update(created='1960-05-01T10:00:00.5+02:00')),
          ('c-zero', lambda c: c.update(created='0001-01-01T00:00:00Z')),
          ('c-far', lambda c: c.update(created='2250-01-01T00:00:00Z'))]
out = tarfile.open(sys.argv[2], 'w')
for m in src.getmembers():
    if '/' in m.name.rstrip('/'):
        out.addfile(m, src.extractfile(m) if m.isfile() else None)
    elif m.isdir():
        out.addfile(m)
items = []
def add(name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    out.addfile(info, io.BytesIO(data))
for tag, change in crafts:
    c = json.loads(raw)
    change(c)
    data = json.dumps(c, separators=(',', ':')).encode()
    name = hashlib.sha256(data).hexdigest() + '.json'
    add(name, data)
    items.append({'Config': name, 'RepoTags': [tag + ':1'], 'Layers': manifest[0]['Layers']})
add('manifest.json', json.dumps(items).encode())
out.close()
EOF
loaded=0
for t in "$golden/save-busybox.tar.gz" "$golden/save-myapp_v1+busybox_1.0.variant1.tar.gz" "$tmp/crafted.tar"; do
  docker load -i "$t" > "$tmp/load.log" 2>&1 || { sed 's/^/#   | /' "$tmp/load.log"; loaded=1; }
done
ok_eq "$loaded" 0 "docker loads the golden saves and the crafted images"

# Images: t1 (whiteouts, a hard link, a 150-byte and a non-ASCII name),
# t2 built on t1 in one step (t1 is its parent), hc with SHELL and
# HEALTHCHECK (fields Docker 1.10.3's structs lack).
ctx=$tmp/ctx
mkdir -p "$ctx"
cp "$busybox" "$ctx/busybox"
cat > "$ctx/Dockerfile.t1" << 'EOF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN mkdir -p /d/sub && echo a > /d/a && echo b > /d/b && ln /d/a /d/hard && mkdir /gone && touch /gone/x /d/sub/y
RUN rm -rf /gone /d/b /d/sub/y && touch "/d/$(printf 'n%.0s' $(seq 1 150))" "/d/h\303\251llo w\303\266rld" && ln /d/hard "/d/l\303\266ng-$(printf 'x%.0s' $(seq 1 120))"
EOF
cat > "$ctx/Dockerfile.t2" << 'EOF'
FROM t1:latest
RUN mkdir -p "/$(printf 'dir%.0s' $(seq 1 40))/\303\274" && echo c > "/$(printf 'dir%.0s' $(seq 1 40))/\303\274/c" && rm /d/a
EOF
cat > "$ctx/Dockerfile.hc" << 'EOF'
FROM t1:latest
SHELL ["/bin/sh", "-ec"]
HEALTHCHECK --interval=30s --retries=2 CMD true
STOPSIGNAL SIGINT
RUN echo "<&>" > /hc
EOF
built=0
for n in t1 t2 hc; do
  DOCKER_BUILDKIT=0 docker build -q -f "$ctx/Dockerfile.$n" -t "$n:latest" "$ctx" > "$tmp/build-$n.log" 2>&1 ||
    { sed 's/^/#   | /' "$tmp/build-$n.log" | tail -20; built=1; }
done
docker tag t1:latest t1:two
docker tag t1:latest localhost:5000/team/tool:2.1
docker tag t1:latest someone/thing:v1
ok_eq "$built" 0 "docker builds the test images (legacy builder)"

id_t1=$(docker image inspect --format '{{.Id}}' t1:latest)
id_t2=$(docker image inspect --format '{{.Id}}' t2:latest)
# the image of t1's first step: its only layer is t1's bottom one, with
# another v1 ID (a layer Docker writes as a symlink)
id_base=$(docker history -q --no-trunc t1:latest | tail -1)
diag "t1 $id_t1, t2 $id_t2, t1's first step $id_base"

# sets: name|the names (space-separated)
cat > "$tmp/sets" << EOF
single|t1:latest
two-tag|t1:latest t1:two
two-tag-reversed|t1:two t1:latest
id|$id_t2
repository|t1
registry-names|localhost:5000/team/tool someone/thing:v1
golden-repository|busybox
golden-shared|busybox myapp:v1
golden-mixed|busybox:latest myapp:v1 busybox:1.0
parent|t2:latest t1:latest
symlinked|t1:latest $id_base
healthcheck|hc:latest t1:two
crafted-healthcheck|c-health:1
crafted-lower-case|c-lower:1
crafted-variant|c-variant:1
crafted-1960|c-old:1
crafted-zero-time|c-zero:1
EOF
# manifest_order TAR: the config names of its manifest.json, in order
manifest_order () {
  python3 -c 'import json, sys, tarfile
print(" ".join(m["Config"] for m in json.load(tarfile.open(sys.argv[1]).extractfile("manifest.json"))))' "$1"
}
# Docker orders the images of a save as it walks a Go map, which changes
# from run to run; graphpipe by the names (first named first).  Each set
# is saved until Docker writes that order (at most 40 times).
save_failed=0
while IFS='|' read -r name names; do
  want=
  for n in $names; do
    # a name, or a repository without a latest tag: its tags in byte order
    ids=$(docker image inspect --format '{{.Id}}' "$n" 2> /dev/null ||
          docker images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}' "$n" |
            LC_ALL=C sort | cut -d' ' -f2)
    for id in $ids; do
      c=${id#sha256:}.json
      case " $want " in *" $c "*) ;; *) want="${want:+$want }$c" ;; esac
    done
  done
  r=0
  while [ $r -lt 40 ]; do
    r=$((r + 1))
    # shellcheck disable=SC2086
    docker save -o "$tmp/candidate.tar" $names 2> "$tmp/save.log" ||
      { sed 's/^/#   | /' "$tmp/save.log"; save_failed=1; break; }
    if [ "$(manifest_order "$tmp/candidate.tar")" = "$want" ]; then
      mv "$tmp/candidate.tar" "$tmp/docker-$name.tar"
      [ $r -gt 1 ] && diag "$name: Docker's order of images matched on run $r"
      break
    fi
  done
  [ -f "$tmp/docker-$name.tar" ] || { diag "$name: 40 docker saves, none in the order $want"; save_failed=1; }
done < "$tmp/sets"
ok_eq "$save_failed" 0 "docker save writes every set, in the order of its names"

# containers left on the root (section 4): one created, one that ran
# and changed files (its read-write layer holds them); their -init
# layers.  And every tag the daemon has, in byte order.
docker create --network none --name made t2:latest /bin/sh > "$tmp/containers.log" 2>&1 &&
  docker run --network none --name ran t1:latest /bin/sh -c 'echo ran > /ran && rm /d/a' \
    >> "$tmp/containers.log" 2>&1 ||
  { sed 's/^/#   | /' "$tmp/containers.log"; diag "docker create or run failed"; }
docker images --format '{{.Repository}}:{{.Tag}}' | grep -v '<none>' | LC_ALL=C sort > "$tmp/tags"

stop_dockerd
ok_eq "$(kill -0 "$(cat "$tmp/dockerd.pid" 2> /dev/null)" 2> /dev/null && echo running)" "" \
  "the daemon is stopped before graphpipe reads its root"

# ---- 2. graphpipe --compat 20.10, byte for byte ----


while IFS='|' read -r name names; do
  t0=$(date +%s)
  # shellcheck disable=SC2086
  "$GRAPHPIPE" save -q --root "$droot" --driver "$driver" --compat 20.10 -o "$tmp/ours-$name.tar" \
    $names > "$tmp/ours.log" 2>&1
  st=$?
  t1=$(date +%s)
  if [ $st != 0 ]; then
    not_ok "--compat 20.10, $name set ($names): exit $st"
    sed 's/^/#   | /' "$tmp/ours.log"
    continue
  fi
  if python3 "$top_srcdir/tests/save-compat-compare.py" "$tmp/ours-$name.tar" "$t0" "$t1" "$tmp/docker-$name.tar" \
       > "$tmp/compare.log" 2>&1; then
    ok "--compat 20.10, $name set: Docker 20.10's bytes"
  else
    not_ok "--compat 20.10, $name set ($names): Docker 20.10's bytes"
  fi
  sed 's/^#*/#/' "$tmp/compare.log"
done < "$tmp/sets"

# the same bytes through a pipe and gzip (sequential writing)
t0=$(date +%s)
"$GRAPHPIPE" save -q --root "$droot" --driver "$driver" --compat 20.10 busybox myapp:v1 \
  > "$tmp/pipe.tar" 2> "$tmp/ours.log" &&
  "$GRAPHPIPE" save -q --root "$droot" --driver "$driver" --compat 20.10 -o "$tmp/gz.tar.gz" \
    busybox myapp:v1 2>> "$tmp/ours.log" &&
  gunzip -c "$tmp/gz.tar.gz" > "$tmp/gz.tar"
st=$?
t1=$(date +%s)
for f in pipe gz; do
  if [ $st = 0 ] && python3 "$top_srcdir/tests/save-compat-compare.py" "$tmp/$f.tar" "$t0" "$t1" "$tmp/docker-golden-shared.tar" \
       > "$tmp/compare.log" 2>&1; then
    ok "--compat 20.10 to a $f: Docker 20.10's bytes"
  else
    not_ok "--compat 20.10 to a $f: Docker 20.10's bytes (exit $st)"
    sed 's/^/#   | /' "$tmp/ours.log" "$tmp/compare.log"
  fi
done

# the parent set names t2's parent; the symlinked one has symlinks
tar -xOf "$tmp/ours-parent.tar" manifest.json > "$tmp/parent-manifest.json" 2>&1
ok_grep "$tmp/parent-manifest.json" "\"Parent\":\"$id_t1\"" "--compat 20.10 names a saved parent image"
if tar -tvf "$tmp/ours-symlinked.tar" | grep -q '^l.*layer.tar -> \.\./'; then
  ok "--compat 20.10 writes a repeated layer as a symlink"
else
  not_ok "--compat 20.10 writes a repeated layer as a symlink"
fi

top_json () {
  python3 -c 'import json, sys, tarfile
t = tarfile.open(sys.argv[1])
m = json.load(t.extractfile("manifest.json"))
sys.stdout.write(t.extractfile(m[0]["Layers"][-1].replace("layer.tar", "json")).read().decode())' "$1"
}
top_json "$tmp/ours-healthcheck.tar" > "$tmp/hc.json" 2>&1
ok_grep "$tmp/hc.json" '"Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":30000000000,"Retries":2}' \
  "--compat 20.10 writes the Healthcheck of Docker 20.10's structs"
ok_grep "$tmp/hc.json" '"StopSignal":"SIGINT","Shell":["/bin/sh","-ec"]}' "  and the Shell"

# created in 2250: Docker 20.10 writes PAX mtime records, graphpipe refuses
"$GRAPHPIPE" save -q --root "$droot" --driver "$driver" --compat 20.10 -o "$tmp/far.tar" c-far:1 \
  > "$tmp/far.log" 2>&1
ok_eq "$?" 1 "--compat 20.10 refuses an image created past 2242 (exit 1)"
ok_grep "$tmp/far.log" "PAX mtime record - not implemented" "  saying why"
ok_eq "$(ls "$tmp"/far.tar* 2> /dev/null)" "" "  and writing nothing"

# Docker writes the lower layers' epoch in its local zone, which enters
# their v1 IDs; graphpipe takes the zone as Go does (TZ, /etc/localtime).
if [ -f /usr/share/zoneinfo/Europe/London ]; then
  start_dockerd Europe/London
  rm -f "$tmp/docker-london.tar"
  r=0
  while [ -n "$pid" ] && [ $r -lt 40 ]; do
    r=$((r + 1))
    docker save -o "$tmp/candidate.tar" busybox myapp:v1 2> "$tmp/save.log" || break
    if [ "$(manifest_order "$tmp/candidate.tar")" = "$(manifest_order "$tmp/ours-golden-shared.tar")" ]; then
      mv "$tmp/candidate.tar" "$tmp/docker-london.tar"
      break
    fi
  done
  stop_dockerd
  t0=$(date +%s)
  TZ=Europe/London "$GRAPHPIPE" save -q --root "$droot" --driver "$driver" --compat 20.10 \
    -o "$tmp/ours-london.tar" busybox myapp:v1 > "$tmp/ours.log" 2>&1
  st=$?
  t1=$(date +%s)
  if [ $st = 0 ] && [ -f "$tmp/docker-london.tar" ] &&
       python3 "$top_srcdir/tests/save-compat-compare.py" "$tmp/ours-london.tar" "$t0" "$t1" "$tmp/docker-london.tar" \
         > "$tmp/compare.log" 2>&1 &&
       tar -xOf "$tmp/ours-london.tar" | grep -q '"created":"1970-01-01T01:00:00+01:00"'; then
    ok "--compat 20.10 with the daemon in Europe/London (+01:00 in 1970): Docker 20.10's bytes"
  else
    not_ok "--compat 20.10 with the daemon in Europe/London: Docker 20.10's bytes (exit $st)"
    sed 's/^/#   | /' "$tmp/ours.log" "$tmp/compare.log" "$tmp/save.log"
  fi
else
  skip "--compat 20.10 with the daemon in another time zone" "no /usr/share/zoneinfo/Europe/London (Debian package tzdata)"
fi

# ---- 3. --compat 1.10 keeps Docker 1.10.3's bytes; usage errors ----

root=$tmp/legacy
fx_extract "$root" || bail_out "cannot extract legacy-root.tar.gz"
"$GRAPHPIPE" migrate -q --root "$root" > "$tmp/migrate.log" 2>&1 ||
  { sed 's/^/#   | /' "$tmp/migrate.log"; bail_out "migrate of the golden root failed"; }
gunzip -c "$golden/save-busybox_latest.tar.gz" > "$tmp/golden-1.tar"
gunzip -c "$golden/save-busybox.tar.gz" > "$tmp/golden-2.tar"
gunzip -c "$golden/save-myapp_v1+busybox_1.0.variant1.tar.gz" > "$tmp/golden-3a.tar"
gunzip -c "$golden/save-myapp_v1+busybox_1.0.variant2.tar.gz" > "$tmp/golden-3b.tar"
for c in "--compat=1.10" ""; do
  # shellcheck disable=SC2086
  "$GRAPHPIPE" save -q --root "$root" $c -o "$tmp/g1.tar" busybox:latest > "$tmp/g.log" 2>&1 &&
    # shellcheck disable=SC2086
    "$GRAPHPIPE" save -q --root "$root" $c -o "$tmp/g2.tar" busybox > "$tmp/g.log" 2>&1 &&
    # shellcheck disable=SC2086
    "$GRAPHPIPE" save -q --root "$root" $c -o "$tmp/g3.tar" myapp:v1 busybox:1.0 > "$tmp/g.log" 2>&1
  st=$?
  if [ $st = 0 ] && cmp -s "$tmp/g1.tar" "$tmp/golden-1.tar" && cmp -s "$tmp/g2.tar" "$tmp/golden-2.tar" &&
       { cmp -s "$tmp/g3.tar" "$tmp/golden-3a.tar" || cmp -s "$tmp/g3.tar" "$tmp/golden-3b.tar"; }; then
    ok "save ${c:-without --compat}: Docker 1.10.3's golden bytes"
  else
    not_ok "save ${c:-without --compat}: Docker 1.10.3's golden bytes (exit $st)"
    sed 's/^/#   | /' "$tmp/g.log"
  fi
done

usage () {
  "$GRAPHPIPE" save --root "$root" -o "$tmp/u.tar" "$@" busybox > "$tmp/u.log" 2>&1
  st=$?
  ok_eq "$st" 2 "save $*: usage error (exit 2)"
  ok_grep "$tmp/u.log" "--compat" "  the message names --compat"
}
usage --compat=20.1
usage --compat=20.10 --format=oci-archive
usage --compat=1.10 --preset=export-legacy
ok_eq "$(ls "$tmp"/u.tar* 2> /dev/null)" "" "usage errors write nothing"

# ---- 4. containers' layers on the root; every tag; verify ----

# driver_dir ID: the driver's directory of a layer (cache, mount or
# init ID)
driver_dir () {
  case $driver in
    vfs) echo "$droot/vfs/dir/$1" ;;
    btrfs) echo "$droot/btrfs/subvolumes/$1" ;;
    *) echo "$droot/$driver/$1" ;;
  esac
}
mounts=0
missing=
for m in "$droot"/image/"$driver"/layerdb/mounts/*/; do
  [ -f "$m/mount-id" ] || continue
  mounts=$((mounts + 1))
  for f in mount-id init-id; do
    [ -d "$(driver_dir "$(cat "$m/$f" 2> /dev/null)")" ] || missing="$missing $m$f"
  done
done
ok_eq "$mounts:$missing" "2:" "two containers on the root, their read-write and -init layers in $driver's directory"
# what the driver wrote: overlay's image layers are root/ trees, its
# container layers upper/ with a lower-id; btrfs's layers are subvolumes
# (inode 256)
case $driver in
  overlay)
    diag "overlay: $(ls -d "$droot"/overlay/*/root | wc -l) layers with root/," \
      "$(ls "$droot"/overlay/*/lower-id | wc -l) with upper/ and lower-id" ;;
  btrfs)
    diag "btrfs: $(stat -c %i "$droot"/btrfs/subvolumes/* | grep -c '^256$') subvolumes of" \
      "$(ls "$droot"/btrfs/subvolumes | wc -l) layers" ;;
esac

"$GRAPHPIPE" verify -q --root "$droot" --driver "$driver" > "$tmp/verify.log" 2>&1
st=$?
ok_eq "$st:$(cat "$tmp/verify.log")" "0:" "verify of the $driver root (containers on it) finds nothing wrong"

failed=
ntags=0
while read -r tag; do
  ntags=$((ntags + 1))
  "$GRAPHPIPE" save -q --root "$droot" --driver "$driver" -o "$tmp/tag.tar" "$tag" > "$tmp/tag.log" 2>&1 &&
    tar -xOf "$tmp/tag.tar" manifest.json | grep -qF "\"$tag\"" ||
    { failed="$failed $tag"; sed 's/^/#   | /' "$tmp/tag.log"; }
  rm -f "$tmp/tag.tar"
done < "$tmp/tags"
ok_eq "$ntags:$failed" "$(wc -l < "$tmp/tags"):" "save of each of the $driver root's tags, one by one"

# shellcheck disable=SC2046
"$GRAPHPIPE" save -q --root "$droot" --driver "$driver" --format oci-archive -o "$tmp/all-oci.tar" \
  $(cat "$tmp/tags") > "$tmp/oci.log" 2>&1
st=$?
if [ $st = 0 ] && command -v skopeo > /dev/null 2>&1; then
  failed=
  while read -r tag; do
    skopeo inspect "oci-archive:$tmp/all-oci.tar:$tag" > "$tmp/inspect.log" 2>&1 ||
      { failed="$failed $tag"; sed 's/^/#   | /' "$tmp/inspect.log" | tail -3; }
  done < "$tmp/tags"
  ok_eq "$failed" "" "oci-archive of all of them: skopeo inspects each tag"
elif [ $st = 0 ]; then
  skip "oci-archive of all of them: skopeo inspects each tag" "skopeo not installed (Debian package skopeo)"
else
  not_ok "oci-archive of all the $driver root's tags (exit $st)"
  sed 's/^/#   | /' "$tmp/oci.log"
fi

done_testing
