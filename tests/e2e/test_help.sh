#!/usr/bin/env bash
# Help and the man page agree with the program: every command of
# `kaohe --help` has its own help (`kaohe CMD --help`, `-h` and `kaohe help
# CMD`, exit 0) that starts with its usage and mentions every option the
# overview gives it; every option of a command's help is in the man page
# docs/kaohe.1, which has a section for every command; every option kaohe
# accepts is in some command's help; the man page renders without a
# warning. Needs no service.
. "$(dirname "$0")/lib.sh"

MAN=$KH_SOURCE_DIR/docs/kaohe.1
MAIN=$KH_SOURCE_DIR/cli/main.c
command -v groff >/dev/null || fail "groff is not installed (scripts/deps.sh installs groff-base)"

kaohe --help >"$TMP/overview"
[ -s "$TMP/overview" ] || fail "kaohe --help printed nothing"
kaohe help >"$TMP/overview2"
cmp -s "$TMP/overview" "$TMP/overview2" || fail "kaohe help differs from kaohe --help"
set +e
kaohe >/dev/null 2>"$TMP/err"
rc=$?
set -e
expect_eq "kaohe without a command is a usage error" "$rc" "2"
grep -q '^usage: kaohe COMMAND' "$TMP/err" || fail "kaohe without a command shows the usage"

# The commands of the overview: its lines "  NAME ..." between "commands:"
# and the first blank line; deeper-indented lines continue the previous
# command.
awk '
    /^commands:/ { on = 1; next }
    on && /^$/ { exit }
    on && /^  [a-z]/ { cmd = $1; sub(/^  /, ""); print cmd "\t" $0; next }
    on && /^   / { print cmd "\t" $0 }
' "$TMP/overview" >"$TMP/lines"
cut -f1 "$TMP/lines" | uniq >"$TMP/commands"
ncmd=$(wc -l <"$TMP/commands")
[ "$ncmd" -ge 18 ] || fail "only $ncmd commands in the overview"
for c in init up down status feed rank station explain urban close watch simulate snapshot \
    subscribe keys rebuild backup help; do
    grep -qx "$c" "$TMP/commands" || fail "the overview lacks $c"
done
pass "the overview lists $ncmd commands"

options() { grep -oE -- '(^|[][ (,|])--?[a-z][a-z-]*' | sed 's/^[][ (,|]//' | sort -u; }

# The man page as text (ASCII hyphens whatever groff's device does).
groff -man -Tutf8 -P-cbou -rLL=200n "$MAN" 2>"$TMP/groff.err" \
    | sed 's/\xe2\x80\x90/-/g; s/\xe2\x88\x92/-/g' >"$TMP/man.txt"
[ ! -s "$TMP/groff.err" ] || { cat "$TMP/groff.err" >&2; fail "groff warns on kaohe.1"; }
groff -man -Tutf8 -ww -z "$MAN" 2>"$TMP/groff.err"
[ ! -s "$TMP/groff.err" ] || { cat "$TMP/groff.err" >&2; fail "groff -ww warns on kaohe.1"; }
pass "the man page renders without warnings"

: >"$TMP/all_help_options"
while read -r c; do
    set +e
    kaohe "$c" --help >"$TMP/h" 2>"$TMP/err"
    rc=$?
    set -e
    [ "$rc" -eq 0 ] || fail "kaohe $c --help exited $rc: $(cat "$TMP/err")"
    head -n1 "$TMP/h" | grep -q "^usage: kaohe $c\b" || fail "kaohe $c --help does not start with its usage"
    kaohe "$c" -h >"$TMP/h2"
    cmp -s "$TMP/h" "$TMP/h2" || fail "kaohe $c -h differs from --help"
    kaohe help "$c" >"$TMP/h3"
    cmp -s "$TMP/h" "$TMP/h3" || fail "kaohe help $c differs from kaohe $c --help"
    # Every option the overview gives the command is in its help.
    for o in $(awk -F'\t' -v c="$c" '$1 == c { print $2 }' "$TMP/lines" | options); do
        options <"$TMP/h" | grep -qxF -- "$o" || fail "kaohe $c --help does not mention $o"
    done
    # Every option of its help is in the man page, which has its section.
    grep -qE "^   kaohe $c( |$)" "$TMP/man.txt" || fail "the man page has no section for kaohe $c"
    for o in $(options <"$TMP/h"); do
        grep -qF -- "$o" "$TMP/man.txt" || fail "kaohe $c --help has $o, the man page does not"
        echo "$o" >>"$TMP/all_help_options"
    done
    # Help fits an 80-column terminal.
    [ "$(wc -L <"$TMP/h")" -le 80 ] || fail "kaohe $c --help is wider than 80 columns"
done <"$TMP/commands"
pass "every command: --help, -h and help CMD agree, exit 0, cover the overview"
pass "every option of every command's help is in the man page"

# Every option kaohe accepts (cli/main.c's lists) is in some command's help
# and in the man page; -h and --help in the overview.
grep -q -- '-h/--help' "$TMP/overview" || fail "the overview does not mention -h/--help"
accepted=$(awk '/^static const char \*const (valued|flags)\[\]/ { on = 1 }
                on { print } on && /};/ { on = 0 }' "$MAIN" |
    grep -oE '"-[^"]*"' | tr -d '"' | sort -u)
[ -n "$accepted" ] || fail "found no option lists in cli/main.c"
for o in $accepted; do
    case $o in -h | --help) continue ;; esac # the overview's, and every command's
    grep -qxF -- "$o" "$TMP/all_help_options" || fail "$o is accepted but in no command's help"
    grep -qF -- "$o" "$TMP/man.txt" || fail "$o is accepted but not in the man page"
done
pass "every accepted option is documented ($(echo "$accepted" | wc -w) options)"

# Each section of the man page is a command of the overview.
for c in $(sed -n 's/^   kaohe \([a-z]*\).*/\1/p' "$TMP/man.txt" | sort -u); do
    grep -qx "$c" "$TMP/commands" || fail "the man page documents kaohe $c, the overview does not"
done
for s in NAME SYNOPSIS DESCRIPTION COMMANDS "EXIT STATUS" ENVIRONMENT FILES; do
    grep -qx "$s" "$TMP/man.txt" || fail "the man page has no $s section"
done
for e in KAOHE_DATA KAOHE_RULES; do
    grep -qE "^       $e\$" "$TMP/man.txt" || fail "ENVIRONMENT lacks $e"
done
pass "the man page documents the commands of the overview, exit status, environment, files"

set +e
kaohe nosuchcommand --help >/dev/null 2>&1
rc1=$?
kaohe help nosuchcommand >/dev/null 2>&1
rc2=$?
set -e
expect_eq "help for an unknown command is a usage error" "$rc1 $rc2" "2 2"
