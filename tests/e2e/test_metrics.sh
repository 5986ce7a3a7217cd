#!/usr/bin/env bash
# Metrics: each service writes DIR/metrics/NAME.prom in Prometheus' text
# format (for node_exporter's textfile collector).
#
# 1. The example county is fed with events each refused for a known reason
#    (forbidden, unknown_station, bad_time at the ingests; conflict at the
#    scorer) and some duplicates; the files come to show exactly those
#    counts.
# 2. Every file is well-formed exposition text (a strict check here, and
#    promtool's when it is installed).
# 3. kaohe status shows the figures (--json .metrics and the table).
# 4. A service stopped with SIGTERM writes its last figures; started with
#    --metrics-dir it writes kaohe-NAME.prom there and DIR/metrics/NAME.prom
#    links to it;
#    a --metrics-dir it cannot write is logged once, the service runs on,
#    and writes once the directory exists.
. "$(dirname "$0")/lib.sh"

kaohe up -c "$EXAMPLE/county.json" -d "$D" >/dev/null
EV=$EXAMPLE/events.jsonl
N=$(wc -l <"$EV")
by_source() { jq -s --arg s "$1" 'map(select(.source == $s)) | length' "$EV"; }
ND=$(by_source dispatch)
NL=$(by_source legal)
NS=$(by_source station)
NA=$(by_source assessor)
[ $((ND + NL + NS + NA)) -eq "$N" ] || fail "example events of an unexpected source"

feed() { # expected exit status, then feed arguments
    local want=$1 rc=0
    shift
    timeout 60 "$KH_BIN/kaohe" feed "$@" -d "$D" >/dev/null 2>&1 || rc=$?
    [ "$rc" -eq "$want" ] || fail "kaohe feed $*: exit $rc, expected $want"
}
feed 0 "$EV"
# Refusals, each for one reason: a station's key speaking for another
# station, a call naming a station the county does not have, a call dated
# next century, and an id used again with other content.
feed 3 "$KH_SOURCE_DIR/tests/data/auth/cross.jsonl" --as station-NM
cat >"$TMP/bad.jsonl" <<'EOF'
{"id": "u1", "source": "dispatch", "type": "call", "time": "2024-02-03T10:00:00+08:00", "station": "ZZ", "case_id": "KU", "case_kind": "pickpocket", "location": "market"}
{"id": "t1", "source": "dispatch", "type": "call", "time": "2099-02-03T10:00:00+08:00", "station": "NM", "case_id": "KT", "case_kind": "pickpocket", "location": "market"}
{"id": "c1", "source": "dispatch", "type": "call", "time": "2024-02-03T10:00:00+08:00", "station": "NM", "case_id": "K1", "case_kind": "robbery", "location": "market"}
EOF
feed 3 "$TMP/bad.jsonl"
# Five duplicates (the first five calls again).
head -n 5 "$EV" >"$TMP/dup.jsonl"
[ "$(jq -s 'map(select(.source == "dispatch")) | length' "$TMP/dup.jsonl")" -eq 5 ] \
    || fail "the example no longer starts with five calls"
feed 0 "$TMP/dup.jsonl"

