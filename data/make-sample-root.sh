#!/bin/sh
# Create the small sample Docker data root of the demo (legacy graph
# layout of Docker 1.9, vfs driver):  data/make-sample-root.sh DIR
#
# The images are described in data/sample-root.ini and written by the
# developer tool tests/gp-mklegacy (built by `make`), with layer tars and
# tar-split data made exactly as Docker 1.9 stored them.  Run it from the
# build directory, or point GP_MKLEGACY at the tool.
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

here=$(cd "$(dirname "$0")" && pwd)
tool=${GP_MKLEGACY:-}
if [ -z "$tool" ]; then
  for t in ./tests/gp-mklegacy "$here/../tests/gp-mklegacy"; do
    if [ -x "$t" ]; then
      tool=$t
      break
    fi
  done
fi
if [ -z "$tool" ]; then
  echo "$0: tests/gp-mklegacy not found: run 'make' first, from the build directory" >&2
  exit 1
fi

"$tool" "$here/sample-root.ini" "$root"
echo "sample data root created in $root (4 legacy images, 1 container, 5 tags)"
