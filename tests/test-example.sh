#!/bin/sh
# Take graphpipe as installed into a temporary prefix (make install
# DESTDIR=..., done by make check before the tests),
# build plugins/example out of tree with nothing but pkg-config and its
# standalone Makefile, and run it from a preset via --plugin-dir with the
# installed graphpipe.  Prints TAP.
set -u

top_builddir=${GP_TOP_BUILDDIR:?run from make check}
top_srcdir=${GP_TOP_SRCDIR:?run from make check}
MAKE=${GP_MAKE:-make}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}

n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check () { desc=$1; shift; if "$@"; then ok "$desc"; else not_ok "$desc"; fi; }
bail () { echo "Bail out! $1"; sed 's/^/# /' "$tmp/log" 2>/dev/null | tail -n 40; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gp-example.XXXXXX") || bail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

echo "1..17"

# 1. the tree `make check` installed with DESTDIR before any test ran
# (tests/example-dest.stamp in tests/foundation.am): installing from here
# would relink modules that other tests are loading at the same moment.
# A private copy, so that this test cannot disturb the next run.
installed=$top_builddir/tests/example-dest
if [ -f "$top_builddir/tests/example-dest.stamp" ] && cp -a "$installed" "$dest" 2> "$tmp/log"; then
  ok "make install DESTDIR=$installed (before the tests)"
else
  not_ok "make install DESTDIR=$installed (before the tests)"
  bail "no installed tree"
fi

pc=$(find "$dest" -name graphpipe-1.0.pc | head -n 1)
check "graphpipe-1.0.pc installed" test -n "$pc"
[ -n "$pc" ] || bail "no graphpipe-1.0.pc"

# The .pc file is relocatable: every path derives from prefix=, so moving
# the DESTDIR tree is one line.  A private copy says where it is now.
prefix=$(sed -n 's/^prefix=//p' "$pc")
pcdir=$tmp/pkgconfig
mkdir -p "$pcdir"
sed "s|^prefix=.*|prefix=$dest$prefix|" "$pc" > "$pcdir/graphpipe-1.0.pc"
pkgconf () {
  PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" $PKG_CONFIG "$@"
}
stagedir=$(pkgconf --variable=stagedir graphpipe-1.0)
libdir=$(pkgconf --variable=libdir graphpipe-1.0)
bindir=$(dirname "$libdir")/bin
case $stagedir in
  "$dest"/*/graphpipe/stages) ok "stagedir variable relocated: $stagedir" ;;
  *) not_ok "stagedir variable relocated: '$stagedir'" ;;
esac
check "in-tree example installed in stagedir, without .la" \
  test -f "$stagedir/example.so" -a ! -e "$stagedir/example.la"

# 2. build the example out of tree: a copy of its folder, pkg-config only
mkdir -p "$tmp/src"
cp "$top_srcdir/plugins/example/example.c" "$top_srcdir/plugins/example/example-layers.c" \
  "$top_srcdir/plugins/example/Makefile" "$tmp/src/"
chmod u+w "$tmp/src"/*
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
     PKG_CONFIG="$PKG_CONFIG" \
     PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" \
     $MAKE -C "$tmp/src" > "$tmp/log" 2>&1 && test -f "$tmp/src/example.so"; then
  ok "example built out of tree with pkg-config"
else
  not_ok "example built out of tree with pkg-config"
  bail "cannot build the example"
fi

# Sub-headers refuse direct inclusion: third parties include graphpipe.h.
printf '#include <gp-stage.h>\nint main (void) { return 0; }\n' > "$tmp/direct.c"
if ${CC:-cc} -c $(pkgconf --cflags graphpipe-1.0) -o "$tmp/direct.o" "$tmp/direct.c" \
     > "$tmp/direct.log" 2>&1; then
  not_ok "including a sub-header directly fails"
else
  check "including a sub-header directly fails" \
    grep -q "Only <graphpipe.h> can be included directly" "$tmp/direct.log"
fi

# 3. run it with the installed graphpipe from a preset via --plugin-dir
mkdir -p "$tmp/root/a/b" "$tmp/root/.hidden"
printf 12345 > "$tmp/root/a/x"
printf 123 > "$tmp/root/a/b/y"
printf 1234567 > "$tmp/root/c"
printf 1 > "$tmp/root/.hidden/z"
cat > "$tmp/count.conf" <<EOC
[pipeline]
description=count with the out-of-tree example
stages=example

[example]
sort=bytes
EOC

run_installed () {
  env -u GRAPHPIPE_PLUGIN_PATH GRAPHPIPE_NO_SYSTEM_PLUGINS=1 \
    LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "$bindir/graphpipe" "$@"
}

run_installed stages --plugin-dir "$tmp/src" example > "$tmp/stages.out" 2>&1
check "the module comes from --plugin-dir" \
  grep -qx "module:   $tmp/src/example.so" "$tmp/stages.out"

run_installed run --plugin-dir "$tmp/src" --root "$tmp/root" "$tmp/count.conf" \
  > "$tmp/run.out" 2> "$tmp/run.err"
status=$?
check "graphpipe run exits 0 (got $status)" test "$status" -eq 0
sed 's/^/# /' "$tmp/run.err"

expected="[example] started
[example] a: 2 files, 1 directories, 8 bytes
[example] c: 1 files, 0 directories, 7 bytes"
check "per-directory counts, by size, hidden left out" \
  test "$(head -n 3 "$tmp/run.err")" = "$expected"
check "counters in the report" \
  grep -qx "example.bytes: 15" "$tmp/run.err"

# 4. the example sink (example-layers), built out of tree too, after the
# docker-store source on the golden migrated root: its listing of every
# golden save's images must be what Docker 1.10.3's own save of the same
# names holds (manifest.json, each config's diff_ids, each layer.tar's
# length), with the lengths the source knows and with every layer
# streamed and counted (measure=true).
check "example-layers.so built out of tree" test -f "$tmp/src/example-layers.so"
shared=${GP_SHARED_DIR:-$top_builddir/tests/shared}
golden=$shared/golden/public
cases="busybox_latest busybox myapp_v1+busybox_1.0"
skip_sink () {
  for c in $cases; do
    for m in false true; do
      if [ -n "${GP_REQUIRE_ALL:-}" ]; then
        not_ok "example-layers, save-$c, measure=$m: $1 (GP_REQUIRE_ALL)"
      else
        n=$((n + 1)); echo "ok $n - example-layers, save-$c, measure=$m # SKIP $1"
      fi
    done
  done
}
# expected_listing TARBALL: "<image ID> <n> <DiffID> <length>" lines from a
# docker save tarball, read with tar and sed only.
expected_listing () {
  tar -tvzf "$1" | awk '$NF ~ /\/layer\.tar$/ { print $NF, $3 }' > "$tmp/sizes"
  tar -xzOf "$1" manifest.json | sed 's/},{/}\n{/g' | while read -r entry; do
    cfg=$(printf '%s\n' "$entry" | sed -n 's/.*"Config":"\([0-9a-f]*\)\.json".*/\1/p')
    printf '%s\n' "$entry" | sed 's/.*"Layers":\[\([^]]*\)\].*/\1/' | tr ',' '\n' | tr -d '"' \
      > "$tmp/layers"
    tar -xzOf "$1" "$cfg.json" | sed 's/.*"diff_ids":\[\([^]]*\)\].*/\1/' | tr ',' '\n' \
      | tr -d '"' > "$tmp/diffs"
    i=0
    paste -d' ' "$tmp/layers" "$tmp/diffs" | while read -r layer diff; do
      i=$((i + 1))
      echo "sha256:$cfg $i $diff $(awk -v l="$layer" '$1 == l { print $2 }' "$tmp/sizes")"
    done
  done | LC_ALL=C sort
}
if [ ! -f "$golden/migrated-root.tar.gz" ]; then
  skip_sink "no golden data in $golden"
