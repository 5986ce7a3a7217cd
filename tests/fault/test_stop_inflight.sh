#!/usr/bin/env bash
# A graceful stop with requests in flight.
#
# The scorer is frozen (SIGSTOP) while a feed runs, so the ingests hold
# requests the scorer has not answered. The ingests are then stopped with
# SIGTERM: each must exit on its own (logging `stopped`), freeing what it
# held; under the sanitizer suite (scripts/test-asan.sh) a leak at that
# exit fails the run. Then the scorer resumes, the ingests are started
# again, and the same feed, resending what was never acknowledged, ends
# with every event accepted or duplicate and none rejected; feeding the
# file once more finds them all in the journal.
. "$(dirname "$0")/../e2e/lib.sh"

YEAR=2025
INGESTS=(ingest-dispatch ingest-legal ingest-station ingest-assessor)
kaohe simulate --seed 31 --year $YEAR --months 1 --stations 6 \
    --county "$TMP/county.json" -o "$TMP/events.jsonl" 2>/dev/null || fail "simulate"

kaohe up -c "$TMP/county.json" -d "$D" >/dev/null
SCORER=$(cat "$D/run/scorer.pid")
STOPPED="" FEED=""
# On exit: resume the scorer (else kaohe down waits for it) and end the
# feed this test started, keeping the test's status.
on_exit() {
    local rc=$?
    [ -z "$STOPPED" ] || kill -CONT "$SCORER" 2>/dev/null || true
    [ -z "$FEED" ] || kill "$FEED" 2>/dev/null || true
    set +e
    (exit $rc)
    cleanup
}
trap on_exit EXIT
kill -STOP "$SCORER"
STOPPED=1

"$KH_BIN/kaohe" feed "$TMP/events.jsonl" -d "$D" --json --timeout 60 \
    >"$TMP/feed.out" 2>"$TMP/feed.err" &
FEED=$!

# The station ingest says it holds unanswered events (its metrics file is
# rewritten every 5 s). Its requests are then a few seconds old, short of
# the 10 s after which an ingest presumes one lost (and the feed's resends
# keep sending new ones), so the stop finds requests in flight.
inflight() {
    awk '$1 ~ /^kaohe_ingest_inflight_events([{]|$)/ && $2 > 0 { ok = 1 } END { exit !ok }' \
        "$D/metrics/ingest-station.prom"
}
wait_until 20 "the station ingest to hold unanswered events" inflight

declare -A PIDS
for name in "${INGESTS[@]}"; do
    PIDS[$name]=$(cat "$D/run/$name.pid")
    kill -TERM "${PIDS[$name]}"
done
for name in "${INGESTS[@]}"; do
    wait_until 15 "$name to exit on SIGTERM with requests in flight" gone "${PIDS[$name]}"
    grep -q 'msg=stopped' "$D/log/$name.log" || fail "$name did not log that it stopped"
done
pass "the ingests stopped on SIGTERM with requests in flight"

kill -CONT "$SCORER"
STOPPED=""
kaohe up -d "$D" >/dev/null || fail "kaohe up after the stop"
rc=0
wait "$FEED" || rc=$?
FEED=""
[ "$rc" -eq 0 ] || { cat "$TMP/feed.err" >&2; fail "the feed did not complete after the restart"; }
[ "$(jq -s 'length' "$TMP/feed.out")" -eq "$(wc -l <"$TMP/events.jsonl")" ] ||
    fail "the feed did not answer every line"
if jq -e 'select(.status != "accepted" and .status != "duplicate")' "$TMP/feed.out" >/dev/null; then
    jq -c 'select(.status != "accepted" and .status != "duplicate")' "$TMP/feed.out" | head >&2
    fail "an event was neither accepted nor a duplicate"
fi
kaohe feed "$TMP/events.jsonl" -d "$D" --json >"$TMP/again.out" 2>/dev/null ||
    fail "feeding the file again"
expect_eq "feeding again accepts nothing: every event is in the journal" \
    "$(jq -r 'select(.status == "accepted") | .id' "$TMP/again.out" | wc -l)" 0
