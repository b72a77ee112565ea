#!/bin/sh
# test-save-compat.sh on a root of Docker 20.10's btrfs driver
# (GP_DOCKER_DRIVER=btrfs; TAP): the data root is a btrfs file system
# the test makes in a sparse image file under its temporary directory,
# mounts through a loop device, and unmounts and detaches at exit; a
# layer is the subvolume `btrfs/subvolumes/<cache-id>`, a snapshot of its
# parent's holding its complete file tree.  Every --compat 20.10 set byte
# for byte with Docker's docker save, every tag saved, verify clean.
# Skips as test-save-compat.sh, and without btrfs in the kernel, a loop
# device, losetup or mkfs.btrfs (Debian package btrfs-progs), or when
# dockerd refuses the driver (each fails under GP_REQUIRE_ALL).
top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
GP_DOCKER_DRIVER=btrfs
export GP_DOCKER_DRIVER
exec /bin/sh "$top_srcdir/tests/test-save-compat.sh"
