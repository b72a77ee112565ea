#!/bin/bash
# graphpipe quick start on a fresh Debian 12 machine (as root, or with sudo):
#
#   ./quickstart.sh test   install dependencies, build with -Werror, run
#                          make check, check-sanitize, check-crash and
#                          check-faults, print "N passed, N failed,
#                          N skipped" over all four
#   ./quickstart.sh demo   install dependencies, build, run the main job on
#                          the bundled sample data
#
# GP_SKIP_APT=1 skips the apt-get step (dependencies already there).
# The build goes to _build/quickstart.  As root (the CI case) `test` sets
# GP_REQUIRE_ALL=1: an exactness or real-client test that would skip
# fails instead; GP_REQUIRE_ALL=0 in the environment allows the skips.
set -euo pipefail

cd "$(dirname "$0")"
top=$(pwd)
builddir=$top/_build/quickstart

# Build and test dependencies (Debian package names).
packages=(
  build-essential autoconf automake libtool pkg-config
  libglib2.0-dev libjson-glib-dev libarchive-dev zlib1g-dev nettle-dev
  libzstd-dev     # the containerd source: tar+zstd layers
  tar gzip xz-utils
  groff-base
  openssl time    # make bench: its SHA-256 floor and GNU time
  strace          # tests/bad-input.sh: traces the files opened
  python3         # the forensics tests read the JSON reports with it
)
# Real clients the tests compare against (installed with their
# recommended packages: podman needs its runtime helpers).
client_packages=(
  skopeo podman umoci docker.io containerd
  busybox-static  # tests/test-save-compat.sh, save-containers-storage.sh: the static binary their images run
  tzdata          # tests/test-save-compat.sh: a daemon in another time zone
  attr            # tests/save-containers-storage.sh: setfattr in the image podman builds
  btrfs-progs     # tests/save-compat-btrfs.sh: mkfs.btrfs for Docker's btrfs data root
)

usage () {
  echo "usage: $0 test|demo" >&2
  exit 2
}

install_deps () {
  if [ "${GP_SKIP_APT:-0}" = 1 ]; then
    return
  fi
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    sudo=(sudo)
  fi
  echo "==> installing dependencies: ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${packages[@]}" < /dev/null
  if [ "${1:-}" = test ]; then
    "${sudo[@]}" apt-get install -y -q "${client_packages[@]}" < /dev/null
  fi
}

build () {
  echo "==> building in $builddir"
  ./autogen.sh > /dev/null
  mkdir -p "$builddir"
  cd "$builddir"
  "$top/configure" --enable-werror "$@"
  make -j2
}

# Prints "N passed, N failed, N skipped" from the TAP counts automake
# writes at the top of each test-suite log (one count per test case),
# summed over all the logs given; a missing log counts as one failure.
summarize () {
  local log missing=0
  local present=()
  for log in "$@"; do
    if [ -f "$log" ]; then
      present+=("$log")
    else
      echo "no $log: that suite did not build or run" >&2
      missing=$((missing + 1))
    fi
  done
  awk -v missing="$missing" '
    FNR == 1    { header = 1 }
    /^# PASS:/  && header { pass += $3 }
    /^# XFAIL:/ && header { pass += $3 }
    /^# FAIL:/  && header { fail += $3 }
    /^# XPASS:/ && header { fail += $3 }
    /^# ERROR:/ && header { fail += $3; header = 0 }
    /^# SKIP:/  && header { skip += $3 }
    END { fail += missing
          printf "%d passed, %d failed, %d skipped\n", pass, fail, skip
          exit (fail > 0) }
  ' "${present[@]}" /dev/null
}

