#!/bin/sh
# List what a migration created or changed under a data root, in the format
# of the golden expected/tree.txt (see shared/golden/public/README.txt):
#   path type mode uid:gid size sha256 gunzip-sha256:size nlink status
# Usage: golden-tree.sh PRISTINE_ROOT MIGRATED_ROOT
# PRISTINE_ROOT is the same legacy root before migration.  Directories are
# listed when new; files when new or when their bytes, mode or owner differ.
set -eu
pristine=$1
root=$2
cd "$root"
LC_ALL=C find . -mindepth 1 -printf '%P\t%y\t%m\t%U:%G\t%s\t%n\n' | LC_ALL=C sort |
while IFS='	' read -r path type mode owner size nlink; do
  case $type in
    d) t=d ;;
    f) t=f ;;
    l) t=l ;;
    *) t=$type ;;
  esac
  old=$pristine/$path
  status=new
  if [ -e "$old" ] || [ -L "$old" ]; then
    [ "$t" = d ] && continue
    if [ "$t" = l ] && [ -L "$old" ] && [ "$(readlink "$path")" = "$(readlink "$old")" ]; then
      continue
    fi
    if [ "$t" = f ] && [ -f "$old" ] && cmp -s "$path" "$old" &&
       [ "$(stat -c '%a %u:%g' "$path")" = "$(stat -c '%a %u:%g' "$old")" ]; then
      continue
    fi
    status=modified
  fi
  m=$(printf '%04o' "0$mode")
  if [ "$t" = d ]; then
    printf '%s\td\t%s\t%s\t-\t-\t-\t-\t%s\n' "$path" "$m" "$owner" "$status"
    continue
  fi
  if [ "$t" = l ]; then
    sum=$(readlink "$path" | tr -d '\n' | sha256sum | cut -d' ' -f1)
  else
    sum=$(sha256sum < "$path" | cut -d' ' -f1)
  fi
  gz=-
  case $path in
    *.gz|*/.migration-tardata)
      gz="$(gzip -dc < "$path" | sha256sum | cut -d' ' -f1):$(gzip -dc < "$path" | wc -c)" ;;
  esac
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$path" "$t" "$m" "$owner" "$size" "$sum" "$gz" "$nlink" "$status"
done
