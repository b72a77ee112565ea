#!/bin/sh
# Regenerate the build system: ./autogen.sh && ./configure && make
set -e
srcdir=$(dirname "$0")
test -n "$srcdir" || srcdir=.
mkdir -p "$srcdir/m4"
autoreconf --force --install --verbose "$srcdir"
