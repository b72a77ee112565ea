#!/bin/sh
# test-save-compat.sh on a root of Docker 20.10's legacy overlay driver
# (GP_DOCKER_DRIVER=overlay; TAP): a layer is `overlay/<cache-id>/root`,
# its complete file tree hard-linked to its parent's; a container's
# read-write and -init layers are `upper`, `work` and `lower-id` instead.
# Every --compat 20.10 set byte for byte with Docker's docker save, every
# tag saved, verify clean.  Skips as test-save-compat.sh, and when
# dockerd refuses the overlay driver (fails under GP_REQUIRE_ALL).
top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
GP_DOCKER_DRIVER=overlay
export GP_DOCKER_DRIVER
exec /bin/sh "$top_srcdir/tests/test-save-compat.sh"
