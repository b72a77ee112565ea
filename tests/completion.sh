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
# One word (no '=' in COMP_WORDBREAKS): bash replaces the whole word.
ok_eq "$(complete_line graphpipe migrate --driver=over)" "--driver=overlay --driver=overlay2" \
  "graphpipe migrate --driver=over<TAB> (one word keeps --driver=)"
ok_eq "$(complete_line graphpipe save --compress g)" "gzip" "graphpipe save --compress g<TAB>"
ok_has "$(complete_line graphpipe save --)" --output --compress --root --quiet --verbose \
  --progress --events --jobs "graphpipe save --<TAB>"

# The presets graphpipe itself lists: what a preset position must offer.
presets=$(graphpipe presets | awk '/^[^ \t]/ { print $1 }' | sort | tr '\n' ' ' | sed 's/ $//')
ok_has "$presets" example migrate save "graphpipe presets lists"

# Options that take a value are skipped when finding the positional
# argument: separate, "--opt=value" as bash splits it (three words, '=' in
# COMP_WORDBREAKS), and one word.
ok_eq "$(complete_line graphpipe run --target /x "")" "$presets" "graphpipe run --target DIR <TAB>: presets"
ok_eq "$(complete_line graphpipe run -t /x "")" "$presets" "graphpipe run -t DIR <TAB>: presets"
ok_eq "$(complete_line graphpipe run --target = /x "")" "$presets" "graphpipe run --target=DIR <TAB> (split): presets"
ok_eq "$(complete_line graphpipe run --target=/x "")" "$presets" "graphpipe run --target=DIR <TAB> (one word): presets"
ok_eq "$(complete_line graphpipe run --layers-from /x --report r.json --roots-from l \
  --events e --plugin-dir /p -P /p -j 2 -d vfs --sync each --progress none -r /x mi)" "migrate" \
  "graphpipe run (every value option of run) mi<TAB>: a preset"
ok_eq "$(complete_line graphpipe run --set root = /x "")" "$presets" "graphpipe run --set VAR=VALUE <TAB> (split): presets"
ok_eq "$(complete_line graphpipe run --set = root = /x "")" "$presets" "graphpipe run --set=VAR=VALUE <TAB> (split): presets"
ok_eq "$(complete_line graphpipe run -s root=/x "")" "$presets" "graphpipe run -s VAR=VALUE <TAB> (one word): presets"
ok_eq "$(complete_line graphpipe run -n -c -q "")" "$presets" "graphpipe run -n -c -q <TAB>: flags take no value"
ok_eq "$(complete_line graphpipe run --target /x migrate "")" "" "graphpipe run --target DIR PRESET <TAB>: nothing"
ok_eq "$(complete_line graphpipe run -- mi)" "migrate" "graphpipe run -- mi<TAB>: a preset"
ok_eq "$(complete_line graphpipe run -- --)" "" "graphpipe run -- --<TAB>: no options after --"
ok_eq "$(complete_line graphpipe stages -P /x -d vfs reg)" "register-layers" "graphpipe stages -P DIR -d vfs reg<TAB>"

# Values: preset names, the choices, nothing for free-form ones.
ok_eq "$(complete_line graphpipe save --preset "")" "$presets" "graphpipe save --preset <TAB>: presets"
ok_eq "$(complete_line graphpipe save --preset = exp)" "export-legacy" "graphpipe save --preset=exp<TAB> (split)"
ok_eq "$(complete_line graphpipe save --preset=exp)" "--preset=export-legacy" \
  "graphpipe save --preset=exp<TAB> (one word keeps --preset=)"
ok_eq "$(complete_line graphpipe save -r /x --preset exp)" "export-legacy" "graphpipe save -r DIR --preset exp<TAB>"
ok_eq "$(complete_line graphpipe save -o out.tar --compress "")" "auto gzip none" "graphpipe save -o FILE --compress <TAB>"
ok_eq "$(complete_line graphpipe migrate --sync "")" "batch each" "graphpipe migrate --sync <TAB>"
ok_eq "$(complete_line graphpipe verify --sync = e)" "each" "graphpipe verify --sync=e<TAB> (split)"
ok_eq "$(complete_line graphpipe run --progress=n)" "--progress=none" "graphpipe run --progress=n<TAB> (one word)"
ok_eq "$(complete_line graphpipe run -d "")" "aufs btrfs overlay overlay2 vfs" "graphpipe run -d <TAB>"
ok_eq "$(complete_line graphpipe run -j "")" "" "graphpipe run -j <TAB>: nothing (a number)"
ok_eq "$(complete_line graphpipe run --set "")" "" "graphpipe run --set <TAB>: nothing (VAR=VALUE)"
ok_eq "$(complete_line graphpipe run -s = "")" "" "graphpipe run -s=<TAB>: nothing"

