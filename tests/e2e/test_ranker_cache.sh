#!/usr/bin/env bash
# The ranker's scorecard cache never serves a stale figure.
#
# The ranker keeps each station's live scorecard until the station's stamp
# (or, for an urban station, the group's), the closes, the day or the year
# change, and the rendered ranking until the journal moves. A query with
# --as-of far in the future gives the same figures (no effect is cut, today
# is today, nothing later is closed) but is computed afresh, bypassing the
# cache. So, after each of twelve chunks of a shuffled county year (calls
# and their legal reviews split across chunks, so that a review arriving
# later changes another station's card through its case), and after closes
# in between, the cached `rank` and every `station` must equal the uncached
# ones byte for byte.
. "$(dirname "$0")/lib.sh"

YEAR=2025
FAR=2099-12-31
kaohe simulate --seed 21 --year $YEAR --months 1-12 --stations 8 \
    --county "$TMP/county.json" -o "$TMP/events.jsonl" 2>/dev/null || fail "simulate"
CODES=$(jq -r '.stations[].code' "$TMP/county.json")
shuf --random-source=<(yes kaohe-cache) "$TMP/events.jsonl" >"$TMP/shuffled.jsonl"
split -n l/12 -d "$TMP/shuffled.jsonl" "$TMP/chunk."
kaohe up -c "$TMP/county.json" -d "$D" >/dev/null

compare() { # LABEL
    local code
    # Warm the cache first, then compare the cached answer with a fresh one.
    kaohe rank --year $YEAR --json -d "$D" >/dev/null
    cmp -s <(kaohe rank --year $YEAR --json -d "$D") \
        <(kaohe rank --year $YEAR --as-of $FAR --json -d "$D") ||
        fail "$1: cached rank differs from a fresh computation"
    for code in $CODES; do
        cmp -s <(kaohe station "$code" --year $YEAR --json -d "$D") \
            <(kaohe station "$code" --year $YEAR --as-of $FAR --json -d "$D") ||
            fail "$1: cached station $code differs from a fresh computation"
    done
}

n=0
for f in "$TMP"/chunk.*; do
    n=$((n + 1))
    kaohe feed "$f" -d "$D" >/dev/null 2>&1 || fail "chunk $n"
    case $n in
    4) kaohe close $YEAR-03 -d "$D" >/dev/null ;;
    8) kaohe close $YEAR-Q2 -d "$D" >/dev/null ;;
    esac
    compare "after chunk $n"
done
pass "cached rank and every station equal fresh ones after each of $n chunks and two closes"
