#!/usr/bin/env bash
# The worked example of ../shared/examples (copied to tests/data/example),
# end to end through the real services: every figure of expected-open.json
# after feeding, the same after a second feed (all duplicates) and after a
# down/up restart, then every figure of expected-closed-2024-02.json after
# `kaohe close 2024-02`.
. "$(dirname "$0")/lib.sh"

kaohe up -c "$EXAMPLE/county.json" -d "$D" >/dev/null

check_all() { # $1 expected file, $2 label
    local exp=$1 label=$2
    expect_eq "$label: rank" \
        "$(kaohe rank --year 2024 --json -d "$D" | jq -cS "$norm_rank")" \
        "$(jq -cS ".rank | $norm_rank" "$exp")"
    for s in NM BM XM QS; do
        expect_eq "$label: station $s" \
            "$(kaohe station "$s" --year 2024 --json -d "$D" | jq -cS "$norm_station")" \
            "$(jq -cS ".stations.$s | $norm_station" "$exp")"
    done
    expect_eq "$label: urban 2024-02" \
        "$(kaohe urban --month 2024-02 --json -d "$D" | jq -cS "$norm_urban")" \
        "$(jq -cS ".urban_2024_02 | $norm_urban" "$exp")"
}

out=$(kaohe feed "$EXAMPLE/events.jsonl" -d "$D" --json 2>"$TMP/counts")
expect_eq "first feed: every event accepted" \
    "$(echo "$out" | jq -r .status | sort | uniq -c | tr -s ' ')" " 60 accepted"
expect_eq "feed --json: lines in input order" \
    "$(echo "$out" | jq -r .line | tr '\n' ' ')" "$(seq -s ' ' 1 60) "
expect_eq "feed --json: ids" "$(echo "$out" | head -1 | jq -c '{id,reason}')" '{"id":"c1","reason":null}'
grep -q "accepted 60, duplicate 0, rejected 0" "$TMP/counts" || fail "counts on stderr"
check_all "$EXAMPLE/expected-open.json" open

out=$(kaohe feed "$EXAMPLE/events.jsonl" -d "$D" --json 2>/dev/null)
expect_eq "second feed: every event a duplicate" \
    "$(echo "$out" | jq -r .status | sort | uniq -c | tr -s ' ')" " 60 duplicate"
check_all "$EXAMPLE/expected-open.json" "after duplicates"

kaohe down -d "$D" >/dev/null
kaohe up -d "$D" >/dev/null
check_all "$EXAMPLE/expected-open.json" "after restart"

kaohe close 2024-02 -d "$D" >/dev/null
check_all "$EXAMPLE/expected-closed-2024-02.json" closed

# explain accounts for every point of an item: Σ final = bonus − deducted.
ex=$(kaohe explain NM 5.2.3 --year 2024 --json -d "$D")
expect_eq "explain NM 5.2.3 adds up" \
    "$(echo "$ex" | jq '[.entries[] | select(.pending|not) | .points] | add * 100 | round')" "290"
expect_eq "explain names the events" \
    "$(echo "$ex" | jq -c '[.entries[].events[]] | sort')" '["c1","c2","r1","r2"]'
echo "all passed"
