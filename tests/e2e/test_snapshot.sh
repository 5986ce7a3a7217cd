#!/usr/bin/env bash
# Month-end snapshots through the real services (SPEC section 7): publish,
# publish again with nothing changed, a late legal review making the month
# stale and a second revision that records what changed, diff, verify on an
# intact store and after one byte of a stored snapshot was changed directly
# in LMDB, exports, and subscribers (a late one gets the latest snapshot).
. "$(dirname "$0")/lib.sh"
DATA=$KH_SOURCE_DIR/tests/data/snapshot

kaohe up -c "$EXAMPLE/county.json" -d "$D" >/dev/null
kaohe feed "$EXAMPLE/events.jsonl" -d "$D" >/dev/null

p1=$(kaohe snapshot publish 2024-02 --json -d "$D")
expect_eq "publish: revision 1, changed" "$(echo "$p1" | jq -c '[.month, .rev, .changed]')" '["2024-02",1,true]'
h1=$(echo "$p1" | jq -r .hash)
[[ "$h1" =~ ^[0-9a-f]{64}$ ]] || fail "hash is 64 hex digits: $h1"
expect_eq "publish closed February" "$(kaohe status -d "$D" --json | jq -r .closed_through)" "2024-02-29"

# The frozen figures are the worked example's closed figures as of 29
# February: the same totals, except that BM's case K6 (a car theft at
# 2024-02-29T16:30Z, which is 1 March in Shanghai) is after the month and
# left out, so BM keeps its 0.1: 28.5 + 0.1 = 28.6.
show=$(kaohe snapshot show 2024-02 --json -d "$D")
expect_eq "show: SPEC keys first" "$(echo "$show" | jq -c 'keys_unsorted[:7]')" \
    '["month","rev","hash","prev_hash","published_at","rank","stations"]'
expect_eq "show: frozen ranking as of 29 February" \
    "$(echo "$show" | jq -c '[.rank.stations[] | [.rank, .station, .total]]')" \
    '[[1,"QS",31.7],[2,"NM",29.4],[3,"XM",28.9],[4,"BM",28.6]]'
expect_eq "show: every station's scorecard" "$(echo "$show" | jq -c '[.stations[].station]')" \
    '["QS","NM","XM","BM"]'
expect_eq "show: month-by-month totals for the charts" \
    "$(echo "$show" | jq -c '.monthly.NM | map(.month)')" '["2024-01","2024-02"]'
expect_eq "show: first publication has no prev_hash" "$(echo "$show" | jq .prev_hash)" "null"

p=$(kaohe snapshot publish 2024-02 --json -d "$D")
expect_eq "publish again: nothing changed" "$(echo "$p" | jq -c '[.rev, .changed, .hash]')" "[1,false,\"$h1\"]"
expect_eq "nothing stale yet" "$(kaohe status -d "$D" --json | jq -c .stale_months)" '[]'

# A late legal review: K1 (NM, called 3 February) was caught in the act
# after all (rev 1 wins over the suspects-arrested review). Its effect is
# dated by the call, so February's figures change: NM 5.2.3 loses the
# 0.1 deduction and the 1.00 suspects bonus and gains 2.00.
kaohe feed "$DATA/late.jsonl" -d "$D" >/dev/null
expect_eq "late review makes February stale" "$(kaohe status -d "$D" --json | jq -c .stale_months)" '["2024-02"]'
p2=$(kaohe snapshot publish 2024-02 --json -d "$D")
expect_eq "publish after the late event: revision 2" "$(echo "$p2" | jq -c '[.rev, .changed]')" '[2,true]'
h2=$(echo "$p2" | jq -r .hash)
show2=$(kaohe snapshot show 2024-02 --rev 2 --json -d "$D")
expect_eq "revision 2 chains to revision 1" "$(echo "$show2" | jq -r .prev_hash)" "$h1"
expect_eq "revision 2 records who published" "$(echo "$show2" | jq -r '.published_by | length > 0')" "true"
expect_eq "revision 2 records what changed" \
    "$(echo "$show2" | jq -c '[.changes[] | select(.station=="NM" and .item=="5.2.3") | {field, old, new, events}]')" \
    '[{"field":"deducted","old":0.1,"new":0,"events":["r2b","r2"]},{"field":"bonus","old":3,"new":4,"events":["r2b","r2"]}]'
