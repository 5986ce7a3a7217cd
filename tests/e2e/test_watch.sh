#!/usr/bin/env bash
# kaohe watch through the real services, in a real terminal: tmux (its own
# server on a private socket, 80x30). The first frame shows every station's
# rank, code and total as `kaohe rank --json` has them, with the change
# since the published snapshot; events fed while it runs (a late call, a
# patrol, two events the ingests reject) show up without a key pressed,
# the screen polled every 100 ms up to a deadline; no line is wider than
# the terminal; a resize (SIGWINCH) redraws at the new size; q and SIGTERM
# end it with the terminal restored (main screen, cursor shown). Off a
# terminal it prints one frame and exits.
. "$(dirname "$0")/lib.sh"

command -v tmux >/dev/null || fail "tmux is not installed (scripts/deps.sh installs it)"
export LC_ALL=C.UTF-8 # tmux and wc -L measure CJK as two columns
SOCK=$TMP/tmux.sock
tm() { tmux -S "$SOCK" -f /dev/null "$@"; }
# Our own tmux server only, then lib.sh's cleanup with the test's status
# (set +e, or the status restored would end the trap before the cleanup).
trap 'rc=$?; set +e; tmux -S "$SOCK" kill-server >/dev/null 2>&1; (exit $rc); cleanup' EXIT

Y=(--year 2024 --month 2024-02)
kaohe up -c "$EXAMPLE/county.json" -d "$D" >/dev/null
kaohe feed "$EXAMPLE/events.jsonl" -d "$D" >/dev/null 2>&1

# Amounts in cents (integers) printed as the tables do: "38.60", and
# signed for a change: "+0.10", "-0.10", "0.00"; "—" stays.
money() {
    local v=$1 sign=""
    if [ "$v" -lt 0 ]; then sign=-; v=$((-v)); fi
    printf '%s%d.%02d' "$sign" $((v / 100)) $((v % 100))
}
signed() {
    if [ "$1" = "—" ]; then printf '—'; elif [ "$1" -gt 0 ]; then printf '+%s' "$(money "$1")"; else money "$1"; fi
}
# "rank code total change" of every station as kaohe rank --json has them,
# the change against the snapshot document in file $1 (none: "—").
want_rank() {
    local snap=${1:-/dev/null}
    kaohe rank --year 2024 --json -d "$D" |
        jq -r --slurpfile snap "$snap" '.stations[] | . as $s |
            "\(.rank) \(.station) \(.total * 100 | round) \(if ($snap | length) == 0 then "—"
              else [$snap[0].rank.stations[] | select(.station == $s.station) | .total] as $t |
                if ($t | length) == 0 then "—" else (($s.total - $t[0]) * 100 | round) end end)"' |
        while read -r r c t d; do echo "$r $c $(money "$t") $(signed "$d")"; done
}
# "code patrols behind deducted" of the 城区三所, as kaohe urban --json has them.
want_urban() {
    kaohe urban --month 2024-02 --json -d "$D" |
        jq -r '.stations[] | "\(.station) \(.patrols) \(.behind) \(.deducted * 100 | round)"' |
        while read -r c p b d; do echo "$c $p $b $(money "$d")"; done
}
# The same, read off a frame on stdin: the ranking's rows follow the
# header, title and column heads; the urban rows follow their title.
got_rank() { awk 'NR > 3 && /^$/ {exit} NR > 3 {print $1, $2, $4, $5}'; }
got_urban() { awk '/城区三所巡逻排位/ {on = 1; getline; next} on && /^$/ {exit} on {print $2, $4, $5, $6}'; }
seq_now() { kaohe status --json -d "$D" | jq -r .last_seq; }
max_width() { wc -L | tr -d ' '; }

# --- off a terminal: one frame, nothing published yet -------------------
once=$(kaohe watch --once "${Y[@]}" -d "$D")
expect_eq "--once: the ranking as kaohe rank has it" "$(echo "$once" | got_rank)" "$(want_rank)"
expect_eq "--once: the 城区三所 as kaohe urban has them" "$(echo "$once" | got_urban)" \
    "$(want_urban)"
echo "$once" | grep -q "2024 年度排名  本年尚无已发布的快照" || fail "--once: no snapshot yet"
echo "$once" | head -1 | grep -q "序号 $(seq_now)  更新 [0-2][0-9]:[0-5][0-9]:[0-5][0-9]$" ||
    fail "--once: the header names the last committed sequence and the time"
[ "$(echo "$once" | max_width)" -le 80 ] || fail "--once: wider than 80 columns"
[ "$(COLUMNS=44 kaohe watch --once "${Y[@]}" -d "$D" | max_width)" -le 44 ] ||
    fail "--once: wider than COLUMNS=44"
pass "--once: within 80 columns, and within \$COLUMNS"
set +e
kaohe watch extra -d "$D" >/dev/null 2>&1
expect_eq "watch takes no arguments" "$?" "2"
set -e

kaohe snapshot publish 2024-02 -d "$D" >/dev/null
kaohe snapshot show 2024-02 --json -d "$D" >"$TMP/snap.json"

