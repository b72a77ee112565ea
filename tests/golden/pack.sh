#!/bin/sh
# Maintainer tool: rebuilds the exactness data of the tree from a shared
# data directory (the layout of --with-shared-dir: golden/public/ and
# spec/), see tests/golden/README.md:
#
#   tests/golden/golden-public.tar.xz   golden/public/ with each .tar.gz
#                                       gunzipped, one solid xz stream
#   tests/golden/SHA256SUMS             sha256 of every file the unpack
#                                       step produces, taken from the
#                                       originals (a .tar.gz: its gunzipped
#                                       bytes, under the name .tar)
#   tests/vectors/                      spec/moby-vectors.md and
#                                       spec/fixtures/, as they are
#
# usage: tests/golden/pack.sh SHARED_DIR
set -eu

[ $# = 1 ] || { echo "usage: $0 SHARED_DIR" >&2; exit 2; }
shared=$(cd "$1" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
golden=$shared/golden/public
for need in "$golden/README.txt" "$golden/legacy-root.tar.gz" "$shared/spec/moby-vectors.md" \
            "$shared/spec/fixtures"; do
  [ -e "$need" ] || { echo "$0: $need not found" >&2; exit 1; }
done

stage=$(mktemp -d "${TMPDIR:-/tmp}/gp-pack-XXXXXX")
trap 'rm -rf "$stage"' EXIT INT TERM

# The golden set, tarballs gunzipped (xz then sees the layers' bytes once
# across all of them), owned by root, writable by the owner, no times.
cp -R "$golden" "$stage/public"
chmod -R u+w,go+rX,go-w "$stage/public"
for gz in "$stage"/public/*.tar.gz; do
  gzip -d "$gz"
done
(cd "$stage/public" &&
 LC_ALL=C tar --sort=name --format=gnu --owner=0 --group=0 --numeric-owner \
   --mtime=@0 -cf - .) | xz -9e -T1 > "$stage/golden-public.tar.xz"

# The vectors, verbatim.
rm -rf "$top/tests/vectors/fixtures"
mkdir -p "$top/tests/vectors"
cp "$shared/spec/moby-vectors.md" "$top/tests/vectors/moby-vectors.md"
cp -R "$shared/spec/fixtures" "$top/tests/vectors/fixtures"
chmod -R u+w,go+rX,go-w "$top/tests/vectors"

# Checksums of the originals, by the path each file has once unpacked
# under the build tree's tests/shared/.
{
  (cd "$golden" && find . -type f | LC_ALL=C sort) | while read -r f; do
    f=${f#./}
    case $f in
      *.tar.gz) printf '%s  golden/public/%s\n' \
                  "$(gzip -dc < "$golden/$f" | sha256sum | cut -d' ' -f1)" "${f%.gz}" ;;
      *) printf '%s  golden/public/%s\n' "$(sha256sum < "$golden/$f" | cut -d' ' -f1)" "$f" ;;
    esac
  done
  printf '%s  spec/moby-vectors.md\n' "$(sha256sum < "$shared/spec/moby-vectors.md" | cut -d' ' -f1)"
  (cd "$shared/spec/fixtures" && find . -type f | LC_ALL=C sort) | while read -r f; do
    f=${f#./}
    printf '%s  spec/fixtures/%s\n' "$(sha256sum < "$shared/spec/fixtures/$f" | cut -d' ' -f1)" "$f"
  done
} > "$stage/SHA256SUMS"

mv "$stage/golden-public.tar.xz" "$top/tests/golden/golden-public.tar.xz"
mv "$stage/SHA256SUMS" "$top/tests/golden/SHA256SUMS"
ls -l "$top/tests/golden/golden-public.tar.xz"
