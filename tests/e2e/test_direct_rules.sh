#!/usr/bin/env bash
# The direct rules (SPEC section 4: deductions and bonuses caused by one
# event count at once) through the real services, with every expected
# figure worked by hand from the standard below; then every rejection code
# of SPEC section 5, which must change nothing.
. "$(dirname "$0")/lib.sh"
DATA=$KH_SOURCE_DIR/tests/data/direct

# A bad configuration is refused at start, naming the field.
set +e
kaohe up -c "$DATA/bad-county.json" -d "$TMP/bad" 2>"$TMP/err"
rc=$?
set -e
expect_eq "bad county.json refused" "$rc" "1"
grep -q 'stations\[0\].class' "$TMP/err" || fail "the refusal names the field: $(cat "$TMP/err")"
set +e
kaohe up -c "$DATA/county.json" -d "$TMP/badrules" --rules "$DATA/bad-catalog.json" 2>"$TMP/err"
rc=$?
set -e
kaohe down -d "$TMP/badrules" >/dev/null 2>&1 || true
expect_eq "bad rule catalog refused" "$rc" "1"
grep -q 'sections\[0\].max' "$TMP/err" || fail "the refusal names the field: $(cat "$TMP/err")"

kaohe up -c "$DATA/county.json" -d "$D" >/dev/null
kaohe feed "$DATA/events.jsonl" -d "$D" >/dev/null

# Nothing is closed, so only event-caused deductions are in the scores.
# A (class 1, urban), 2025:
#   section 1: 15 − 2 (K1 burglary 三类 in a unit interior, 1.2)
#              − 0.1 (P1 unregistered, 1.1.1, found twice, counted once)
#              − 0.5 (P2 not in platform, 1.1.1) = 12.4
#   section 4: 15 − 0.2 (K2 ebike theft 三类 in a closed community, 4.5)
#              − 0.2 × 2 (P3 late update, 4.6.1, counts each time) = 14.4
#   section 5: 10 − 0.1 (K3 pickpocket on the street, 5.2.3) = 9.9
#              (K4 caught in the act: no deduction; K5 voided by rev 1)
#   bonus: K3 three suspects arrested 3 × 0.5 + K4 caught in the act 2 = 3.5
#   total 12.4 + 14.4 + 9.9 + 3.5 = 40.2
# B (class 2, urban), 2025:
#   section 1: 15 − 3 (1.1.4 incomplete materials, 3 points given)
#              − 4 (1.2 spot check failed, 4 points given) = 8
#   section 5: 10 − 0.1 (K8 snatching at a market; its caught-in-act review
#              was revoked by rev 1) − 2 × 2 (5.2.4 ledger late, count 2) = 5.9
#              (K6 at 2025-12-31T16:30Z is 2026-01-01 in Shanghai: not 2025;
#               K9 moved to C by its rev 1)
#   bonus: K7 caught in the act (its review arrived before the call) = 2
#   total 8 + 15 + 5.9 + 2 = 30.9
# C (class 3), 2025:
#   section 1: 15 − 3 × 1 (1.1.3a three unfiled households) = 12
#   section 4: 15 − 2 (4.3 missing item) = 13
#   section 5: 10 − 1 (5.2.5 register mismatch) − 0.1 (K9 pickpocket in a
#              shop, moved here by rev 1) = 8.9
#   total 33.9
# Ranking: A 40.2, C 33.9, B 30.9.
expected_2025='[{"rank":1,"station":"A","total":40.2,"bonus":3.5,"sections":{"1":12.4,"4":14.4,"5":9.9}},{"rank":2,"station":"C","total":33.9,"bonus":0,"sections":{"1":12,"4":13,"5":8.9}},{"rank":3,"station":"B","total":30.9,"bonus":2,"sections":{"1":8,"4":15,"5":5.9}}]'
rank_of() { kaohe rank --year "$1" --json -d "$D" | jq -c '[.stations[] | {rank, station, total, bonus, sections}]'; }
expect_eq "2025 ranking" "$(rank_of 2025)" "$(echo "$expected_2025" | jq -c .)"

# B in 2026: 10 − 0.1 (K6, a car theft on the street on 1 January) = 9.9
expect_eq "K6 counts in 2026" \
    "$(kaohe station B --year 2026 --json -d "$D" | jq -c '[.total, (.sections[] | select(.id=="5") | .score)]')" \
    "[39.9,9.9]"

# Item level: A's 5.2.3 deducted 0.1, bonus 3.5; B's 1.2 deducted 4.
expect_eq "A 5.2.3" \
    "$(kaohe station A --year 2025 --json -d "$D" | jq -c '.sections[].items[] | select(.id=="5.2.3") | [.deducted, .bonus]')" "[0.1,3.5]"
expect_eq "B 1.2" \
    "$(kaohe station B --year 2025 --json -d "$D" | jq -c '.sections[].items[] | select(.id=="1.2") | [.deducted, .bonus]')" "[4,0]"
expect_eq "explain A 4.6.1: each late update" \
    "$(kaohe explain A 4.6.1 --year 2025 --json -d "$D" | jq -c '[.entries[] | {points, events}]')" \
    '[{"points":-0.2,"events":["f4"]},{"points":-0.2,"events":["f5"]}]'

# Every rejection code, and nothing changes.
long=$(head -c 70000 /dev/zero | tr '\0' 'x')
{ cat "$DATA/bad.jsonl"; printf '{"id":"x13","source":"station","type":"notice","time":"2025-03-10T10:00:00+08:00","station":"C","posted":true,"note":"%s"}\n' "$long"; } > "$TMP/bad.jsonl"
set +e
out=$(kaohe feed "$TMP/bad.jsonl" -d "$D" --json 2>/dev/null)
rc=$?
set -e
expect_eq "feed with rejections exits 3" "$rc" "3"
expect_eq "rejection codes in input order" \
    "$(echo "$out" | jq -r '"\(.line) \(.status) \(.reason)"' | tr '\n' ';')" \
    "1 rejected malformed;2 rejected unknown_type;3 rejected unknown_station;4 rejected bad_time;5 rejected out_of_range;6 rejected conflict;7 rejected forbidden;8 rejected out_of_range;9 rejected malformed;10 rejected out_of_range;11 rejected bad_time;12 rejected malformed;13 rejected out_of_range;14 rejected out_of_range;15 rejected too_large;"
expect_eq "rejections changed nothing" "$(rank_of 2025)" "$(echo "$expected_2025" | jq -c .)"
expect_eq "services still serve" "$(kaohe status -d "$D" --json | jq .healthy)" "true"
echo "all passed"
