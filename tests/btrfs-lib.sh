# A btrfs file system for a test script (sourced; POSIX sh): made in a
# sparse image file under the script's temporary directory, attached to
# a loop device and mounted there; unmounted and detached by the
# script's exit trap, also when the script is interrupted (INT, TERM).
# Used by test-save-compat.sh (Docker's btrfs driver) and
# save-containers-storage.sh (podman's).  Needs root.
#
# gp_btrfs_missing: when this machine cannot make one (no btrfs in the
#   kernel, no loop devices, no losetup or mkfs.btrfs), prints why and
#   returns 0; otherwise prints nothing and returns 1.
# gp_btrfs_mount IMG DIR: a new btrfs file system in the image file IMG
#   (512 MiB, sparse: mkfs.btrfs wants 114 MiB at least) mounted on DIR
#   (made).  Returns 0; 1 when the machine refuses (no free loop device,
#   the mount fails: a reason to skip, in $gp_btrfs_why); 2 when
#   mkfs.btrfs fails (its output in $gp_btrfs_why).
# gp_btrfs_release: unmounts DIR (and what is mounted below it) and
#   detaches the loop device; for the exit trap, harmless when nothing
#   was mounted and when called twice.
gp_btrfs_img=
gp_btrfs_dir=
gp_btrfs_loopdev=
gp_btrfs_why=

gp_btrfs_missing () {
  grep -qw btrfs /proc/filesystems 2> /dev/null || modprobe btrfs > /dev/null 2>&1
  if ! grep -qw btrfs /proc/filesystems 2> /dev/null; then
    echo "the kernel has no btrfs"
  elif [ ! -e /dev/loop-control ]; then
    echo "no loop devices (/dev/loop-control)"
  elif ! command -v losetup > /dev/null 2>&1; then
    echo "losetup not installed (Debian package mount)"
  elif ! command -v mkfs.btrfs > /dev/null 2>&1; then
    echo "mkfs.btrfs not installed (Debian package btrfs-progs)"
  else
    return 1
  fi
  return 0
}

gp_btrfs_mount () {
  gp_btrfs_why=
  if ! { truncate -s 512M "$1" && gp_btrfs_why=$(mkfs.btrfs -q "$1" 2>&1); }; then
    gp_btrfs_why="mkfs.btrfs of $1 failed: $gp_btrfs_why"
    return 2
  fi
  # for the trap, before the device is attached
  gp_btrfs_img=$1
  gp_btrfs_dir=$2
  if ! gp_btrfs_loopdev=$(losetup --find --show "$1" 2>&1); then
    gp_btrfs_why="no free loop device: $gp_btrfs_loopdev"
    gp_btrfs_loopdev=
    return 1
  fi
  mkdir -p "$2" || { gp_btrfs_why="cannot make $2"; return 1; }
  if ! gp_btrfs_why=$(mount -t btrfs "$gp_btrfs_loopdev" "$2" 2>&1); then
    gp_btrfs_why="cannot mount a btrfs file system: $gp_btrfs_why"
    return 1
  fi
  return 0
}

gp_btrfs_release () {
  if [ -n "$gp_btrfs_dir" ]; then
    awk -v d="$gp_btrfs_dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts |
      sort -r | while read -r m; do
        umount "$m" 2> /dev/null || umount -l "$m" 2> /dev/null
      done
  fi
  # every device of the image file (also one attached as the script was
  # killed, before $gp_btrfs_loopdev was set); one still mounted lazily
  # is detached once unmounted (autoclear)
  if [ -n "$gp_btrfs_img" ]; then
    losetup -n -O NAME -j "$gp_btrfs_img" 2> /dev/null | while read -r dev; do
      losetup -d "$dev" 2> /dev/null
    done
  fi
  gp_btrfs_loopdev=
  return 0
}
