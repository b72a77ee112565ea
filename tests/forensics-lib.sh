# Helpers of the test scripts that work on Docker's golden roots and
# compare trees: migrate-*, verify, forensics-* (sourced after
# migrate-tap.sh; the golden ones need $shared and $golden, and declare
# their number of checks with `plan N` before they may skip).

# fx_require_golden [TARBALL]: the golden data is part of the tree (make
# check unpacks it into $GP_SHARED_DIR): without the golden TARBALL
# (default legacy-root.tar.gz) the script bails out, a failure.
fx_require_golden () {
  if [ ! -f "$golden/${1:-legacy-root.tar.gz}" ]; then
    bail_out "$golden/${1:-legacy-root.tar.gz} not found: the golden data is unpacked by make check from tests/golden/ (see tests/golden/README.md)"
  fi
}

# fx_skip_unless_root: ends the script with each of its planned checks
# skipped (skip_all; failed under GP_REQUIRE_ALL) unless it runs as root:
# extracted owners, modes and xattrs must be real (fakeroot's emulation of
# the golden layers' capability xattrs confuses the layer file checks).
fx_skip_unless_root () {
  if [ "$(id -u)" != 0 ]; then
    skip_all "needs root to extract owners, modes and xattrs"
  fi
}

# fx_extract DIR [TARBALL]: a fresh DIR holding a golden tarball
# (default legacy-root.tar.gz) with owners, modes and xattrs.
fx_extract () {
  rm -rf "$1" && mkdir -p "$1" &&
  tar --numeric-owner -p --xattrs --xattrs-include='*' -xzf "$golden/${2:-legacy-root.tar.gz}" -C "$1"
}

# fx_snapshot DIR [ctime]: everything about a tree a write could change
# (path, type, mode, owner, size, link count, mtime, symlink target,
# content); atime aside, and ctime unless asked for (a read-only command
# must not even chmod).
fx_snapshot () {
  fx_fmt='%p\t%y\t%m\t%U:%G\t%s\t%n\t%T@\t%l'
  [ "${2:-}" = ctime ] && fx_fmt="$fx_fmt\t%C@"
  (cd "$1" && LC_ALL=C find . -printf "$fx_fmt\n" | LC_ALL=C sort &&
   LC_ALL=C find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2)
}

# fx_normalise_tree: a tree listing on stdin (expected/tree.txt or
# golden-tree.sh's output) without comments and with the compressed
# columns of gzip files blanked, as the golden README.txt says to compare
# them.
fx_normalise_tree () {
  grep -v '^#' | awk -F '\t' 'BEGIN { OFS = "\t" }
    $7 != "-" && $7 != "" { $5 = "*"; $6 = "*" } { print }'
}

# fx_tar_bytes TAR-SPLIT.JSON.GZ...: the total size of the layer tars the
# tar-split files describe: each segment's base64 payload decoded, plus
# each file's size.  Independent of graphpipe's reader.
fx_tar_bytes () {
  total=0
  for ts in "$@"; do
    n=$(gzip -dc < "$ts" | awk '
      /"type":2/ { if (match($0, /"payload":"[A-Za-z0-9+\/=]*"/)) {
                     p = substr($0, RSTART + 11, RLENGTH - 12); l = length(p) / 4 * 3
                     if (p ~ /==$/) l -= 2; else if (p ~ /=$/) l -= 1; t += l } }
      /"type":1/ { if (match($0, /"size":[0-9]+/)) t += substr($0, RSTART + 7, RLENGTH - 7) }
      END { printf "%d\n", t }')
    total=$((total + n))
  done
  echo "$total"
}