expect_eq "revision 2: NM total 29.4 -> 30.5" \
    "$(echo "$show2" | jq -c '[.changes[] | select(.station=="NM" and .item==null) | .old, .new]')" '[29.4,30.5]'
expect_eq "diff names the same changes" \
    "$(kaohe snapshot diff 2024-02 --json -d "$D" | jq -c '[.from, .to, (.changes | length)]')" \
    "[1,2,$(echo "$show2" | jq '.changes | length')]"
expect_eq "stale no more" "$(kaohe status -d "$D" --json | jq -c .stale_months)" '[]'
expect_eq "list shows both revisions in chain order" \
    "$(kaohe snapshot list --json -d "$D" | jq -c '[.[] | [.month, .rev]]')" '[["2024-02",1],["2024-02",2]]'

# Exports of the published revision.
for f in json csv xlsx html; do
    kaohe snapshot export 2024-02 --format $f -o "$TMP/snap.$f" -d "$D" >/dev/null
    [ -s "$TMP/snap.$f" ] || fail "export $f is empty"
done
expect_eq "csv export starts with a UTF-8 BOM" "$(head -c 3 "$TMP/snap.csv" | od -An -tx1 | tr -d ' ')" "efbbbf"
expect_eq "json export is the snapshot" "$(jq -r .hash "$TMP/snap.json")" "$h2"
grep -q "南门派出所" "$TMP/snap.html" || fail "html export names the stations"
pass "exports"

# Subscribers: a late one gets the latest snapshot at once (Clone); a live
# one also gets the next publication as it happens.
late=$(kaohe subscribe --count 1 -d "$D" | jq -r '[.month, .rev] | @tsv')
expect_eq "late subscriber gets the latest snapshot" "$late" "$(printf '2024-02\t2')"
kaohe subscribe --count 2 -d "$D" > "$TMP/sub.out" &
subpid=$!
# the subscriber has printed the latest (it subscribed before reading it)
deadline=$((SECONDS + 20))
until [ -s "$TMP/sub.out" ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
p3=$(kaohe snapshot publish 2024-03 --json -d "$D")
deadline=$((SECONDS + 20))
while kill -0 $subpid 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
kill $subpid 2>/dev/null || true
wait $subpid 2>/dev/null || true
expect_eq "live subscriber sees the new publication" \
    "$(jq -r '[.month, .rev] | @tsv' "$TMP/sub.out" | tr '\t\n' ' ;')" "2024-02 2;2024-03 1;"
expect_eq "March chains to February's revision 2" \
    "$(kaohe snapshot show 2024-03 --json -d "$D" | jq -r .prev_hash)" "$h2"

# verify: intact, then one byte of revision 1 changed directly in LMDB.
expect_eq "verify an intact store" "$(kaohe snapshot verify --json -d "$D" | jq -c '[.ok, .publications]')" "[true,3]"
kaohe down -d "$D" >/dev/null
mdb_dump -p -s snap "$D/store" > "$TMP/snap.dump"
# the first value line after HEADER=END is revision 1 of 2024-02
awk 'BEGIN{h=0;n=0} /^HEADER=END/{h=1; print; next} h && /^ /{n++; if (n==2) sub(/"year":2024/, "\"year\":2025")} {print}' \
    "$TMP/snap.dump" > "$TMP/snap.tampered"
cmp -s "$TMP/snap.dump" "$TMP/snap.tampered" && fail "tampering changed nothing"
mdb_load -s snap -f "$TMP/snap.tampered" "$D/store"
set +e
v=$(kaohe snapshot verify --json -d "$D")
rc=$?
set -e
expect_eq "verify fails on a changed byte" "$rc" "1"
expect_eq "verify names the month and revision" "$(echo "$v" | jq -r .broken)" "2024-02 revision 1"
echo "all passed"
