#!/usr/bin/env bash
# A flooding source: memory stays bounded and the other sources are served.
#
# kh_flood (tests/tools) is a hostile client with a valid key: it sends its
# lines over and over as fast as the socket takes them, never waiting for
# an answer. While it floods,
#   1. another station's `kaohe feed` (same ingest) completes, every event
#      accepted, while the flood is still going: fair queueing across
#      connections, and the flooder's own in-flight allowance (kh_credit.h),
#      keep it from standing in front of everyone;
#   2. the same with the dispatch center flooding calls into another ingest
#      (the scorer queues its ingests fairly);
#   3. a flood of ~60 KiB lines, which the ingest parses far slower than they
#      arrive, leaves the ingest's peak memory bounded (its receive queue is
#      256 messages per connection; ZeroMQ stops reading the flooder's
#      connection beyond that), and so the scorer's.
# Peak memory is each process's VmHWM; the bound is 100 MiB, about three
# times what the bounded queues take here (with the ingest's receive queue
# at ZeroMQ's usual 200,000 messages the ingest alone passes 150 MiB).
. "$(dirname "$0")/lib.sh"

FLOOD=$KH_BIN/kh_flood
[ -x "$FLOOD" ] || fail "kh_flood not built in $KH_BIN"
YEAR=2025
kaohe simulate --seed 9 --year $YEAR --months 1-12 --stations 20 \
    --county "$TMP/county.json" -o "$TMP/events.jsonl" 2>/dev/null || fail "simulate"
jq -c 'select(.station == "S0001" and .source == "station")' "$TMP/events.jsonl" >"$TMP/a.jsonl"
jq -c 'select(.station == "S0002" and .source == "station")' "$TMP/events.jsonl" >"$TMP/b.jsonl"
jq -c 'select(.station == "S0003" and .source == "station")' "$TMP/events.jsonl" >"$TMP/c.jsonl"
jq -c 'select(.source == "dispatch")' "$TMP/events.jsonl" >"$TMP/calls.jsonl"
pad=$(head -c 60000 /dev/zero | tr '\0' 'x')
head -n 40 "$TMP/a.jsonl" | jq -c --arg p "$pad" '. + {note: $p}' >"$TMP/big.jsonl"
kaohe up -c "$TMP/county.json" -d "$D" >/dev/null
FPID=
trap 'rc=$?; [ -z "$FPID" ] || kill "$FPID" 2>/dev/null || true; (exit $rc); cleanup' EXIT

last_seq() { kaohe status -d "$D" --json | jq -r .last_seq; }
seq_at_least() { [ "$(last_seq)" -ge "$1" ]; }

# flood_and_feed WHAT IDENTITY ENDPOINT FLOODFILE FEEDFILE
flood_and_feed() {
    local what=$1 who=$2 ep=$3 ffile=$4 feed=$5 base n rc=0
    base=$(last_seq)
    "$FLOOD" "$D" "$who" "$ep" 8 "$ffile" >"$TMP/flood.out" &
    FPID=$!
    # The flood is flowing once its first events are committed.
    wait_until 10 "$what: the flood to get going" seq_at_least $((base + 50))
    kaohe feed "$feed" -d "$D" --json --timeout 20 >"$TMP/feed.out" 2>"$TMP/feed.err" || rc=$?
    local during=no
    kill -0 "$FPID" 2>/dev/null && during=yes
    [ $rc -eq 0 ] || fail "$what: the feed beside the flood exited $rc: $(cat "$TMP/feed.err")"
    # accepted, or duplicate for the generator's own resends within the file
    n=$(jq -s 'map(select(.status == "accepted" or .status == "duplicate")) | length' "$TMP/feed.out")
    [ "$n" -eq "$(wc -l <"$feed")" ] || fail "$what: $n of $(wc -l <"$feed") acknowledged"
    [ $during = yes ] || fail "$what: the feed finished only after the flood ended"
    wait "$FPID"
    FPID=
    pass "$what: $n events fed and acknowledged while the flood ran ($(cat "$TMP/flood.out"))"
}

flood_and_feed "station flood" station-S0001 ingest-station "$TMP/a.jsonl" "$TMP/b.jsonl"
flood_and_feed "dispatch flood" dispatch ingest-dispatch "$TMP/calls.jsonl" "$TMP/c.jsonl"

# ---- 3. big lines, faster than they can be parsed ----------------------------------
"$FLOOD" "$D" station-S0001 ingest-station 8 "$TMP/big.jsonl" >"$TMP/big.out" ||
    fail "big-line flood"
sent=$(jq .sent "$TMP/big.out")
answers=$(jq .answers "$TMP/big.out")
[ "$sent" -gt "$answers" ] || fail "the big-line flood never outran the ingest ($sent sent, $answers answered)"
for s in ingest-station scorer; do
    kb=$(rss_kb "$(cat "$D/run/$s.pid")")
    echo "# $s peak memory $kb KiB"
    # Under AddressSanitizer (scripts/test-asan.sh) freed memory sits in
    # its quarantine and every byte has shadow: peak memory says nothing.
    if [ -n "${ASAN_OPTIONS:-}" ]; then echo "# (AddressSanitizer build: the bound is not checked)"; continue; fi
    [ "$kb" -lt 102400 ] || fail "$s peaked at $kb KiB under the floods (bound 100 MiB)"
done
pass "big-line flood: $sent lines of 60 KiB sent ($((sent * 60 / 1024)) MiB), $answers answered; memory bounded"
# Everything still answers.
kaohe status -d "$D" --json | jq -e .healthy >/dev/null || fail "services unhealthy after the floods"
kaohe rank --year $YEAR --json -d "$D" >/dev/null || fail "rank after the floods"
pass "services healthy after the floods"
