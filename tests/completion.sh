#!/bin/bash
# The bash completion (data/bash-completion/graphpipe): sourced into this
# shell, its function called as bash calls it, against the graphpipe of
# the build tree.  TAP.
set -u
top_srcdir=${GP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${GP_TOP_BUILDDIR:-.}
. "$top_srcdir/tests/migrate-tap.sh"

if [ ! -x "$top_builddir/graphpipe" ]; then
  echo "1..0 # SKIP graphpipe not built in $top_builddir"
  exit 0
fi
PATH=$(cd "$top_builddir" && pwd):$PATH
export PATH
. "$top_srcdir/data/bash-completion/graphpipe"

# complete WORD...: COMPREPLY for the command line WORD... with the cursor
# at the end of the last word, sorted, one line.
complete_line () {
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMPREPLY=()
  _graphpipe graphpipe "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
  printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

if complete -p graphpipe | grep -q -- '-F _graphpipe'; then
  ok "complete -F _graphpipe graphpipe is registered"
else
  not_ok "complete -F _graphpipe graphpipe is registered"
fi

ok_eq "$(complete_line graphpipe st)" "stages" "graphpipe st<TAB>"
# ok_has LIST WORD... MSG-PREFIX: each WORD is in the space-separated LIST.
ok_has () {
  local list=" $1 " msg=${!#} w
  shift
  for w in "${@:1:$#-1}"; do
    case $list in
      *" $w "*) ok "$msg offers $w" ;;
      *) not_ok "$msg offers $w"; diag "got:$list" ;;
    esac
  done
}

ok_has "$(complete_line graphpipe "")" run migrate save stages presets "graphpipe <TAB>"
ok_eq "$(complete_line graphpipe --v)" "--version" "graphpipe --v<TAB>"
ok_eq "$(complete_line graphpipe run mi)" "migrate" "graphpipe run mi<TAB>: a preset"
ok_has "$(complete_line graphpipe run -q "")" example migrate "graphpipe run -q <TAB>"
ok_eq "$(complete_line graphpipe run migrate "")" "" "graphpipe run migrate <TAB>: one preset only"
ok_eq "$(complete_line graphpipe stages reg)" "register-layers" "graphpipe stages reg<TAB>: a stage"
ok_eq "$(complete_line graphpipe stages --root /tmp mig)" "migrate-tags" \
  "graphpipe stages --root DIR mig<TAB>"
ok_eq "$(complete_line graphpipe migrate --pro)" "--progress" "graphpipe migrate --pro<TAB>"
ok_eq "$(complete_line graphpipe migrate --progress j)" "json" "graphpipe migrate --progress j<TAB>"
ok_eq "$(complete_line graphpipe migrate --progress = "")" "auto bar json none plain" \
  "graphpipe migrate --progress=<TAB>"
ok_eq "$(complete_line graphpipe migrate --driver=over)" "overlay overlay2" \
  "graphpipe migrate --driver=over<TAB> (one word)"
ok_eq "$(complete_line graphpipe save --compress g)" "gzip" "graphpipe save --compress g<TAB>"
ok_has "$(complete_line graphpipe save --)" --output --compress --root --quiet --verbose \
  --progress --events --jobs "graphpipe save --<TAB>"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/sub"
touch "$tmp/a.conf" "$tmp/b.txt"
ok_eq "$(complete_line graphpipe run "$tmp/")" "$tmp/a.conf $tmp/sub" \
  "graphpipe run DIR/<TAB>: .conf files and directories"
ok_eq "$(complete_line graphpipe migrate --root "$tmp/s")" "$tmp/sub" \
  "graphpipe migrate --root DIR<TAB>: directories"

done_testing
