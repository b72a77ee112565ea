#!/bin/sh
# The `graphpipe` of `make check-valgrind` (GRAPHPIPE=this script): the
# build tree's graphpipe under valgrind, so that the script tests and the
# test programs that run the command check it too.  A memory error or a
# definite leak makes it exit 99, which no test expects.
exec "$GP_LIBTOOL" --mode=execute ${GP_VALGRIND:-valgrind} --error-exitcode=99 \
  --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
  --num-callers=30 --suppressions="$GP_TOP_SRCDIR/tests/graphpipe.supp" $GP_VALGRIND_EXTRA \
  "$GP_TOP_BUILDDIR/graphpipe" "$@"