# The choices offered are the ones graphpipe takes: its --help lists the
# drivers; each mode offered passes --check, a made-up one does not.
help_drivers=$(graphpipe run --help | sed -n 's/.*Storage driver: \([a-z0-9, ]*\).*/\1/p' | tr -d ',' |
  tr -s ' ' '\n' | grep . | sort | tr '\n' ' ' | sed 's/ $//')
ok_eq "$(complete_line graphpipe run --driver "")" "$help_drivers" "--driver <TAB> offers the drivers of --help"
# accepts CMD OPTION VALUE: graphpipe CMD --check ... OPTION=VALUE exits 0.
accepts () {
  local cmd=$1
  shift
  case $cmd in
    run) graphpipe run --check -r "$tmp" "$@" example ;;
    save) graphpipe save --check -r "$tmp" "$@" x ;;
  esac > /dev/null 2>&1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for spec in run:--progress run:--sync save:--compress; do
  cmd=${spec%%:*} opt=${spec#*:}
  values=$(complete_line graphpipe "$cmd" "$opt" "")
  [ -n "$values" ] || not_ok "graphpipe $cmd $opt <TAB> offers something"
  for v in $values; do
    if accepts "$cmd" "$opt=$v"; then
      ok "graphpipe $cmd takes $opt=$v, offered by the completion"
    else
      not_ok "graphpipe $cmd takes $opt=$v, offered by the completion"
    fi
  done
  if accepts "$cmd" "$opt=no-such-mode"; then
    not_ok "graphpipe $cmd refuses $opt=no-such-mode (the check can fail)"
  else
    ok "graphpipe $cmd refuses $opt=no-such-mode (the check can fail)"
  fi
done

# Every option of every command: one whose --help line reads --name=VALUE
# (and its short form) has a kind of value, so it is skipped and its value
# completed; one without takes none.
for cmd in $(graphpipe --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }'); do
  bad=
  n=0
  while read -r short long; do
    n=$((n + 1))
    for o in $short ${long%%=*}; do
      kind=$(_graphpipe_value_kind "$o")
      case $long in
        *=*) [ -n "$kind" ] || bad="$bad $o(no kind)" ;;
        *) [ -z "$kind" ] || bad="$bad $o(takes no value, kind $kind)" ;;
      esac
    done
  done < <(graphpipe "$cmd" --help |
    sed -n 's/^  *\(-[A-Za-z]\), \(--[a-z][a-z0-9-]*\(=[^ ]*\)\{0,1\}\).*/\1 \2/p; s/^  *\(--[a-z][a-z0-9-]*\(=[^ ]*\)\{0,1\}\).*/- \1/p' |
    sed 's/^- //')
  if [ -z "$bad" ] && [ "$n" -gt 1 ]; then
    ok "graphpipe $cmd: each of its $n options has the right kind of value"
  else
    not_ok "graphpipe $cmd: each of its $n options has the right kind of value"
    diag "wrong:$bad"
  fi
done

mkdir "$tmp/sub"
touch "$tmp/a.conf" "$tmp/b.txt"
ok_eq "$(complete_line graphpipe run "$tmp/")" "$tmp/a.conf $tmp/sub" \
  "graphpipe run DIR/<TAB>: .conf files and directories"
ok_eq "$(complete_line graphpipe migrate --root "$tmp/s")" "$tmp/sub" \
  "graphpipe migrate --root DIR<TAB>: directories"
for o in --root -r --target -t --layers-from --plugin-dir -P; do
  ok_eq "$(complete_line graphpipe run "$o" "$tmp/")" "$tmp/sub" "graphpipe run $o DIR/<TAB>: directories only"
done
ok_eq "$(complete_line graphpipe run --target = "$tmp/")" "$tmp/sub" "graphpipe run --target=DIR/<TAB> (split)"
ok_eq "$(complete_line graphpipe run "--target=$tmp/")" "--target=$tmp/sub" \
  "graphpipe run --target=DIR/<TAB> (one word keeps --target=)"
for o in -o --output; do
  ok_eq "$(complete_line graphpipe save "$o" "$tmp/")" "$tmp/a.conf $tmp/b.txt $tmp/sub" "graphpipe save $o DIR/<TAB>: files"
done
for o in --report --events --roots-from; do
  ok_eq "$(complete_line graphpipe migrate "$o" "$tmp/b")" "$tmp/b.txt" "graphpipe migrate $o DIR/b<TAB>: files"
done
ok_eq "$(complete_line graphpipe save --report = "$tmp/b")" "$tmp/b.txt" "graphpipe save --report=FILE<TAB> (split)"
ok_eq "$(complete_line graphpipe save "--events=$tmp/b")" "--events=$tmp/b.txt" \
  "graphpipe save --events=FILE<TAB> (one word keeps --events=)"

done_testing
