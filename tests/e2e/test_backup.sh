#!/usr/bin/env bash
# kaohe backup: a consistent hot copy while events flow, and its restore.
#
# 1. Half a county year is fed; then, while the other half is being fed,
#    `kaohe backup` copies the store. The backup is a data directory of its
#    own (store, county.json, keys): restored elsewhere with `kaohe up`, it
#    opens, `kaohe rebuild` finds it self-consistent, and it holds a prefix
#    of the live journal: feeding the whole year into it accepts exactly
#    the events the live store got after the copy, after which every
#    figure is byte-identical to the live store's.
# 2. A backup taken at rest restores to identical figures at once, closed
#    periods and published snapshots included (`snapshot verify` passes).
# 3. Refusals: an existing target, a directory without a store.
. "$(dirname "$0")/lib.sh"

YEAR=2025
kaohe simulate --seed 11 --year $YEAR --months 1-12 --stations 12 \
    --county "$TMP/county.json" -o "$TMP/events.jsonl" 2>/dev/null || fail "simulate"
CODES=$(jq -r '.stations[].code' "$TMP/county.json")
N=$(wc -l <"$TMP/events.jsonl")
head -n $((N / 2)) "$TMP/events.jsonl" >"$TMP/first.jsonl"
tail -n +$((N / 2 + 1)) "$TMP/events.jsonl" >"$TMP/second.jsonl"

capture() { # DIR OUT
    local dir=$1 out=$2 code
    mkdir -p "$out"
    kaohe rank --year $YEAR --json -d "$dir" >"$out/rank.json"
    for code in $CODES; do
        kaohe station "$code" --year $YEAR --json -d "$dir" >"$out/station-$code.json"
    done
    kaohe urban --month $YEAR-03 --json -d "$dir" >"$out/urban.json"
}
same() { # A B WHAT
    local f
    for f in "$1"/*.json; do
        cmp -s "$f" "$2/$(basename "$f")" || fail "$3: $(basename "$f") differs"
    done
}
last_seq() { kaohe rebuild -d "$1" --json | jq -r .events; }

kaohe up -c "$TMP/county.json" -d "$D" >/dev/null
kaohe close $YEAR-03 -d "$D" >/dev/null
kaohe feed "$TMP/first.jsonl" -d "$D" >/dev/null 2>&1 || fail "first half"

# ---- 1. hot ---------------------------------------------------------------------
kaohe feed "$TMP/second.jsonl" -d "$D" --rate 1000 >/dev/null 2>&1 &
FEED=$!
wait_until 10 "events of the second half to arrive" \
    sh -c "[ \$(\"$KH_BIN/kaohe\" status -d \"$D\" --json | jq .last_seq) -gt $((N / 2 + 50)) ]"
kaohe backup -d "$D" "$TMP/hot" --json >"$TMP/hot.json" || fail "backup while feeding"
feeding=no
kill -0 $FEED 2>/dev/null && feeding=yes
wait $FEED || fail "the second half's feed"
[ $feeding = yes ] || echo "# note: the feed had ended when the copy finished"
B=$(jq -r .last_seq "$TMP/hot.json")
L=$(last_seq "$D")
[ "$B" -gt $((N / 2)) ] && [ "$B" -le "$L" ] || fail "backup holds $B events, live $L"
[ "$(stat -c %a "$TMP/hot")" = 700 ] || fail "backup directory mode $(stat -c %a "$TMP/hot")"
[ "$(stat -c %a "$TMP/hot/keys/admin.key")" = 600 ] || fail "secret key mode in the backup"
pass "hot backup while feeding ($feeding): $B of $L events"

R=$TMP/restored
kh_track "$R"
cp -a "$TMP/hot" "$R"
kaohe up -d "$R" >/dev/null || fail "kaohe up on the restored backup"
[ "$(last_seq "$R")" -eq "$B" ] || fail "restored store has $(last_seq "$R") events, backup said $B"
kaohe rebuild -d "$R" >/dev/null || fail "rebuild of the restored backup"
kaohe feed "$TMP/events.jsonl" -d "$R" --json >"$TMP/refeed.out" 2>/dev/null || fail "refeed"
got=$(jq -s 'map(select(.status == "accepted")) | length' "$TMP/refeed.out")
[ "$got" -eq $((L - B)) ] || fail "refeeding accepted $got events, expected $((L - B))"
capture "$D" "$TMP/live"
capture "$R" "$TMP/rest"
same "$TMP/live" "$TMP/rest" "hot restore"
kaohe down -d "$R" >/dev/null
pass "restored hot backup: consistent, a prefix of the journal ($((L - B)) events after it), figures identical once refed"

# ---- 2. at rest, with snapshots ----------------------------------------------------
kaohe snapshot publish $YEAR-01 -d "$D" >/dev/null
kaohe snapshot publish $YEAR-02 -d "$D" >/dev/null
kaohe backup -d "$D" "$TMP/rest-bk" >"$TMP/rest-bk.txt" || fail "backup at rest"
grep -q 'restore:' "$TMP/rest-bk.txt" || fail "backup did not say how to restore"
R2=$TMP/restored2
kh_track "$R2"
cp -a "$TMP/rest-bk" "$R2"
kaohe up -d "$R2" >/dev/null
capture "$R2" "$TMP/rest2"
same "$TMP/live" "$TMP/rest2" "restore at rest"
kaohe snapshot verify -d "$R2" >/dev/null || fail "snapshot verify on the restored backup"
expect_eq "restored snapshot list" "$(kaohe snapshot list -d "$R2" --json)" "$(kaohe snapshot list -d "$D" --json)"
kaohe down -d "$R2" >/dev/null

# ---- 3. refusals --------------------------------------------------------------------
rc=0
kaohe backup -d "$D" "$TMP/rest-bk" >/dev/null 2>"$TMP/err" || rc=$?
[ $rc -eq 1 ] && grep -q 'new directory' "$TMP/err" || fail "backup over an existing directory: exit $rc, $(cat "$TMP/err")"
mkdir -p "$TMP/empty"
rc=0
kaohe backup -d "$TMP/empty" "$TMP/x" >/dev/null 2>"$TMP/err" || rc=$?
[ $rc -eq 1 ] && grep -q 'no store' "$TMP/err" || fail "backup without a store: exit $rc, $(cat "$TMP/err")"
pass "backup refuses an existing target and a directory without a store"