# Lists every skipped test case of the logs given, with its reason (the
# automake log's "SKIP: TEST N DESCRIPTION # SKIP REASON" lines; a line
# "SKIP: TEST" alone is the heading of a test's log), one line per test
# and reason: "SUITE: TEST N DESCRIPTION # SKIP REASON", or "TEST N-M (K
# checks) ..." when a script skipped K checks for one reason.
list_skips () {
  local log
  for log in "$@"; do
    [ -f "$log" ] || continue
    awk -v suite="$(basename "$log" .log | sed 's/^test-suite-*//; s/^$/check/')" '
      /^SKIP: / && NF >= 3 {
        line = substr($0, 7)
        test = $2; num = $3; rest = line
        sub(/^[^ ]+ /, "", rest)
        if (num ~ /^[0-9]+$/) sub(/^[0-9]+ ?/, "", rest); else num = ""
        key = test SUBSEP rest
        if (!(key in count)) { order[++n] = key; first[key] = num; tname[key] = test; reason[key] = rest }
        count[key]++; last[key] = num
      }
      END {
        for (i = 1; i <= n; i++) {
          k = order[i]
          nums = count[k] > 1 ? first[k] "-" last[k] " (" count[k] " checks)" : first[k]
          printf "  %s: %s %s%s%s\n", suite, tname[k], nums, (nums == "" ? "" : " "), reason[k]
        }
      }' "$log"
  done | awk '!seen[$0]++'
}

# The suites `test` runs, each with its own log in the build tree:
# make check (test-suite.log), make check-sanitize (the whole suite again
# in an ASan + UBSan build, test-suite-sanitize.log) and make check-crash
# (kill-and-rerun, test-suite-crash.log) and make check-faults (faults an
# operator meets, test-suite-faults.log).  GP_TEST_SUITES selects some.
run_tests () {
  local suites=${GP_TEST_SUITES:-check sanitize crash faults}
  local status=0 logs=() suite target log
  for suite in $suites; do
    case $suite in
      check) target=check log=test-suite.log ;;
      sanitize) target=check-sanitize log=test-suite-sanitize.log ;;
      crash) target=check-crash log=test-suite-crash.log ;;
      faults) target=check-faults log=test-suite-faults.log ;;
      *) echo "unknown suite $suite" >&2; exit 2 ;;
    esac
    echo "==> make $target"
    rm -f "$log"
    if ! make -j2 "$target"; then
      status=1
      [ -f "$log" ] && cat "$log"
    fi
    logs+=("$builddir/$log")
  done
  echo
  local skips
  skips=$(list_skips "${logs[@]}")
  if [ -n "$skips" ]; then
    echo "Skipped, and why:"
    echo "$skips"
  else
    echo "Skipped: nothing."
  fi
  local summary_status=0
  summarize "${logs[@]}" || summary_status=$?
  if [ "$status" != 0 ] || [ "$summary_status" != 0 ]; then
    exit 1
  fi
}

run_demo () {
  local root=$builddir/sample-root
  local out=$builddir/sample-images.tar
  rm -rf "$root" "$out"
  "$top/data/make-sample-root.sh" "$root"
  echo
  echo "==> ./graphpipe migrate --root $root"
  ./graphpipe migrate --root "$root"
  echo
  echo "==> ./graphpipe verify --root $root"
  ./graphpipe verify --root "$root"
  echo
  echo "==> ./graphpipe save --root $root -o $out myapp:v1 sample/busybox"
  ./graphpipe save --root "$root" -o "$out" myapp:v1 sample/busybox
  echo
  echo "==> tar -tvf $out (the docker save tarball)"
  tar -tvf "$out"
}

[ $# -eq 1 ] || usage
case $1 in
  test)
    install_deps test
    build
    if [ "$(id -u)" = 0 ] && [ -z "${GP_REQUIRE_ALL:-}" ]; then
      export GP_REQUIRE_ALL=1
    fi
    if [ "${GP_REQUIRE_ALL:-0}" != 0 ]; then
      echo "==> GP_REQUIRE_ALL=1: an exactness or real-client test that skips fails (GP_REQUIRE_ALL=0 allows skips)"
    fi
    run_tests
    ;;
  demo)
    install_deps
    build
    run_demo
    ;;
  *)
    usage
    ;;
esac