elif [ "$(id -u)" != 0 ]; then
  skip_sink "not root (the golden root's owners must be kept)"
else
  mkdir -p "$tmp/groot"
  tar --numeric-owner -p --xattrs --xattrs-include='*' -xzf "$golden/migrated-root.tar.gz" \
    -C "$tmp/groot" || bail "cannot extract the golden migrated root"
  cat > "$tmp/layers.conf" <<'EOC'
[pipeline]
description=list the layers of images with the out-of-tree example sink
stages=docker-store;example-layers

[docker-store]
images=${images}

[example-layers]
output=-
measure=${measure}
EOC
  for c in $cases; do
    tarball=$(ls "$golden/save-$c.tar.gz" "$golden/save-$c.variant1.tar.gz" 2> /dev/null | head -n 1)
    names=$(sed -n 's/^# docker save .* of: //p' "$golden/save-$c.txt" | head -n 1)
    expected_listing "$tarball" > "$tmp/want"
    for m in false true; do
      # the source from the installed stage directory, the sink from
      # --plugin-dir (which shadows the installed copy of the example)
      env GRAPHPIPE_PLUGIN_PATH="$stagedir" GRAPHPIPE_NO_SYSTEM_PLUGINS=1 \
        LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
        "$bindir/graphpipe" run -q --plugin-dir "$tmp/src" --root "$tmp/groot" \
        --set "images=$names" --set measure=$m "$tmp/layers.conf" > "$tmp/got.raw" 2> "$tmp/sink.err"
      status=$?
      LC_ALL=C sort "$tmp/got.raw" > "$tmp/got"
      if [ "$status" = 0 ] && [ -s "$tmp/want" ] && cmp -s "$tmp/want" "$tmp/got"; then
        ok "example-layers, save-$c ($names), measure=$m: $(wc -l < "$tmp/got") layers as Docker's save lists them"
      else
        not_ok "example-layers, save-$c ($names), measure=$m: exit $status, listing differs"
        diff "$tmp/want" "$tmp/got" | sed 's/^/# /' | head -n 10
        sed 's/^/# /' "$tmp/sink.err" | head -n 5
      fi
    done
  done
fi

exit $failed
