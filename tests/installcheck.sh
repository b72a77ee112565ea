#!/bin/bash
# make installcheck (also run by make distcheck): the installed graphpipe,
# with an empty environment, finds its installed stages and presets and
# migrates a legacy root; the manual pages and the bash completion are
# installed.
#
# Usage: installcheck.sh BINDIR MANDIR COMPLETIONDIR|"" GP-MKLEGACY SRCDIR
set -eu
bindir=$1 mandir=$2 completiondir=$3 mklegacy=$4 srcdir=$5
failed=0
fail () { echo "installcheck: FAIL: $*" >&2; failed=1; }
pass () { echo "installcheck: ok: $*"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gp () { env -i PATH=/usr/bin:/bin HOME="$tmp" "$bindir/graphpipe" "$@"; }

[ -x "$bindir/graphpipe" ] || { echo "installcheck: $bindir/graphpipe not installed" >&2; exit 1; }

stages=$(gp stages) || fail "graphpipe stages exits non-zero"
for s in scan-graph register-layers build-configs rewrite-containers migrate-tags docker-store legacy-graph tar-export oci-export verify; do
  case $stages in
    *"$s "*) pass "stage $s found" ;;
    *) fail "stage $s not found by the installed graphpipe: $stages" ;;
  esac
done
presets=$(gp presets) || fail "graphpipe presets exits non-zero"
for p in migrate save verify; do
  case $presets in
    *"$p "*) pass "preset $p found" ;;
    *) fail "preset $p not found by the installed graphpipe: $presets" ;;
  esac
done

"$mklegacy" "$srcdir/data/sample-root.ini" "$tmp/root" > /dev/null
if gp migrate --root "$tmp/root" --progress=plain > "$tmp/out" 2>&1 \
   && grep -q '^images migrated: 4$' "$tmp/out"; then
  pass "graphpipe migrate with no environment"
else
  fail "graphpipe migrate with no environment:"
  cat "$tmp/out" >&2
fi

if gp save --root "$tmp/root" -o "$tmp/out.tar" --progress=plain myapp:latest > "$tmp/out" 2>&1 \
   && [ -s "$tmp/out.tar" ]; then
  pass "graphpipe save with no environment"
else
  fail "graphpipe save with no environment:"
  cat "$tmp/out" >&2
fi
if gp verify --root "$tmp/root" --progress=plain > "$tmp/out" 2>&1; then
  pass "graphpipe verify with no environment"
else
  fail "graphpipe verify with no environment:"
  cat "$tmp/out" >&2
fi

for page in man1/graphpipe.1 man5/graphpipe-presets.5; do
  if [ -f "$mandir/$page" ]; then pass "$page installed"; else fail "$mandir/$page not installed"; fi
done
if [ -n "$completiondir" ]; then
  if [ -f "$completiondir/graphpipe" ]; then
    pass "bash completion installed"
  else
    fail "$completiondir/graphpipe not installed"
  fi
fi
exit $failed