# value FILE METRIC LABELS: the sample METRIC{service="NAME",LABELS} of a
# file (NAME from the file's name), exactly as written; empty when absent.
value() {
    local f=$1 svc
    svc=$(basename "$f" .prom | sed "s/^kaohe-//")
    local key="$2{service=\"$svc\"${3:+,$3}}"
    awk -v k="$key" 'index($0, k " ") == 1 { print substr($0, length(k) + 2) }' "$f"
}
M=$D/metrics
EXPECT=(
    "scorer kaohe_scorer_events_total outcome=\"accepted\" $N"
    "scorer kaohe_scorer_events_total outcome=\"duplicate\" 5"
    "scorer kaohe_scorer_events_total outcome=\"conflict\" 1"
    "scorer kaohe_scorer_events_total outcome=\"rejected\" 0"
    "scorer kaohe_scorer_events_total outcome=\"failed\" 0"
    "scorer kaohe_scorer_journal_events - $N"
    "ingest-dispatch kaohe_ingest_events_total outcome=\"forwarded\" $((ND + 1 + 5))"
    "ingest-dispatch kaohe_ingest_events_total outcome=\"rejected\" 2"
    "ingest-dispatch kaohe_ingest_events_total outcome=\"failed\" 0"
    "ingest-dispatch kaohe_ingest_rejected_total reason=\"unknown_station\" 1"
    "ingest-dispatch kaohe_ingest_rejected_total reason=\"bad_time\" 1"
    "ingest-dispatch kaohe_ingest_rejected_total reason=\"conflict\" 1"
    "ingest-dispatch kaohe_ingest_rejected_total reason=\"forbidden\" 0"
    "ingest-station kaohe_ingest_events_total outcome=\"forwarded\" $NS"
    "ingest-station kaohe_ingest_events_total outcome=\"rejected\" 1"
    "ingest-station kaohe_ingest_rejected_total reason=\"forbidden\" 1"
    "ingest-station kaohe_ingest_rejected_total reason=\"unknown_station\" 0"
    "ingest-legal kaohe_ingest_events_total outcome=\"forwarded\" $NL"
    "ingest-assessor kaohe_ingest_events_total outcome=\"forwarded\" $NA"
    "ingest-assessor kaohe_ingest_inflight_events - 0"
)
# counts_ok: every expected figure is in the files (what is not goes to
# $TMP/mismatch).
counts_ok() {
    local line svc name labels want got
    : >"$TMP/mismatch"
    for line in "${EXPECT[@]}"; do
        read -r svc name labels want <<<"$line"
        [ "$labels" != - ] || labels=
        got=$(value "$M/$svc.prom" "$name" "$labels" 2>/dev/null || true)
        [ "$got" = "$want" ] || echo "$svc $name{$labels}: $got, expected $want" >>"$TMP/mismatch"
    done
    [ ! -s "$TMP/mismatch" ]
}
# The files are rewritten every 5 s: the counts must be there within 15.
end=$(($(date +%s) + 15))
until counts_ok; do
    [ "$(date +%s)" -lt "$end" ] || fail "metrics files within 15 s: $(cat "$TMP/mismatch")"
    sleep 0.2
done
pass "the files show the exact counts: $N accepted, 5 duplicate, 1 conflict, refusals by reason"

# Latencies and sizes were observed: one acknowledgement per answered
# request, one commit per batch.
ack=$(value "$M/ingest-station.prom" kaohe_ingest_ack_duration_seconds_count "")
[ "$ack" -ge 1 ] || fail "no acknowledgement latency observed at ingest-station"
commits=$(value "$M/scorer.prom" kaohe_scorer_commit_duration_seconds_count "")
batches=$(value "$M/scorer.prom" kaohe_scorer_batches_total "")
[ "$commits" -ge 1 ] && [ "$commits" = "$batches" ] || fail "commits timed $commits, batches $batches"
events=$(value "$M/scorer.prom" kaohe_scorer_batch_events_sum "")
expect_eq "events per batch add up to the events decided" "$events" "$((N + 5 + 1))"
used=$(value "$M/scorer.prom" kaohe_scorer_store_used_bytes "")
map=$(value "$M/scorer.prom" kaohe_scorer_store_map_bytes "")
[ "$used" -gt 0 ] && [ "$map" -ge "$used" ] || fail "map $map, used $used"
pass "latency and batch histograms observed ($ack answers, $commits commits), map $used of $map bytes"