# --- in a terminal -----------------------------------------------------
screen() { tm capture-pane -p -t w; }
# wait_for WHAT COMMAND...: COMMAND every 100 ms until it succeeds, 10 s at
# most; on timeout the screen goes to stderr.
wait_for() {
    local what=$1
    shift
    for _ in $(seq 100); do
        if "$@"; then
            pass "$what"
            return 0
        fi
        sleep 0.1
    done
    echo "--- screen ---" >&2
    tm capture-pane -p -t "${PANE:-w}" >&2 || true
    fail "$what (not within 10 s)"
}
ranking_is() { [ "$(screen | got_rank)" = "$1" ]; }
urban_is() { [ "$(screen | got_urban)" = "$1" ]; }
shows() { screen | grep -q -- "$1"; }
flags() { tm display-message -p -t "$1" '#{alternate_on} #{cursor_flag}'; }
# start NAME: kaohe watch in a new session, under a shell that keeps its
# exit status in $TMP/NAME.rc and then keeps the pane open (so the
# terminal's state after it can be read).
start() {
    tm new-session -d -s "$1" -x 80 -y 30 sh -c \
        '"$0" "$@"; echo $? >"'"$TMP/$1"'.rc"; exec sleep 600' "$KH_BIN/kaohe" watch "${Y[@]}" -d "$D"
}
ended() { [ -s "$TMP/$1.rc" ]; }

start w
want=$(want_rank "$TMP/snap.json")
wait_for "first frame: the ranking as kaohe rank has it" ranking_is "$want"
wait_for "first frame: the 城区三所 as kaohe urban has them" urban_is "$(want_urban)"
shows "2024 年度排名  较快照 2024-02 第1版" || fail "the snapshot the changes count from"
screen | got_rank | cut -d' ' -f4 | grep -qv '^[-+]\?[0-9]*\.[0-9][0-9]$' &&
    fail "every station has a change since the snapshot"
shows "序号 $(seq_now)  更新 " || fail "the header names the last committed sequence"
shows "最近拒收：无" || fail "no rejection yet"
expect_eq "alternate screen, cursor hidden" "$(flags w)" "1 0"

# Late events while it runs: a call for QS (5.2.3, -0.10) and a patrol
# for XM (城区三所), then what the ingests refuse: BM's event with NM's
# key (forbidden) and a rate above 100 (out_of_range).
cat >"$TMP/late.jsonl" <<'EOF'
{"id": "w-c1", "source": "dispatch", "type": "call", "time": "2024-02-20T10:00:00+08:00", "station": "QS", "case_id": "KW1", "case_kind": "pickpocket", "location": "street"}
{"id": "w-p1", "source": "station", "type": "patrol", "time": "2024-02-21T10:00:00+08:00", "station": "XM", "patrol_id": "WP1", "kind": "prevention", "has_record": true, "has_images": true}
EOF
cat >"$TMP/bad.jsonl" <<'EOF'
{"id": "w-rate", "source": "station", "type": "rate", "time": "2024-02-20T10:00:00+08:00", "station": "QS", "metric": "hotel_system_coverage", "value": 150}
EOF
kaohe feed "$TMP/late.jsonl" -d "$D" >/dev/null 2>&1
rc=0
kaohe feed "$KH_SOURCE_DIR/tests/data/auth/cross.jsonl" --as station-NM -d "$D" \
    >/dev/null 2>&1 || rc=$?
expect_eq "BM's event with NM's key is refused" "$rc" "3"
rc=0
kaohe feed "$TMP/bad.jsonl" -d "$D" >/dev/null 2>&1 || rc=$?
expect_eq "a rate above 100 is refused" "$rc" "3"

want=$(want_rank "$TMP/snap.json")
echo "$want" | grep -q '^[0-9]* QS .* -0\.10$' || fail "the late call costs QS 0.10"
wait_for "the new totals and changes, without a key pressed" ranking_is "$want"
wait_for "the new 城区三所 patrol counts" urban_is "$(want_urban)"
wait_for "the forbidden event" shows 'station  *x-bm  *forbidden  *station-NM$'
wait_for "the out-of-range rate" shows 'station  *w-rate  *out_of_range  *station-QS$'
[ "$(screen | grep -n w-rate | cut -d: -f1)" -lt "$(screen | grep -n x-bm | cut -d: -f1)" ] ||
    fail "the newest rejection first"
wait_for "the header follows the sequence" shows "序号 $(seq_now)  更新 "
expect_eq "no line wider than 80 columns" \
    "$(tm capture-pane -p -J -t w | max_width | awk '$1 <= 80 {print "ok"}')" "ok"

# A smaller terminal: redrawn (SIGWINCH) at 40x14, one space between
# columns, the rejections left out for the ranking; then back.
tm resize-window -t w -x 40 -y 14
narrow() { screen | grep -q '^名次 代码 派出所' && ! shows "最近拒收"; }
wait_for "resized to 40x14: redrawn to fit" narrow
expect_eq "40 columns: no line wider" \
    "$(tm capture-pane -p -J -t w | max_width | awk '$1 <= 40 {print "ok"}')" "ok"
expect_eq "40 columns: every station still there" "$(screen | got_rank)" "$want"
tm resize-window -t w -x 80 -y 30
wait_for "back at 80x30: the rejections again" shows "最近拒收（最新在前）"

# q ends it, the terminal restored.
tm send-keys -t w q
wait_for "q ends kaohe watch" ended w
expect_eq "q: exit status 0" "$(cat "$TMP/w.rc")" "0"
expect_eq "q: main screen, cursor shown" "$(flags w)" "0 1"

# SIGTERM too.
start t
shows_t() { tm capture-pane -p -t t | grep -q "$1"; }
PANE=t wait_for "a second watch" shows_t 年度排名
kill -TERM "$(pgrep -P "$(tm display-message -p -t t '#{pane_pid}')" -x kaohe)"
PANE=t wait_for "SIGTERM ends kaohe watch" ended t
expect_eq "SIGTERM: exit status 0" "$(cat "$TMP/t.rc")" "0"
expect_eq "SIGTERM: main screen, cursor shown" "$(flags t)" "0 1"
echo "all passed"
