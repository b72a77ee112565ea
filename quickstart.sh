#!/bin/bash
# graphpipe quick start on a fresh Debian 12 machine (as root, or with sudo):
#
#   ./quickstart.sh test   install dependencies, build with -Werror, run
#                          make check, print "N passed, N failed, N skipped"
#   ./quickstart.sh demo   install dependencies, build, run the main job on
#                          the bundled sample data
#
# GP_SKIP_APT=1 skips the apt-get step (dependencies already there).
# The build goes to _build/quickstart.
set -euo pipefail

cd "$(dirname "$0")"
top=$(pwd)
builddir=$top/_build/quickstart

# Build and test dependencies (Debian package names).
packages=(
  build-essential autoconf automake libtool pkg-config
  libglib2.0-dev libjson-glib-dev libarchive-dev zlib1g-dev nettle-dev
  tar gzip xz-utils
  groff-base
  openssl time    # make bench: its SHA-256 floor and GNU time
)
# Real clients the tests compare against (installed with their
# recommended packages: podman needs its runtime helpers).
client_packages=(
  skopeo podman umoci docker.io
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
# writes at the top of test-suite.log (one count per test case).
summarize () {
  local log=$1
  if [ ! -f "$log" ]; then
    echo "no $log: the test programs did not build" >&2
    echo "0 passed, 1 failed, 0 skipped"
    return 1
  fi
  awk '
    /^# PASS:/  { pass += $3 }
    /^# XFAIL:/ { pass += $3 }
    /^# FAIL:/  { fail += $3 }
    /^# ERROR:/ { fail += $3 }
    /^# XPASS:/ { fail += $3 }
    /^# SKIP:/  { skip += $3 }
    END { printf "%d passed, %d failed, %d skipped\n", pass, fail, skip
          exit (fail > 0) }
  ' "$log"
}

run_tests () {
  echo "==> make check"
  local status=0
  make -j2 check || status=$?
  if [ "$status" != 0 ] && [ -f test-suite.log ]; then
    cat test-suite.log
  fi
  echo
  local summary_status=0
  summarize "$builddir/test-suite.log" || summary_status=$?
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
