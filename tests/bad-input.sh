#!/bin/sh
# Hostile and broken input (TAP): runs every case of tests/bad-input/.
#
# A case, tests/bad-input/NAME.case, is a shell fragment (sourced here)
# that defines the function `setup`, which writes a tiny data root under
# $root (with `mk`, i.e. tests/gp-mklegacy, and plain shell), and may put
# files outside it under $outside (the canary $outside/canary exists
# already; escape attempts aim there); for a containerd root, `ctrd_meta`
# writes meta.db from tests/gp-mkbolt's description and `ctrd_blob FILE`
# puts a blob in its content store.  It then states, with these
# helpers, what must happen:
#   args ARG...        the graphpipe command line after --root $root
#                      (default: migrate)
#   want_rc N          the exit status (default 0)
#   want 'TEXT'        a line of the output (stdout + stderr) contains
#                      TEXT; $ID_label stands for the v1 ID of a label
#   want_not 'TEXT'    no line contains TEXT
#   want_file PATH 'CONTENT'   $root/PATH holds exactly CONTENT
#   want_same PATH FILE        $root/PATH has the bytes of FILE (written
#                      by setup in the case's directory)
#   limits SECONDS MB  time limit and peak RSS limit (default 60 s, 200 MiB)
# Every case is also checked for: no crash (no signal), no hang (killed
# after the time limit), bounded memory (peak RSS; address space limited
# to 1 GiB outside ASan), nothing written outside the target store (the
# source unchanged apart from Docker's helper files, no new entry outside
# image/ and them, $outside untouched), no byte read from outside the
# data root (the canary's atime and every file under $outside, and, with
# strace(1) installed, every file the process opened).
set -u

top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=$(cd "${GP_TOP_BUILDDIR:-.}" && pwd)
GRAPHPIPE=${GRAPHPIPE:-$top_builddir/graphpipe}
MKLEGACY=${MKLEGACY:-$top_builddir/tests/gp-mklegacy}
MKBOLT=${MKBOLT:-$top_builddir/tests/gp-mkbolt}
RUNLIMIT=${RUNLIMIT:-$top_builddir/tests/gp-runlimit}
cases_dir=$top_srcdir/tests/bad-input

. "$top_srcdir/tests/migrate-tap.sh"

# On a tmpfs when there is one: fsync is free there (the 1,000-deep chain
# syncs thousands of files), and nothing here tests durability.
scratch=${TMPDIR:-/tmp}
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
  scratch=/dev/shm
