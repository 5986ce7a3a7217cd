#!/usr/bin/env bash
# Periods through the real services: pending while open, deducted once
# closed, a late event changing a closed period's result, explain giving
# required and found counts, the time-zone edge of a month, and automatic
# closing after grace_days.
. "$(dirname "$0")/lib.sh"
DATA=$KH_SOURCE_DIR/tests/data/periods

item() { # station item field
    kaohe station "$1" --year 2025 --json -d "$D" | jq -c ".sections[].items[] | select(.id==\"$2\") | $3"
}

kaohe up -c "$DATA/county.json" -d "$D" >/dev/null
kaohe feed "$DATA/events.jsonl" -d "$D" >/dev/null

# 4.4, X is class 3: at least 1 counted resident patrol a month, −2 per
# missing. January has R1; February..December have none: 11 × 2 = 22,
# all pending while nothing is closed (every month of 2025 has begun).
expect_eq "open: X 4.4 pending" "$(item X 4.4 '[.deducted, .pending]')" "[0,22]"
# Y is class 1: 2 a month. R1 and R2 (15:59:59Z = 23:59:59 on 31 January
# in Shanghai) are January's; R3 (16:00Z = 1 February 00:00) is
# February's. January 2 of 2: nothing; February 1 of 2: 1 missing;
# March..December 10 × 2 missing: 21 × 2 = 42 pending.
expect_eq "open: Y 4.4 pending (month edge in county time)" "$(item Y 4.4 '[.deducted, .pending]')" "[0,42]"
expect_eq "open: total has no pending in it" \
    "$(kaohe station X --year 2025 --json -d "$D" | jq -c '[(.sections[] | select(.id=="4") | .score)]')" "[15]"

kaohe close 2025-02 -d "$D" >/dev/null
# January and February are closed: X's February shortfall (−2) is now
# deducted; March..December (10 × 2 = 20) still pending.
expect_eq "closed through February: X 4.4" "$(item X 4.4 '[.deducted, .pending]')" "[2,20]"
expect_eq "closed through February: Y 4.4" "$(item Y 4.4 '[.deducted, .pending]')" "[2,40]"
expect_eq "status shows the close" "$(kaohe status -d "$D" --json | jq -r .closed_through)" "2025-02-28"

# explain: one entry per missing month with required and found counts;
# the entries add up (final: −deducted, pending: −pending).
ex=$(kaohe explain X 4.4 --year 2025 --json -d "$D")
expect_eq "explain X 4.4: final entries" \
    "$(echo "$ex" | jq -c '[.entries[] | select(.pending|not) | {points, period}]')" '[{"points":-2,"period":"2025-02"}]'
expect_eq "explain X 4.4: pending sum" \
    "$(echo "$ex" | jq '[.entries[] | select(.pending) | .points] | add')" "-20"
echo "$ex" | jq -r '.entries[0].why' | grep -q '0' || fail "why names the counts"
expect_eq "explain X 4.4: January's patrol is behind nothing" \
    "$(echo "$ex" | jq -c '[.entries[] | select(.period=="2025-01")] | length')" "0"

# Closing is for good, so a period that has not ended (a typo for a
# future year) is refused and nothing changes.
set +e
kaohe close 2099 -d "$D" 2>"$TMP/err"
rc=$?
set -e
expect_eq "closing a future period is refused" "$rc" "2"
grep -q "has not ended yet" "$TMP/err" || fail "the refusal says why"
expect_eq "and nothing was closed" "$(kaohe status -d "$D" --json | jq -r .closed_through)" "2025-02-28"

# A late event for a closed period changes that period's result.
kaohe feed "$DATA/late.jsonl" -d "$D" >/dev/null
expect_eq "late patrol for closed February: X 4.4" "$(item X 4.4 '[.deducted, .pending]')" "[0,20]"
expect_eq "explain names the late event" \
    "$(kaohe explain X 4.4 --year 2025 --json -d "$D" | jq -c '[.entries[] | select(.pending) | .points] | length')" "10"

# --as-of 2025-01-20: the state on that day. Only January had begun and
# nothing was closed yet (the close is cut at the date too); January has
# X's R1, so X owes nothing, deducted or pending.
expect_eq "as-of 2025-01-20: X 4.4" \
    "$(kaohe station X --year 2025 --as-of 2025-01-20 --json -d "$D" | jq -c '.sections[].items[] | select(.id=="4.4") | [.deducted, .pending]')" "[0,0]"
kaohe down -d "$D" >/dev/null

# Automatic closing: grace_days 0 closes every period that ended before
# today (county time) as soon as the ranker starts.
D=$TMP/auto
kaohe up -c "$DATA/county-auto.json" -d "$D" >/dev/null
kaohe feed "$DATA/events.jsonl" -d "$D" >/dev/null
today=$(TZ=Asia/Shanghai date +%Y-%m-%d)
dom=$(TZ=Asia/Shanghai date +%-d)
if [ "$dom" -ge 16 ]; then
    want=$(TZ=Asia/Shanghai date +%Y-%m-15)
else
    want=$(date -d "$(TZ=Asia/Shanghai date +%Y-%m-01) - 1 day" +%Y-%m-%d)
fi
deadline=$((SECONDS + 20))
got=null
while [ $SECONDS -lt $deadline ]; do
    got=$(kaohe status -d "$D" --json | jq -r .closed_through)
    [ "$got" = "$want" ] && break
    sleep 0.2
done
expect_eq "auto close on $today with grace 0" "$got" "$want"
# All of 2025 is closed: X's 11 missing months are deducted, nothing pending.
expect_eq "auto closed 2025: X 4.4" "$(item X 4.4 '[.deducted, .pending]')" "[22,0]"

# Automatic publishing: every month from the first event's (2025-01) to
# the last one closed gets its first revision, one by one in calendar
# order, chained.
last_month=$(date -d "$want" +%Y-%m)
[ "$(date -d "$want" +%d)" = "15" ] && last_month=$(date -d "$want -1 month" +%Y-%m)
ly=${last_month%-*}
lm=$((10#${last_month#*-}))
count=$(( (ly - 2025) * 12 + lm ))
deadline=$((SECONDS + 60))
n=0
while [ $SECONDS -lt $deadline ]; do
    n=$(kaohe snapshot list --json -d "$D" | jq length)
    [ "$n" -ge "$count" ] && break
    sleep 0.2
done
expect_eq "auto published 2025-01..$last_month" "$n" "$count"
list=$(kaohe snapshot list --json -d "$D")
expect_eq "auto publications in calendar order" \
    "$(echo "$list" | jq -c '[.[] | .month] | . == sort')" "true"
expect_eq "auto publications are first revisions by auto_publish" \
    "$(echo "$list" | jq -c '[.[] | [.rev, .published_by]] | unique')" '[[1,"auto_publish"]]'
expect_eq "the chain verifies" "$(kaohe snapshot verify --json -d "$D" | jq .ok)" "true"
echo "all passed"
