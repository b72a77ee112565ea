#!/bin/bash
# No include runs upward (README.md "Layout", core/README.md).  TAP.
#
# Each folder has a rank: core/format < core/tar < core/store < core (the
# runtime) < tools, stages, plugins.  A file of core/ may include a header
# of its own rank or a lower one; tools/, stages/ and plugins/ include only
# graphpipe.h of ours (plus config.h, headers of their own folder and, for
# stages, stages/common/).  Every `#include "..."` and `#include <...>` line
# of a .c or .h file is checked; a header is known by its name, the way
# the build finds it (-I per layer, installed flat).
#
#   tests/layering.sh            the test: checks the source tree, then
#                                proves the check fails on copies of it
#                                with an upward include planted
#   tests/layering.sh --check D  checks the tree at D; prints one line per
#                                offending include, exits 1 if any
set -u

# rank_of DIR (relative to the top): the layer's rank and name.  A new
# folder of core/ must be given a rank here (until then it fails).
rank_of () {
  case $1 in
    core/format|core/format/*) echo "1 format" ;;
    core/tar|core/tar/*)       echo "2 tar" ;;
    core/store|core/store/*)   echo "3 store" ;;
    core)                      echo "4 runtime" ;;
    core/*)                    echo "0 unranked" ;;
    *)                         echo "5 module" ;;
  esac
}

# includes_of FILE: "line:<quote><header>" for each #include line.
includes_of () {
  grep -n -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<][^">]*[">]' "$1" \
    | sed -E 's/^([0-9]+):[[:space:]]*#[[:space:]]*include[[:space:]]*(["<])([^">]*)[">].*/\1:\2\3/'
}

# check_tree ROOT [FOLDER...]: prints "file:line: message" for each include
# that breaks the rule, in the given folders (default: all of them).
check_tree () {
  local root=$1
  shift
  local folders=("$@")
  [ ${#folders[@]} -gt 0 ] || folders=(core tools stages plugins)

  # Where each header of core/ lives: name -> folder.
  local -A where=()
  local h
  while IFS= read -r h; do
    where[${h##*/}]=${h%/*}
  done < <(cd "$root" && find core -name '*.h' | LC_ALL=C sort)

  local file dir mine myname lineno inc quote name theirs theirname
  while IFS= read -r file; do
    dir=${file%/*}
    read -r mine myname <<< "$(rank_of "$dir")"
    while IFS=: read -r lineno inc; do
      quote=${inc:0:1}
      inc=${inc:1}
      name=${inc##*/}
      [ "$name" = config.h ] && continue
      if [ "$mine" -eq 5 ]; then
        [ "$name" = graphpipe.h ] && continue
        [ -f "$root/$dir/$inc" ] && continue
        case $file in
          stages/*) [ -f "$root/stages/common/$inc" ] && continue ;;
        esac
        if [ -n "${where[$name]+set}" ]; then
          echo "$file:$lineno: includes \"$inc\" (${where[$name]}/): $dir/ may include only graphpipe.h of the library"
        elif [ "$quote" = '"' ]; then
          echo "$file:$lineno: includes \"$inc\", found neither in $dir/ nor in core/"
        fi
        continue
      fi
      if [ -n "${where[$name]+set}" ]; then
        read -r theirs theirname <<< "$(rank_of "${where[$name]}")"
        if [ "$theirs" -gt "$mine" ]; then
          echo "$file:$lineno: includes \"$inc\" from ${where[$name]}/ (layer $theirname), above its own layer $myname"
        fi
      elif [ "$quote" = '"' ]; then
        echo "$file:$lineno: includes \"$inc\", not a header of core/"
      fi
    done < <(includes_of "$root/$file")
  done < <(cd "$root" && find "${folders[@]}" \( -name '*.c' -o -name '*.h' \) \
             -not -path '*/.*' 2>/dev/null | LC_ALL=C sort)
}

if [ "${1:-}" = --check ]; then
  out=$(check_tree "$2")
  if [ -n "$out" ]; then
    printf '%s\n' "$out"
    exit 1
  fi
  exit 0
fi

top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/migrate-tap.sh"
self="$top_srcdir/tests/layering.sh"

# 1. The source tree keeps the rule, folder by folder.
for folder in core/format core/tar core/store core tools stages plugins; do
  depth=3
  if [ "$folder" = core ]; then
    depth=1
    out=$(check_tree "$top_srcdir" core | grep -v '^core/[^/:]*/')
  else
    out=$(check_tree "$top_srcdir" "$folder")
  fi
  n=$(find "$top_srcdir/$folder" -maxdepth $depth \( -name '*.c' -o -name '*.h' \) | wc -l)
  if [ "$n" -eq 0 ]; then
    not_ok "$folder/: has sources to check"
  elif [ -z "$out" ]; then
    ok "$folder/: no include above its layer ($n files)"
  else
    not_ok "$folder/: no include above its layer"
    printf '%s\n' "$out" | sed 's/^/#   /'
  fi
done

# 2. The check fails when an upward include is planted: in a copy of the
# tree, one include added as line 2 of a file; --check must exit 1 with
# exactly one line, naming that file, line and header.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gp-layering.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

copy_tree () {
  rm -rf "$tmp/tree"
  mkdir -p "$tmp/tree"
  (cd "$top_srcdir" && cp -r core tools stages plugins "$tmp/tree/")
}

# plant FILE HEADER DESCRIPTION
plant () {
  local file=$1 header=$2 what=$3 rc
  copy_tree
  if [ ! -f "$tmp/tree/$file" ]; then
    not_ok "planted: $what (no $file to plant in)"
    return
  fi
  sed -i "1a #include \"$header\"" "$tmp/tree/$file"
  "$BASH" "$self" --check "$tmp/tree" > "$tmp/out" 2>&1
  rc=$?
  if [ $rc -eq 1 ] && grep -qF "$file:2: includes \"$header\"" "$tmp/out" \
     && [ "$(wc -l < "$tmp/out")" -eq 1 ]; then
    ok "planted: $what fails the check"
    sed 's/^/#   /' "$tmp/out"
  else
    not_ok "planted: $what fails the check (exit $rc, want 1 and one line)"
    sed 's/^/#   | /' "$tmp/out" | head -10
  fi
}

plant core/tar/gp-tarwriter.c gp-store.h "tar including the store"
plant core/format/gp-json.c gp-tarsplit.h "format including tar"
plant core/store/gp-store.c graphpipe.h "store including the runtime"
plant tools/gp-cli.c gp-context.h "tools including a sub-header"
plant stages/scan-graph/scan-graph.c gp-store-private.h "a stage including a private header"

# 3. The unchanged copy passes (the failures above are the plant's).
copy_tree
if "$BASH" "$self" --check "$tmp/tree" > "$tmp/out" 2>&1; then
  ok "unchanged copy passes the check"
else
  not_ok "unchanged copy passes the check"
  sed 's/^/#   | /' "$tmp/out" | head -10
fi

done_testing
