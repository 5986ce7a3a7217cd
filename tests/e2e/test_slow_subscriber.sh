#!/usr/bin/env bash
# A slow or dead subscriber never stalls the pipeline.
#
# The services start with a small PUB queue per subscriber
# (KAOHE_PUB_HWM: 100 commit notices, then 2 snapshots), so that a stalled
# subscriber overflows soon.
# 1. The ranker, the scorer's commit-notice subscriber, is frozen
#    (SIGSTOP) while a county year is fed: the feed still completes, every
#    event acknowledged (the scorer drops the notices it cannot queue).
#    Thawed, the ranker logs the notices it lost, counted by batch number,
#    and answers with every event.
# 2. A `kaohe subscribe` gets month 01, then is frozen while eleven more
#    months are published: every publish returns (the ranker drops what the
#    subscriber cannot take).
#    Thawed, it detects the gap by publication number, reads the missed
#    ones from the store, and prints all twelve in order, each once.
. "$(dirname "$0")/lib.sh"

YEAR=2025
kaohe simulate --seed 5 --year $YEAR --months 1-12 --stations 20 \
    --county "$TMP/county.json" -o "$TMP/events.jsonl" 2>/dev/null || fail "simulate"
KAOHE_PUB_HWM=100 kaohe up -c "$TMP/county.json" -d "$D" >/dev/null
RANKER=$(cat "$D/run/ranker.pid")
thaw() { kill -CONT "$RANKER" 2>/dev/null || true; [ -z "${SUBPID:-}" ] || kill -CONT "$SUBPID" 2>/dev/null || true; }
trap 'rc=$?; thaw; [ -z "${SUBPID:-}" ] || kill "$SUBPID" 2>/dev/null || true; (exit $rc); cleanup' EXIT

# ---- 1. a frozen ranker ----------------------------------------------------------
# The first 200 events before, all but the last one while frozen (paced,
# so that they make thousands of small batches), the last one after.
N=$(wc -l <"$TMP/events.jsonl")
head -n 200 "$TMP/events.jsonl" >"$TMP/a.jsonl"
sed -n "201,$((N - 1))p" "$TMP/events.jsonl" >"$TMP/b.jsonl"
tail -n 1 "$TMP/events.jsonl" >"$TMP/c.jsonl"
kaohe feed "$TMP/a.jsonl" -d "$D" >/dev/null 2>&1 || fail "feed before freezing"
kill -STOP "$RANKER"
kaohe feed "$TMP/b.jsonl" -d "$D" --rate 1500 --timeout 30 >"$TMP/feed.out" 2>&1 ||
    fail "the feed stalled behind a frozen subscriber: $(cat "$TMP/feed.out")"
pass "feed completed with the ranker frozen: $(cat "$TMP/feed.out")"
kill -CONT "$RANKER"
kaohe feed "$TMP/c.jsonl" -d "$D" >/dev/null 2>&1 || fail "feed after thawing"
wait_until 10 "the ranker to report lost commit notices" \
    grep -q 'msg="commit notices lost (slow subscriber)"' "$D/log/ranker.log"
n=$(kaohe rank --year $YEAR --json -d "$D" | jq '.stations | length')
[ "$n" -eq 20 ] || fail "rank after thawing shows $n stations"
accepted=$(kaohe feed "$TMP/events.jsonl" -d "$D" --json 2>/dev/null | jq -s 'map(select(.status == "accepted")) | length')
[ "$accepted" -eq 0 ] || fail "$accepted events were missing after the freeze"
pass "thawed ranker logged its lost notices ($(grep -o 'count=[0-9]*' "$D/log/ranker.log" | head -n 1)); every event is in"

# ---- 2. a frozen snapshot subscriber ------------------------------------------
kaohe down -d "$D" >/dev/null
KAOHE_PUB_HWM=2 kaohe up -d "$D" >/dev/null
RANKER=$(cat "$D/run/ranker.pid")
"$KH_BIN/kaohe" subscribe --count 12 -d "$D" >"$TMP/sub.out" 2>"$TMP/sub.err" &
SUBPID=$!
# The subscription works: month 01 arrives over the socket.
kaohe snapshot publish $YEAR-01 -d "$D" >/dev/null
has_lines() { ! gone "$SUBPID" && [ "$(wc -l <"$TMP/sub.out")" -ge "$1" ]; }
wait_until 10 "the subscriber to print month 01" has_lines 1
kill -STOP "$SUBPID"
for m in 02 03 04 05 06 07 08 09 10 11 12; do
    timeout 30 "$KH_BIN/kaohe" snapshot publish $YEAR-$m -d "$D" --json >>"$TMP/pub.out" ||
        fail "snapshot publish $YEAR-$m did not return while a subscriber was frozen"
done
pass "eleven months published with a subscriber frozen"
kill -CONT "$SUBPID"
wait_until 30 "the subscriber to print twelve publications" gone "$SUBPID"
wait "$SUBPID" || fail "kaohe subscribe exited non-zero: $(cat "$TMP/sub.err")"
SUBPID=
[ "$(wc -l <"$TMP/sub.out")" -eq 12 ] || fail "subscriber printed $(wc -l <"$TMP/sub.out") lines"
expect_eq "publications in order, each once" \
    "$(jq -r '.month' "$TMP/sub.out" | tr '\n' ' ')" \
    "$(for m in 01 02 03 04 05 06 07 08 09 10 11 12; do printf '%s ' $YEAR-$m; done)"
grep -Eq 'publications ([2-9]|1[0-2])-[0-9]+ missed on the socket, read from the store' "$TMP/sub.err" ||
    fail "the subscriber saw no gap: the queue did not overflow ($(cat "$TMP/sub.err"))"
pass "gap detected by publication number and filled: $(head -n 1 "$TMP/sub.err")"
