#!/usr/bin/env bash
# Answers reach the source that asked, when one request carries many.
#
# The station ingest puts the events of Submits that arrive while its
# earlier requests are being committed into one request to the scorer, and
# splits the scorer's answer back by source (services/ingest/main.c). Here
# four stations feed at once, each its own `kaohe feed` process, paced so
# that their Submits are many and interleave (tags start
# at 1 in each, so they collide between sources): two send events already
# stored, which must all come back duplicate, and two send new events,
# which must all come back accepted. An answer relayed to the wrong
# source, or split at the wrong place, names another event than the line
# its tag was sent with, which `kaohe feed` ignores and reports on stderr,
# and shows as a wrong status or a feed that never finishes. The ingest's
# metrics then show requests that carried more than one Submit, so the
# test did exercise that path.
. "$(dirname "$0")/lib.sh"

YEAR=2025
kaohe simulate --seed 5 --year $YEAR --months 1-12 --stations 20 --scale 4 \
    --county "$TMP/county.json" -o "$TMP/events.jsonl" 2>/dev/null || fail "simulate"
for k in 1 2 3 4; do
    # a station's own events, each id once (the generator also resends)
    jq -c "select(.station == \"S000$k\" and .source == \"station\")" "$TMP/events.jsonl" |
        jq -cs 'unique_by(.id)[]' >"$TMP/s$k.jsonl"
    [ "$(wc -l <"$TMP/s$k.jsonl")" -ge 500 ] || fail "S000$k has only $(wc -l <"$TMP/s$k.jsonl") events"
done
kaohe up -c "$TMP/county.json" -d "$D" >/dev/null
for k in 1 3; do
    kaohe feed "$TMP/s$k.jsonl" -d "$D" >/dev/null 2>&1 || fail "first feed of S000$k"
done

# Submits per request before the concurrent feeds (the metrics file is
# rewritten every few seconds: wait until it shows what was fed).
M=$D/metrics/ingest-station.prom
metric() { awk -v k="$1{service=\"ingest-station\"}" 'index($0, k " ") == 1 { print $2 }' "$M"; }
n13=$(($(wc -l <"$TMP/s1.jsonl") + $(wc -l <"$TMP/s3.jsonl")))
fwd() { awk 'index($0, "kaohe_ingest_events_total{service=\"ingest-station\",outcome=\"forwarded\"} ") == 1 { print $2 }' "$M"; }
have_fwd() { [ -s "$M" ] && [ "$(fwd)" -ge "$1" ]; }
wait_until 15 "the first feeds in the metrics" have_fwd "$n13"
sum0=$(metric kaohe_ingest_request_submits_sum)
cnt0=$(metric kaohe_ingest_request_submits_count)

pids=()
for k in 1 2 3 4; do
    # paced: a Submit per event or few, thousands of them in all
    kaohe feed "$TMP/s$k.jsonl" -d "$D" --json --timeout 30 --rate 3000 \
        >"$TMP/out$k.jsonl" 2>"$TMP/err$k" &
    pids+=($!)
done
for k in 1 2 3 4; do
    wait "${pids[$((k - 1))]}" || fail "the feed of S000$k exited $?: $(cat "$TMP/err$k")"
done
for k in 1 2 3 4; do
    want=accepted
    [ $k = 2 ] || [ $k = 4 ] || want=duplicate
    n=$(wc -l <"$TMP/s$k.jsonl")
    got=$(jq -s --arg w "$want" 'map(select(.status == $w)) | length' "$TMP/out$k.jsonl")
    expect_eq "S000$k: all $n answers $want" "$got" "$n"
    ! grep -q "named another event" "$TMP/err$k" || fail "S000$k: $(cat "$TMP/err$k")"
done

total=$((n13 + n13 + $(wc -l <"$TMP/s2.jsonl") + $(wc -l <"$TMP/s4.jsonl")))
wait_until 15 "the concurrent feeds in the metrics" have_fwd "$total"
sum1=$(metric kaohe_ingest_request_submits_sum)
cnt1=$(metric kaohe_ingest_request_submits_count)
submits=$((sum1 - sum0)) requests=$((cnt1 - cnt0))
[ "$requests" -ge 1 ] && [ "$submits" -gt "$requests" ] ||
    fail "no request carried several Submits ($submits Submits in $requests requests)"
pass "$submits Submits went to the scorer in $requests requests"
