#!/bin/bash
# --allow-rebuild of a containerd layer whose blob is gone, on a layer
# with a deletion and an opaque directory.  TAP.
#
# A private containerd 1.6 imports a two-layer docker-archive built here
# (layer 2: etc/.wh.gone, opt/old/.wh..wh..opq and a new file) with the
# overlayfs snapshotter and with the native one.  The overlayfs snapshot
# holds the whiteout as a 0/0 character device and the opaque directory
# as trusted.overlay.opaque=y (checked here: that is containerd's own
# applier).  containerd does not keep a whiteout's tar header (the device
# gets the time of the unpacking: checked too), so that layer cannot be rebuilt byte
# for byte: with its blob removed from a copy of the root, `graphpipe
# save --allow-rebuild` must fail the image with a message naming the
# layer, the snapshot and the whiteouts, writing nothing; a native
# snapshot (a whole tree, no upper directory) is a clear error too.
set -u

top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=$(cd "${GP_TOP_BUILDDIR:-.}" && pwd)
GRAPHPIPE=${GRAPHPIPE:-$top_builddir/graphpipe}

. "$top_srcdir/tests/migrate-tap.sh"
. "$top_srcdir/tests/containerd-lib.sh"

plan 12
if why=$(ctrd_missing); then
  skip_all "$why"
fi
command -v getfattr > /dev/null || skip_all "getfattr not installed (apt-get install attr)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gp-ctrd-rebuild-XXXXXX") || exit 99
trap 'ctrd_stop; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

# ---- the image: base layer, then a deletion and an opaque dir ----
mk=$tmp/mk
mkdir -p "$mk/l1/etc" "$mk/l1/opt/old" "$mk/l2/etc" "$mk/l2/opt/old" "$mk/img"
echo keep > "$mk/l1/etc/keep"
echo gone > "$mk/l1/etc/gone"
echo a > "$mk/l1/opt/old/a"
echo b > "$mk/l1/opt/old/b"
: > "$mk/l2/etc/.wh.gone"
: > "$mk/l2/opt/old/.wh..wh..opq"
echo new > "$mk/l2/opt/old/new"
for l in l1 l2; do
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$mk/$l" -cf "$mk/img/$l.tar" etc opt
done
d1=$(sha256sum "$mk/img/l1.tar" | cut -d' ' -f1)
d2=$(sha256sum "$mk/img/l2.tar" | cut -d' ' -f1)
printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s","sha256:%s"]}}' \
  "$d1" "$d2" > "$mk/img/config.json"
cfg=$(sha256sum "$mk/img/config.json" | cut -d' ' -f1)
mv "$mk/img/config.json" "$mk/img/$cfg.json"
printf '[{"Config":"%s.json","RepoTags":["example.com/gp/rebuild:1"],"Layers":["l1.tar","l2.tar"]}]' \
  "$cfg" > "$mk/img/manifest.json"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$mk/img" -cf "$tmp/img.tar" .

ctrd_start "$tmp/ctrd" || skip_all "containerd does not start here"
{
  ctr -n default images import "$tmp/img.tar" &&
    ctr -n native images import --snapshotter native "$tmp/img.tar"
} > "$tmp/ctr.log" 2>&1
ok_eq "$?" 0 "ctr imports the image (overlayfs and native snapshotters)" || sed 's/^/#   /' "$tmp/ctr.log"
ctrd_stop
root=$tmp/ctrd/root

# containerd's applier: the whiteout a 0/0 character device, the opaque
# directory an xattr, in the overlayfs snapshot of layer 2
snaps=$root/io.containerd.snapshotter.v1.overlayfs/snapshots
dev=$(find "$snaps" -path '*/fs/etc/gone' -type c 2> /dev/null | head -1)
ok_eq "$([ -n "$dev" ] && stat -c %t,%T "$dev")" "0,0" "containerd unpacked etc/.wh.gone as a 0/0 character device"
[ -n "$dev" ] && [ "$(stat -c %Y "$dev")" != 0 ]
ok_eq "$?" 0 "its time is the unpacking's, not the tar entry's (0): the header is not kept"
opq=$(dirname "$(dirname "$dev")")/opt/old
ok_eq "$(getfattr --only-values -n trusted.overlay.opaque "$opq" 2> /dev/null)" "y" \
  "and opt/old/.wh..wh..opq as trusted.overlay.opaque=y"

copy=$tmp/copy
cp -a "$root" "$copy"
rm -f "$copy/io.containerd.content.v1.content/blobs/sha256/$d2"
state () { (cd "$copy" && find . -printf '%p %s %T@ %C@\n' | LC_ALL=C sort | sha256sum); }
before=$(state)
"$GRAPHPIPE" save -q --root "$copy" --namespace default -o "$tmp/out.tar" example.com/gp/rebuild:1 > "$tmp/log" 2>&1
[ $? != 0 ] && [ ! -e "$tmp/out.tar" ]
ok_eq "$?" 0 "without --allow-rebuild the missing blob fails the image"
"$GRAPHPIPE" save --root "$copy" --namespace default --allow-rebuild -o "$tmp/out.tar" example.com/gp/rebuild:1 > "$tmp/log" 2>&1
[ $? != 0 ] && [ ! -e "$tmp/out.tar" ]
ok_eq "$?" 0 "--allow-rebuild: the layer with whiteouts fails its DiffID, nothing written" ||
  sed 's/^/#   /' "$tmp/log"
ok_grep "$tmp/log" "layer sha256:$d2 rebuilt from snapshot $copy/io.containerd.snapshotter.v1.overlayfs/snapshots/" \
  "the error names the layer and the snapshot"
ok_grep "$tmp/log" "the snapshot holds overlayfs whiteouts or opaque directories" "and says why: the snapshot holds whiteouts"

# native snapshotter: no upper directory to rebuild from
rm -f "$copy/io.containerd.content.v1.content/blobs/sha256/$d2"
"$GRAPHPIPE" save --root "$copy" --namespace native --allow-rebuild -o "$tmp/n.tar" example.com/gp/rebuild:1 > "$tmp/log" 2>&1
[ $? != 0 ] && [ ! -e "$tmp/n.tar" ]
ok_eq "$?" 0 "a native snapshot is not rebuilt, nothing written" || sed 's/^/#   /' "$tmp/log"
ok_grep "$tmp/log" "sha256:$d2" "the error names the blob"
ok_grep "$tmp/log" "only overlayfs snapshots" "and says only overlayfs snapshots are rebuilt"
ok_eq "$(state)" "$before" "nothing under the containerd root changed"
done_testing
