# Sourced by the bench scripts (run-bench.sh, shapes.sh, podman-side.sh):
# one trash directory for everything a benchmark would delete, removed
# once, at the very end of the outermost script.
#
# Why: BENCH_DIR is often on ext4 without a journal (this machine's is).
# There the inode allocator skips the inodes freed in the last 1 to 6
# minutes, testing them one by one on every create (recently_deleted() in
# fs/ext4/ialloc.c), so a run that creates files right after an `rm -rf`
# of a big tree nearby pays 10-20x more system time for it (migrate went
# from 1.34 s to 3.9 s).  So nothing big is deleted during a benchmark:
# aside trees, old roots, tarballs, OCI directories and podman roots are
# renamed into $BENCH_TRASH (a rename frees no inode); the outermost
# script removes it in its EXIT trap and records when in
# $dir/trash.removed, and the next benchmark started within 6 minutes of
# that says its system times may be inflated, and why.
#
# Use (with $dir = BENCH_DIR set, before anything is measured):
#   . "$(dirname "$0")/trash.sh"
#   trash_init            # prints the warning line when due
#   trap '...; trash_end' EXIT
#   trash PATH...         # instead of rm -rf PATH...
# A script run by another one finds BENCH_TRASH in its environment and
# leaves the removal to it.

# trash_fs DIR: what file system DIR is on, e.g. "ext4 without a journal
# (vda)"; "ext4 with a journal (vda)"; "xfs"; "unknown".  Reads
# findmnt and /sys/fs/ext4/DEV/journal_task ("<none>" without a journal).
trash_fs () {
  local src fstype dev jt
  read -r src fstype < <(findmnt -n -o SOURCE,FSTYPE -T "$1" 2> /dev/null) || { echo unknown; return; }
  if [ "$fstype" != ext4 ]; then
    echo "${fstype:-unknown}"
    return
  fi
  dev=$(basename "$(readlink -f "$src")")
  jt=$(cat "/sys/fs/ext4/$dev/journal_task" 2> /dev/null) || { echo "ext4 ($dev)"; return; }
  if [ "$jt" = "<none>" ]; then
    echo "ext4 without a journal ($dev)"
  else
    echo "ext4 with a journal ($dev)"
  fi
}

# trash_init: BENCH_TRASH (exported) is $dir/trash unless an outer script
# set it; the outermost one owns it and prints, when the previous
# benchmark's removal is less than 6 minutes old, a line saying so.  A
# trash left by an interrupted run is kept and removed at the end with
# this run's.
trash_init () {
  trash_owner=no
  if [ -z "${BENCH_TRASH:-}" ]; then
    trash_owner=yes
    BENCH_TRASH=$dir/trash
    export BENCH_TRASH
  fi
  mkdir -p "$BENCH_TRASH"
  [ "$trash_owner" = yes ] || return 0
  local fs since
  fs=$(trash_fs "$dir")
  echo "   $dir: on $fs; nothing is deleted until the end (bench/trash.sh)"
  [ -f "$dir/trash.removed" ] || return 0
  since=$(( $(date +%s) - $(cat "$dir/trash.removed") ))
  if [ "$since" -ge 0 ] && [ "$since" -lt 360 ]; then
    case $fs in
      "ext4 without a journal"*)
        echo "   WARNING: the previous benchmark removed its trash ${since} s ago (< 360 s): system times may be inflated;"
        echo "   on $fs the inode allocator skips the inodes freed in the last 1-6 minutes, one by one, on every"
        echo "   create, so whatever creates files (migrate, save, generation) pays for them; for clean figures start $((360 - since)) s later" ;;
      *)
        echo "   note: the previous benchmark removed its trash ${since} s ago; on $fs the 1-6 minute slowdown of ext4 without a journal does not apply, but the freed blocks and memory may still move system times" ;;
    esac
  fi
}

# trash PATH...: moves each existing PATH into $BENCH_TRASH (a rename:
# the same file system as BENCH_DIR).
trash () {
  local p t
  for p in "$@"; do
    [ -e "$p" ] || [ -L "$p" ] || continue
    t=$(mktemp -d "$BENCH_TRASH/t.XXXXXX")
    mv -- "$p" "$t/"
  done
}

# trash_end: in the outermost script, removes the trash (timed) and
# stamps $dir/trash.removed with the time it finished.
trash_end () {
  [ "${trash_owner:-no}" = yes ] || return 0
  [ -d "$BENCH_TRASH" ] || return 0
  local t0 t1
  t0=$(date +%s.%N)
  rm -rf "$BENCH_TRASH"
  t1=$(date +%s.%N)
  date +%s > "$dir/trash.removed"
  echo
  echo "trash removed ($BENCH_TRASH, $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s): a benchmark started in the next 6 minutes may show inflated system times (it will say so)"
}
