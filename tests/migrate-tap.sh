# Minimal TAP helpers for the migration test scripts (sourced).
# ok MSG / not_ok MSG / ok_eq GOT WANT MSG / diag TEXT / bail_out TEXT /
# done_testing.  The plan is printed at the end.
gp_tap_n=0
gp_tap_failed=0

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

done_testing () {
  echo "1..$gp_tap_n"
  [ "$gp_tap_failed" = 0 ]
}
