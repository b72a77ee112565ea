# Minimal TAP helpers for the migration test scripts (sourced).
# ok MSG / not_ok MSG / ok_eq GOT WANT MSG / diag TEXT / bail_out TEXT /
# skip MSG REASON / plan N / skip_all REASON / done_testing.  The plan is
# printed at the end.  snapshot DIR lists a tree for comparisons.
#
# Skips: a check or script that cannot run here says why (TAP "# SKIP
# reason").  With GP_REQUIRE_ALL set (quickstart.sh test as root, the CI
# machine) every prerequisite is expected to be there, so the same skip
# is a failure with the same reason.  Hardware- or kernel-dependent skips
# do not go through these helpers.
gp_tap_n=0
gp_tap_failed=0
gp_tap_planned=

ok () {
  gp_tap_n=$((gp_tap_n + 1))
  echo "ok $gp_tap_n - $*"
}

not_ok () {
  gp_tap_n=$((gp_tap_n + 1))
  gp_tap_failed=$((gp_tap_failed + 1))
  echo "not ok $gp_tap_n - $*"
}

# ok_eq GOT WANT MSG: passes when GOT = WANT; returns 1 otherwise.
ok_eq () {
  if [ "$1" = "$2" ]; then
    ok "$3"
    return 0
  fi
  not_ok "$3"
  echo "#   got:  '$1'"
  echo "#   want: '$2'"
  return 1
}

# ok_grep FILE PATTERN MSG: passes when FILE has a line matching PATTERN
# (fixed string).
ok_grep () {
  if grep -qF -- "$2" "$1"; then
    ok "$3"
    return 0
  fi
  not_ok "$3"
  echo "#   no line with '$2' in:"
  sed 's/^/#   | /' "$1" | head -20
  return 1
}

# ok_no_grep FILE PATTERN MSG: passes when no line of FILE matches.
ok_no_grep () {
  if ! grep -qF -- "$2" "$1"; then
    ok "$3"
    return 0
  fi
  not_ok "$3"
  grep -F -- "$2" "$1" | sed 's/^/#   | /' | head -5
  return 1
}

diag () {
  echo "# $*"
}

bail_out () {
  echo "Bail out! $*"
  exit 1
}

# gp_require_all: true when GP_REQUIRE_ALL asks that nothing skip.
gp_require_all () {
  case ${GP_REQUIRE_ALL:-0} in
    0|'') return 1 ;;
    *) return 0 ;;
  esac
}

# skip MSG REASON: the check MSG cannot run here because of REASON
# ("ok N - MSG # SKIP REASON"); a failure under GP_REQUIRE_ALL.
skip () {
  if gp_require_all; then
    not_ok "$1: $2 (GP_REQUIRE_ALL is set: this check must run here)"
    return 1
  fi
  gp_tap_n=$((gp_tap_n + 1))
  echo "ok $gp_tap_n - $1 # SKIP $2"
}

# plan N: the script runs N checks, also when it has to skip them all
# (skip_all); done_testing fails when the count ran differs, so that N is
# kept up to date.
plan () {
  gp_tap_planned=$1
}

# skip_all REASON: ends a script that cannot run here: "1..N" and each of
# its N planned checks skipped with REASON ("1..0 # SKIP REASON" without
# a plan); under GP_REQUIRE_ALL the checks fail with the same reason.
skip_all () {
  if [ -z "$gp_tap_planned" ]; then
    if gp_require_all; then
      echo "1..1"
      echo "not ok 1 - $1 (GP_REQUIRE_ALL is set: this script must run here)"
      exit 1
    fi
    echo "1..0 # SKIP $1"
    exit 0
  fi
  echo "1..$gp_tap_planned"
  gp_skip_i=1
  while [ "$gp_skip_i" -le "$gp_tap_planned" ]; do
    if gp_require_all; then
      echo "not ok $gp_skip_i - $1 (GP_REQUIRE_ALL is set: this check must run here)"
    else
      echo "ok $gp_skip_i # SKIP $1"
    fi
    gp_skip_i=$((gp_skip_i + 1))
  done
  if gp_require_all; then
    exit 1
  fi
  exit 0
}

done_testing () {
  if [ -n "$gp_tap_planned" ] && [ "$gp_tap_n" != "$gp_tap_planned" ]; then
    not_ok "the script ran $gp_tap_n checks besides this one but plans $gp_tap_planned: update its 'plan' to $gp_tap_n"
  fi
  echo "1..$gp_tap_n"
  [ "$gp_tap_failed" = 0 ]
}

# snapshot DIR: every entry below DIR (path, type, mode, owner, size but
# for directories, link count, symlink target; no times), then the
# sha256 of every file: two trees are the same when their snapshots are.
snapshot () {
  (cd "$1" && LC_ALL=C find . -mindepth 1 -printf '%P\t%y\t%m\t%U:%G\t%s\t%n\t%l\n' |
     awk -F '\t' 'BEGIN { OFS = "\t" } $2 == "d" { $5 = "-" } { print }' | LC_ALL=C sort &&
   LC_ALL=C find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}