# Every forwarded event went in a request to the scorer, several Submits'
# events to a request at most; none was presumed lost.
for s in dispatch station legal assessor; do
    f=$M/ingest-$s.prom
    fwd=$(value "$f" kaohe_ingest_events_total 'outcome="forwarded"')
    req=$(value "$f" kaohe_ingest_request_submits_count "")
    lost=$(value "$f" kaohe_ingest_scorer_requests_lost_total "")
    [ -n "$req" ] && [ "$req" -ge 1 ] && [ "$req" -le "$fwd" ] ||
        fail "ingest-$s: $req requests to the scorer for $fwd events forwarded"
    expect_eq "ingest-$s: no request to the scorer lost" "$lost" 0
done

# The ranker's index covers the whole journal once a query has read it,
# and passed nothing over.
kaohe rank --year 2024 -d "$D" >/dev/null
index_ok() {
    [ "$(value "$M/ranker.prom" kaohe_ranker_index_events "")" = "$N" ] &&
        [ "$(value "$M/ranker.prom" kaohe_ranker_index_skipped_total "")" = 0 ] &&
        [ "$(value "$M/ranker.prom" kaohe_ranker_index_bytes "")" -gt 0 ]
}
wait_until 15 "the ranker's index metrics to cover the $N journaled events" index_ok
pass "the ranker's index covers the journal ($N events, none passed over)"

