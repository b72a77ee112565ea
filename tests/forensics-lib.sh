# Helpers of the forensics test scripts (sourced; needs $golden for
# fx_extract).

# fx_extract DIR [TARBALL]: a fresh DIR holding a golden tarball
# (default legacy-root.tar.gz) with owners, modes and xattrs.
fx_extract () {
  rm -rf "$1" && mkdir -p "$1" &&
  tar --numeric-owner -p --xattrs --xattrs-include='*' -xzf "$golden/${2:-legacy-root.tar.gz}" -C "$1"
}

# fx_snapshot DIR: everything about a tree a write could change (path,
# type, mode, owner, size, link count, mtime, symlink target, content);
# atime and ctime aside.
fx_snapshot () {
  (cd "$1" && LC_ALL=C find . -printf '%p\t%y\t%m\t%U:%G\t%s\t%n\t%T@\t%l\n' | LC_ALL=C sort &&
   LC_ALL=C find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2)
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
