#!/bin/bash
# The manual pages render without a warning (man --warnings, groff -ww)
# and have every placeholder filled in.  TAP.
set -u
top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${GP_TOP_BUILDDIR:-.}
. "$top_srcdir/tests/migrate-tap.sh"

have_man=no
have_groff=no
command -v man > /dev/null 2>&1 && have_man=yes
command -v groff > /dev/null 2>&1 && have_groff=yes
if [ $have_man = no ] && [ $have_groff = no ]; then
  skip_all "neither man nor groff installed (Debian package groff-base)"
fi

for page in doc/graphpipe.1 doc/graphpipe-presets.5; do
  file=$top_builddir/$page
  if [ ! -f "$file" ]; then
    not_ok "$page: built"
    continue
  fi
  if grep -q '@[a-zA-Z_]*@' "$file"; then
    not_ok "$page: placeholders filled in"
    grep -n '@[a-zA-Z_]*@' "$file" | sed 's/^/#   /'
  else
    ok "$page: placeholders filled in"
  fi
  if [ $have_groff = yes ]; then
    warnings=$(groff -man -ww -z "$file" 2>&1)
    ok_eq "$warnings" "" "$page: groff -man -ww -z: no warnings"
  fi
  if [ $have_man = yes ]; then
    text=$(LC_ALL=C.UTF-8 MANWIDTH=80 MAN_KEEP_FORMATTING= man --warnings -l "$file" 2> "$file.err")
    ok_eq "$(cat "$file.err")" "" "$page: man --warnings -l: no warnings"
    rm -f "$file.err"
    case $text in
      *NAME*SYNOPSIS*DESCRIPTION*"SEE ALSO"*) ok "$page: rendered, with its sections" ;;
      *) not_ok "$page: rendered, with its sections" ;;
    esac
  fi
done

done_testing
