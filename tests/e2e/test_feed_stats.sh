#!/usr/bin/env bash
# kaohe feed --rate and --stats (the measuring side of bench/run.sh):
# pacing at an offered rate, the acknowledgement latency and throughput
# report as text, as JSON on stderr and in a file, which events it counts,
# and that the feed without these options behaves as before.
. "$(dirname "$0")/lib.sh"

kaohe simulate --seed 3 --year 2025 --months 1-2 --stations 4 \
    --county "$TMP/county.json" -o "$TMP/all.jsonl" 2>/dev/null
kaohe up -c "$TMP/county.json" -d "$D" >/dev/null
n_all=$(wc -l <"$TMP/all.jsonl")
[ "$n_all" -ge 400 ] || fail "simulate gave only $n_all events"
head -n 100 "$TMP/all.jsonl" >"$TMP/a.jsonl"
sed -n '101,200p' "$TMP/all.jsonl" >"$TMP/b.jsonl"
sed -n '201,350p' "$TMP/all.jsonl" >"$TMP/c.jsonl"

# run_feed OUT ERR ARGS...: the feed with a deadline; its exit status in $rc
run_feed() {
    local out=$1 err=$2
    shift 2
    rc=0
    timeout 120 "$KH_BIN/kaohe" feed "$@" -d "$D" >"$out" 2>"$err" || rc=$?
    [ "$rc" -ne 124 ] || fail "kaohe feed $* did not finish within 120 s"
}
int_re='^[0-9]+$'

# Without --stats: the summary alone, as before.
run_feed "$TMP/out" "$TMP/err" "$TMP/a.jsonl"
expect_eq "plain feed exits 0" "$rc" "0"
grep -q '^accepted [0-9]*, duplicate [0-9]*, rejected 0$' "$TMP/out" || fail "no summary: $(cat "$TMP/out")"
grep -q 'stats' "$TMP/out" "$TMP/err" && fail "statistics printed without --stats"
pass "no statistics without --stats"

# --stats: two text lines on stderr; every event counted, a resend of
# the same lines (all duplicates) too.
run_feed "$TMP/out" "$TMP/err" "$TMP/a.jsonl" --stats
expect_eq "feed --stats exits 0" "$rc" "0"
expect_eq "duplicates are acknowledged" "$(cat "$TMP/out")" "accepted 0, duplicate 100, rejected 0"
grep -Eq '^stats: 100 events acknowledged in [0-9]+\.[0-9]{6} s: [0-9]+ events/s$' "$TMP/err" \
    || fail "no throughput line: $(cat "$TMP/err")"
line=$(grep '^stats: acknowledgement latency us:' "$TMP/err") || fail "no latency line: $(cat "$TMP/err")"
read -r p50 p99 p999 max < <(echo "$line" | sed -E 's/.*p50 ([0-9]+), p99 ([0-9]+), p99.9 ([0-9]+), max ([0-9]+)$/\1 \2 \3 \4/')
[[ $p50 =~ $int_re && $max =~ $int_re ]] || fail "latency line unreadable: $line"
[ "$p50" -le "$p99" ] && [ "$p99" -le "$p999" ] && [ "$p999" -le "$max" ] && [ "$p50" -gt 0 ] \
    || fail "percentiles out of order: $line"
pass "text report: p50 $p50 <= p99 $p99 <= p99.9 $p999 <= max $max us"

# --stats --json: the per-line objects on stdout as before, the report as
# the last line of stderr.
run_feed "$TMP/out" "$TMP/err" "$TMP/b.jsonl" --stats --json
expect_eq "feed --stats --json exits 0" "$rc" "0"
expect_eq "one object per line on stdout" "$(jq -s 'length' "$TMP/out")" "100"
expect_eq "all accepted" "$(jq -r '.status' "$TMP/out" | sort -u | tr '\n' ' ')" "accepted "
tail -n 1 "$TMP/err" >"$TMP/stats.json"
expect_eq "JSON report counts every event" "$(jq '.events' "$TMP/stats.json")" "100"
expect_eq "unpaced: offered_per_s is null" "$(jq '.offered_per_s' "$TMP/stats.json")" "null"
expect_eq "JSON report's fields" \
    "$(jq -c '[(.seconds|type), (.events_per_s|type), (.latency_us|keys_unsorted)]' "$TMP/stats.json")" \
    '["number","number",["p50","p99","p99_9","max"]]'
expect_eq "JSON percentiles in order" \
    "$(jq '.latency_us | .p50 <= .p99 and .p99 <= .p99_9 and .p99_9 <= .max and .p50 > 0' "$TMP/stats.json")" \
    "true"

# --rate 100 --stats-out FILE: 150 events take at least 1.49 s (the last
# is due 149/100 s after the first) and the report in the file says so.
t0=$(date +%s%N)
run_feed "$TMP/out" "$TMP/err" "$TMP/c.jsonl" --rate 100 --stats-out "$TMP/rate.json"
t1=$(date +%s%N)
expect_eq "feed --rate exits 0" "$rc" "0"
elapsed_ms=$(((t1 - t0) / 1000000))
[ "$elapsed_ms" -ge 1490 ] || fail "150 events at 100/s took only $elapsed_ms ms"
pass "150 events at --rate 100 took $elapsed_ms ms"
grep -q stats "$TMP/err" && fail "--stats-out also printed to stderr: $(cat "$TMP/err")"
expect_eq "the file's report counts every event" "$(jq '.events' "$TMP/rate.json")" "150"
expect_eq "offered rate recorded" "$(jq '.offered_per_s' "$TMP/rate.json")" "100"
rate=$(jq '.events_per_s' "$TMP/rate.json")
[ "$rate" -ge 80 ] && [ "$rate" -le 110 ] || fail "paced throughput $rate events/s, offered 100"
pass "paced throughput $rate events/s"
secs_ok=$(jq '.seconds >= 1.49' "$TMP/rate.json")
expect_eq "paced feed's duration covers the schedule" "$secs_ok" "true"

# Lines answered without a round trip are not in the report.
{ echo 'not json'; sed -n 1p "$TMP/c.jsonl"; } >"$TMP/mixed.jsonl"
run_feed "$TMP/out" "$TMP/err" "$TMP/mixed.jsonl" --stats-out "$TMP/mixed.json"
expect_eq "a rejected line still exits 3" "$rc" "3"
expect_eq "only the acknowledged event is counted" "$(jq '.events' "$TMP/mixed.json")" "1"

# Bad values are usage errors; an unwritable report fails the feed.
for bad in 0 -5 abc 10x; do
    run_feed "$TMP/out" "$TMP/err" "$TMP/c.jsonl" --rate "$bad"
    expect_eq "--rate $bad is a usage error" "$rc" "2"
done
run_feed "$TMP/out" "$TMP/err" "$TMP/a.jsonl" --stats-out "$TMP/no/such/dir/s.json"
expect_eq "an unwritable --stats-out fails" "$rc" "1"
grep -q "cannot write the statistics" "$TMP/err" || fail "no message: $(cat "$TMP/err")"
pass "unwritable --stats-out named"