# ---- 2. well-formed ------------------------------------------------------------
# strict_check FILE: every line is a HELP, a TYPE or a sample; a family's
# HELP and TYPE come once each, before its samples; every sample is
# kaohe_NAME{service="SVC",...} VALUE of a typed family (a histogram's
# _bucket, _sum, _count), counters end in _total, a histogram's buckets are
# cumulative and end with le="+Inf" equal to _count.
strict_check() {
    awk -v svc="$(basename "$1" .prom | sed "s/^kaohe-//")" '
        function bad(why) { printf "%s:%d: %s: %s\n", FILENAME, NR, why, $0; err = 1; exit 1 }
        /^# HELP / {
            if ($3 !~ /^kaohe_[a-z0-9_]+$/) bad("bad name")
            if (help[$3]++) bad("second HELP")
            if (NF < 4) bad("empty HELP")
            next
        }
        /^# TYPE / {
            if (!help[$3]) bad("TYPE before HELP")
            if (type[$3] != "") bad("second TYPE")
            if (NF != 4 || $4 !~ /^(counter|gauge|histogram)$/) bad("bad TYPE")
            if ($4 == "counter" && $3 !~ /_total$/) bad("counter without _total")
            type[$3] = $4
            if (seen[$3]) bad("TYPE after samples")
            next
        }
        {
            if ($0 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*\} (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|NaN|[-+]Inf)$/)
                bad("not a sample")
            name = $0; sub(/\{.*/, "", name)
            labels = $0; sub(/^[^{]*\{/, "", labels); sub(/\} [^ ]*$/, "", labels)
            val = $0; sub(/.* /, "", val)
            if (index(labels, "service=\"" svc "\"") != 1) bad("service label not first or not " svc)
            fam = name
            if (type[fam] == "") {
                fam = name; sub(/_(bucket|sum|count)$/, "", fam)
                if (type[fam] != "histogram") bad("sample of no typed family")
            }
            seen[fam] = 1
            if (name ~ /_bucket$/ && type[fam] == "histogram") {
                series = labels; sub(/,le="[^"]*"$/, "", series)
                if (series == labels) bad("bucket without le")
                series = fam "{" series "}"
                if (series == last && val + 0 < prev + 0) bad("buckets not cumulative")
                last = series; prev = val
                if (labels ~ /le="\+Inf"$/) inf[series] = val
            }
            if (name ~ /_count$/ && type[fam] == "histogram" && inf[fam "{" labels "}"] != val)
                bad("_count differs from the +Inf bucket")
        }
        END { if (!err && NR == 0) { print FILENAME ": empty"; exit 1 } }
    ' "$1"
}
for f in "$M"/*.prom; do
    strict_check "$f" >&2 || fail "$(basename "$f") is not well-formed exposition text"
done
# The check itself refuses what it must (a sample before its TYPE, a
# missing service label, buckets going down).
printf '# HELP kaohe_x_total X.\nkaohe_x_total{service="scorer"} 1\n# TYPE kaohe_x_total counter\n' >"$TMP/scorer.prom"
! strict_check "$TMP/scorer.prom" 2>/dev/null || fail "the check let a sample before its TYPE pass"
printf '# HELP kaohe_x_total X.\n# TYPE kaohe_x_total counter\nkaohe_x_total{reason="a"} 1\n' >"$TMP/scorer.prom"
! strict_check "$TMP/scorer.prom" 2>/dev/null || fail "the check let a sample without service pass"
printf '# HELP kaohe_h H.\n# TYPE kaohe_h histogram\nkaohe_h_bucket{service="scorer",le="1"} 2\nkaohe_h_bucket{service="scorer",le="+Inf"} 1\nkaohe_h_sum{service="scorer"} 1\nkaohe_h_count{service="scorer"} 1\n' >"$TMP/scorer.prom"
! strict_check "$TMP/scorer.prom" 2>/dev/null || fail "the check let falling buckets pass"
checked="a strict check"
if command -v promtool >/dev/null; then
    for f in "$M"/*.prom; do
        promtool check metrics <"$f" >"$TMP/promtool" 2>&1 \
            || fail "promtool on $(basename "$f"): $(cat "$TMP/promtool")"
    done
    checked="$checked and promtool"
fi
pass "every file is well-formed exposition text ($checked)"
[ "$(stat -c %a "$M/scorer.prom")" = 644 ] || fail "metrics file mode $(stat -c %a "$M/scorer.prom")"
ls "$M" | grep -q '\.tmp$' && fail "a temporary file was left in $M"
grep -q "msg=starting .*metrics=$M/scorer.prom" "$D/log/scorer.log" \
    || fail "the scorer's start-up line does not name its metrics file"

# ---- 3. kaohe status ---------------------------------------------------------------
kaohe status -d "$D" --json >"$TMP/status.json" || fail "kaohe status"
st() { jq -c "$1" "$TMP/status.json"; }
expect_eq "status: the keys it always had" "$(st '[.healthy, .last_seq, .lag, (.services | length)]')" \
    "[true,$N,0,6]"
expect_eq "status: scorer events" "$(st '.metrics.scorer.events')" \
    "{\"accepted\":$N,\"duplicate\":5,\"conflict\":1,\"rejected\":0,\"failed\":0}"
expect_eq "status: journal length" "$(st '.metrics.scorer.journal_events')" "$N"
expect_eq "status: rejections by reason at the dispatch ingest" \
    "$(st '.metrics["ingest-dispatch"].rejected | with_entries(select(.value > 0))')" \
    '{"unknown_station":1,"bad_time":1,"conflict":1}'
expect_eq "status: rejections by reason at the station ingest" \
    "$(st '.metrics["ingest-station"].rejected | with_entries(select(.value > 0))')" \
    '{"forbidden":1}'
expect_eq "status: every SPEC reason is counted" \
    "$(st '.metrics["ingest-legal"].rejected | keys')" \
    '["bad_time","conflict","forbidden","malformed","out_of_range","too_large","unknown_station","unknown_type"]'
expect_eq "status: figures present" \
    "$(st '[.metrics.scorer.map_use_percent, .metrics.scorer.commit_p99_seconds, .metrics["ingest-station"].ack_p99_seconds, .metrics.ranker.commit_notices_lost] | map(type)')" \
    '["number","number","number","number"]'
kaohe status -d "$D" >"$TMP/status.txt"
grep -q "^  scorer  *accepted $N, duplicate 5, conflict 1, rejected 0, failed 0$" "$TMP/status.txt" \
    || fail "status table: $(cat "$TMP/status.txt")"
grep -q "^ *rejected: unknown_station 1, bad_time 1, conflict 1$" "$TMP/status.txt" \
    || fail "status table lacks the dispatch ingest's rejections: $(cat "$TMP/status.txt")"
awk 'length($0) > 80 { exit 1 }' "$TMP/status.txt" || fail "status table wider than 80 columns"
pass "kaohe status shows the metrics (--json .metrics and the table)"

# ---- 4. the last write, --metrics-dir ----------------------------------------------
# A query, then SIGTERM at once: the file has it although the timer did
# not come round (the service writes once at stop).
pid=$(cat "$D/run/ranker.pid")
before=$(value "$M/ranker.prom" kaohe_ranker_queries_total 'kind="rank"')
kaohe rank --year 2024 -d "$D" >/dev/null
kill -TERM "$pid"
wait_until 10 "the ranker to stop" gone "$pid"
expect_eq "the ranker's last write counts the last query" \
    "$(value "$M/ranker.prom" kaohe_ranker_queries_total 'kind="rank"')" "$((before + 1))"

NE=$TMP/node-exporter
mkdir "$NE"
"$KH_BIN/kaohe-ranker" -d "$D" --metrics-dir "$NE" >/dev/null 2>>"$D/log/ranker.log" &
wait_until 10 "the ranker's file in --metrics-dir" test -s "$NE/kaohe-ranker.prom"
expect_eq "DIR/metrics/ranker.prom links to it" "$(readlink "$M/ranker.prom")" "$NE/kaohe-ranker.prom"
[ "$(stat -c %a "$NE/kaohe-ranker.prom")" = 644 ] || fail "mode $(stat -c %a "$NE/kaohe-ranker.prom")"
strict_check "$NE/kaohe-ranker.prom" >&2 || fail "ranker.prom in --metrics-dir"
kaohe rank --year 2024 -d "$D" >/dev/null
wait_until 10 "the query counted in --metrics-dir" \
    sh -c "grep -q '^kaohe_ranker_queries_total{service=\"ranker\",kind=\"rank\"} 1\$' '$NE/kaohe-ranker.prom'"
expect_eq "kaohe status reads it through the link" \
    "$(kaohe status -d "$D" --json | jq -c '.metrics.ranker.queries.rank')" "1"
pass "--metrics-dir: written there, linked from DIR/metrics, read by kaohe status"

# A directory that is not there: logged once, the service runs on, and
# writes as soon as it exists.
pid=$(cat "$D/run/ingest-assessor.pid")
kill -TERM "$pid"
wait_until 10 "the assessor ingest to stop" gone "$pid"
LOG=$D/log/ingest-assessor.log
"$KH_BIN/kaohe-ingest" --role assessor -d "$D" --metrics-dir "$TMP/later" >/dev/null 2>>"$LOG" &
wait_until 10 "the failure to be logged" grep -q 'cannot write metrics' "$LOG"
grep 'cannot write metrics' "$LOG" | grep -q "cause=\"open $TMP/later/kaohe-ingest-assessor.prom.tmp: No such file or directory\"" \
    || fail "the log line does not name the cause: $(grep 'cannot write metrics' "$LOG")"
sleep 6 # past the next write
expect_eq "logged once" "$(grep -c 'cannot write metrics' "$LOG")" "1"
feed 0 "$KH_SOURCE_DIR/tests/data/auth/finding.jsonl" --as assessor
mkdir "$TMP/later"
wait_until 10 "the file once the directory exists" test -s "$TMP/later/kaohe-ingest-assessor.prom"
grep -q 'metrics written again' "$LOG" || fail "recovery not logged"
expect_eq "the service ran on meanwhile" \
    "$(value "$TMP/later/kaohe-ingest-assessor.prom" kaohe_ingest_events_total 'outcome="forwarded"')" "1"
pass "an unwritable --metrics-dir is logged once; the service runs on and recovers"
