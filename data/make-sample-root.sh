#!/bin/sh
# Create a small sample Docker data root (legacy graph layout, vfs driver)
# for the demo:  data/make-sample-root.sh DIR
#
# The content is made up: it has the shape of a pre-1.10 data root, not
# real image data.  The migrate work replaces it with a real legacy root.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
root=$1
if [ -e "$root" ] && [ -n "$(ls -A "$root" 2>/dev/null)" ]; then
  echo "$0: $root exists and is not empty" >&2
  exit 2
fi

base=5f3c1f1b0e9c7ab1d0d2e1f4a6b8c0d2e4f6a8b0c2d4e6f8a0b2c4d6e8f0a2b4
child=7a9e5d3c1b2a4f6e8d0c2b4a6f8e0d2c4b6a8f0e2d4c6b8a0f2e4d6c8b0a2f4e

mkdir -p "$root/graph/$base" "$root/graph/$child" \
         "$root/vfs/dir/$base/bin" "$root/vfs/dir/$base/etc" \
         "$root/vfs/dir/$child/bin" "$root/vfs/dir/$child/etc" \
         "$root/containers" "$root/tmp"

printf '{"id":"%s","created":"2016-01-01T00:00:00Z","os":"linux","architecture":"amd64"}' \
  "$base" > "$root/graph/$base/json"
printf '{"id":"%s","parent":"%s","created":"2016-01-02T00:00:00Z","os":"linux","architecture":"amd64"}' \
  "$child" "$base" > "$root/graph/$child/json"
echo 1024 > "$root/graph/$base/layersize"
echo 512 > "$root/graph/$child/layersize"

printf '#!/bin/sh\necho hello\n' > "$root/vfs/dir/$base/bin/hello"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/vfs/dir/$base/etc/passwd"
cp "$root/vfs/dir/$base/bin/hello" "$root/vfs/dir/$child/bin/hello"
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n' \
  > "$root/vfs/dir/$child/etc/passwd"
printf 'sample\n' > "$root/vfs/dir/$child/etc/hostname"

printf '{"Repositories":{"sample":{"latest":"%s"}}}' "$child" > "$root/repositories-vfs"
echo "sample data root created in $root"