fi
tmp=$(mktemp -d "$scratch/gp-bad-XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
tmp=$(cd "$tmp" && pwd -P)

use_strace=no
if [ -n "${ASAN_OPTIONS:-}" ]; then
  # LeakSanitizer refuses to run under ptrace; the normal build traces.
  diag "ASan build: opened files are not traced (the canary checks remain)"
elif command -v strace > /dev/null 2>&1 && strace -f -qq -e trace=openat -o /dev/null true 2> /dev/null; then
  use_strace=yes
else
  diag "strace not usable: opened files are not traced (the canary checks remain)"
fi
# Address space limit: none under ASan (it reserves terabytes of shadow).
# The time limits are for the plain build: longer under the sanitizers
# and much longer under valgrind.
as_limit=1024
rss_factor=1
time_factor=1
if [ -n "${ASAN_OPTIONS:-}" ]; then
  as_limit=0
  rss_factor=4
  time_factor=3
fi
if [ -n "${GP_UNDER_VALGRIND:-}" ]; then
  as_limit=0
  rss_factor=4
  time_factor=10
fi

id_of () {
  printf '%s' "$1" | sha256sum | cut -d' ' -f1
}

# mk < DESCRIPTION: writes $root with gp-mklegacy.
mk () {
  cat > "$tmp/case.ini"
  "$MKLEGACY" "$tmp/case.ini" "$root" > "$tmp/mk.log" 2>&1 || { cat "$tmp/mk.log"; return 1; }
}
# ctrd_meta < DESCRIPTION: writes the containerd root $root's meta.db
# (tests/gp-mkbolt's description); ctrd_blob FILE: moves FILE into its
# content store and prints its digest.
ctrd_meta () {
  mkdir -p "$root/io.containerd.metadata.v1.bolt" &&
    "$MKBOLT" "$root/io.containerd.metadata.v1.bolt/meta.db"
}
ctrd_blob () {
  local blobs=$root/io.containerd.content.v1.content/blobs/sha256 h
  mkdir -p "$blobs"
  h=$(sha256sum < "$1" | cut -d' ' -f1)
  mv "$1" "$blobs/$h"
  echo "sha256:$h"
}
# tarsplit_gz V1ID < LINES: replaces graph/V1ID/tar-data.json.gz.
tarsplit_gz () {
  gzip -n -c > "$root/graph/$1/tar-data.json.gz"
}
args () { case_args="$*"; }
want_rc () { case_rc=$1; }
want () { printf '%s\n' "$1" >> "$tmp/want"; }
want_not () { printf '%s\n' "$1" >> "$tmp/want_not"; }
want_file () { printf '%s\t%s\n' "$1" "$2" >> "$tmp/want_file"; }
want_same () { printf '%s\t%s\n' "$1" "$2" >> "$tmp/want_same"; }
limits () { case_secs=$1; case_mb=$2; }

# outside_stat / outside_sums: the entries of $outside with their times
# (stat reads no byte, so the canaries' atimes stay), and their contents.
outside_stat () {
  (cd "$outside" && LC_ALL=C find . -printf '%p %y %m %s %A@ %T@ %C@\n' | LC_ALL=C sort)
}
outside_sums () {
  (cd "$outside" && LC_ALL=C find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}
# source_view: the entries of the pristine root as they are now.
source_view () {
  (cd "$root" && while IFS= read -r p; do
     if [ -L "$p" ]; then
       printf '%s\tl\t%s\n' "$p" "$(readlink "$p")"
     elif [ -d "$p" ]; then
       printf '%s\td\t%s\n' "$p" "$(stat -c '%a %u:%g' "$p")"
     elif [ -f "$p" ]; then
       printf '%s\t%s\t%s\n' "$p" "$(stat -c '%F %a %u:%g %s' "$p")" "$(sha256sum < "$p" | cut -d' ' -f1)"
     elif [ -e "$p" ]; then
       printf '%s\t%s\n' "$p" "$(stat -c '%F %a %u:%g %t:%T' "$p")"
     else
       printf '%s\tmissing\n' "$p"
     fi
   done < "$tmp/paths")
}
new_outside_store () {
  (cd "$root" && LC_ALL=C find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort) |
    LC_ALL=C comm -13 "$tmp/paths" - |
    grep -Ev '^image(/|$)|^\.migration-v1-images\.json$|^\.migration-v1-tags$|^graph/[0-9a-f]{64}/\.migration-(tardata|size|diffid)$|^containers/[^/]+/config\.v2\.json$'
}

# opened_outside TRACE: files the process opened (strace -y) under the
# case's scratch directory but not under the root (e.g. the canaries).
opened_outside () {
  sed -n 's/^[0-9]* *\(open\|openat\|openat2\|creat\)(\(.*\)$/\2/p' "$1" |
  awk -v root="$root" -v scratch="$casedir" -v cwd="$(pwd -P)" '
    function clean (p,   n, parts, out, i, k) {
      n = split (p, parts, "/"); k = 0
      for (i = 1; i <= n; i++) {
        if (parts[i] == "" || parts[i] == ".") continue
        if (parts[i] == "..") { if (k > 0) k--; continue }
        out[++k] = parts[i]
      }
      p = ""
      for (i = 1; i <= k; i++) p = p "/" out[i]
      return p == "" ? "/" : p
    }
    {
      line = $0; dir = ""
      if (match (line, /^[0-9]+<[^>]*>, /)) {
        dir = substr (line, 1, RLENGTH - 3); sub (/^[0-9]+</, "", dir)
        line = substr (line, RLENGTH + 1)
      } else if (match (line, /^AT_FDCWD, /)) {
        line = substr (line, RLENGTH + 1)
      }
      if (substr (line, 1, 1) != "\"") next
      name = substr (line, 2); sub (/", .*$/, "", name)
      if (substr (name, 1, 1) != "/") name = (dir != "" ? dir : cwd) "/" name
      name = clean (name)
      if (index (name, scratch "/") == 1 && name != root && index (name, root "/") != 1)
        print name
    }'
}

run_case () {
  file=$1
  name=${file##*/}
  name=${name%.case}
  casedir=$tmp/$name
  root=$casedir/root
  outside=$casedir/outside
  mkdir -p "$outside" "$casedir"
  : > "$tmp/want"; : > "$tmp/want_not"; : > "$tmp/want_file"; : > "$tmp/want_same"
  case_args=migrate case_rc=0 case_secs=60 case_mb=200
  printf 'canary: not to be read\n' > "$outside/canary"
  printf '{"id":"canary"}' > "$outside/canary.json"
  unset -f setup
  . "$file"
  if ! ( cd "$casedir" && setup ) > "$tmp/setup.log" 2>&1; then
    not_ok "$name: setup failed"
    sed 's/^/#   /' "$tmp/setup.log" | head -10
    return
  fi
  outside_sums > "$tmp/sums.before"
  # Old access times, so that any read of the canaries updates them.
  find "$outside" -type f -exec touch -a -d '2001-01-01 00:00:00' {} +
  outside_stat > "$tmp/outside.before"
  # (the mapping file of an earlier run is rewritten by every run, as
  # Docker does)
  (cd "$root" && LC_ALL=C find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
     grep -vx '\.migration-v1-images\.json') > "$tmp/paths"
  source_view > "$tmp/view.before"

  set -- "$GRAPHPIPE" $case_args --root "$root"
  if [ $use_strace = yes ]; then
    set -- strace -f -qq -y -e trace=open,openat,openat2,creat -o "$casedir/trace" "$@"
  fi
  "$RUNLIMIT" "$((case_secs * time_factor))" "$as_limit" "$casedir/rss" "$@" > "$casedir/out" 2>&1
  rc=$?
  problems=""
  case $rc in
    124) problems="$problems hang(killed-after-$((case_secs * time_factor))s)" ;;
    12[5-9]|1[3-9][0-9]|2[0-9][0-9]) problems="$problems crash(exit-$rc)" ;;
  esac
  [ "$rc" = "$case_rc" ] || problems="$problems exit-$rc-not-$case_rc"
  while IFS= read -r w; do
    [ -n "$w" ] || continue
    grep -qF -- "$w" "$casedir/out" || problems="$problems missing-output"
  done < "$tmp/want"
  while IFS= read -r w; do
    [ -n "$w" ] || continue
    grep -qF -- "$w" "$casedir/out" && problems="$problems unwanted-output"
  done < "$tmp/want_not"
  while IFS='	' read -r p c; do
    [ "$(cat "$root/$p" 2>/dev/null)" = "$c" ] || problems="$problems wrong-content($p)"
  done < "$tmp/want_file"
  while IFS='	' read -r p o; do
    [ -f "$casedir/$o" ] && cmp -s "$root/$p" "$casedir/$o" || problems="$problems differs($p,$o)"
  done < "$tmp/want_same"
  rss=$(cat "$casedir/rss" 2>/dev/null || echo 0)
  [ "$rss" -le $((case_mb * rss_factor * 1024)) ] || problems="$problems memory(${rss}KiB)"
  source_view > "$tmp/view.after"
  cmp -s "$tmp/view.before" "$tmp/view.after" || problems="$problems source-modified"
  new_outside_store > "$tmp/new"
  [ -s "$tmp/new" ] && problems="$problems wrote-outside-store"
  outside_stat > "$tmp/outside.after"
  cmp -s "$tmp/outside.before" "$tmp/outside.after" || problems="$problems touched-outside"
  outside_sums > "$tmp/sums.after"
  cmp -s "$tmp/sums.before" "$tmp/sums.after" || problems="$problems modified-outside"
  if [ $use_strace = yes ]; then
    opened_outside "$casedir/trace" > "$tmp/opened"
    [ -s "$tmp/opened" ] && problems="$problems opened-outside-root"
  fi
  case $case_args in
    save*) [ -e "$casedir/out.tar" ] && [ "$rc" != 0 ] && problems="$problems output-left-behind"
           ls -A "$casedir" | grep -q 'gp-tmp' && problems="$problems temporary-left-behind" ;;
  esac
  if [ -z "$problems" ]; then
    ok "$name: exit $rc, $(head -1 "$tmp/want" | cut -c1-100) (peak RSS $((rss / 1024)) MiB)"
  else
    not_ok "$name:$problems"
    sed 's/^/#   want: /' "$tmp/want" | head -5
    grep -v '^crash point' "$casedir/out" | sed 's/^/#   | /' | tail -20
    diff "$tmp/view.before" "$tmp/view.after" | sed 's/^/#   source: /' | head -5
    sed 's/^/#   new: /' "$tmp/new" | head -5
    diff "$tmp/outside.before" "$tmp/outside.after" | sed 's/^/#   outside: /' | head -5
    [ $use_strace = yes ] && sed 's/^/#   opened: /' "$tmp/opened" | head -5
  fi
  rm -rf "$casedir"
}

only=${GP_BAD_INPUT_CASES:-}
for f in "$cases_dir"/*.case; do
  if [ -n "$only" ]; then
    b=${f##*/}
    case " $only " in *" ${b%.case} "*) ;; *) continue ;; esac
  fi
  run_case "$f"
done
done_testing
