#!/usr/bin/env bash
# SPEC §3, as a property: "the scores are a pure function of the set of
# accepted events and the set of closed periods: arrival order, duplicates,
# restarts and crashes must not change them".
#
# A simulated county year (`kaohe simulate`, 12 stations, ~5000 events with
# the generator's own byte-identical resends) is fed once in file order into
# a reference data directory, 2025-06 is closed (so closed and open periods
# both count), and the rank, every station's scorecard and the 城区三所
# ranking of a closed and an open month are captured. Then, each in a fresh
# data directory, the same events are fed
#   - in a seeded pseudo-random order,
#   - with a seeded ~10% of the lines sent again (resends) among them,
#   - in 3 chunks of seeded sizes, the services restarted between chunks
#     (`kaohe down` + `kaohe up`; in one run SIGKILLed instead: a crash),
#   - with the closing done at a different point in each run (before any
#     event, between chunks, in two steps, twice at the end),
# and every run must accept the same set of ids (the rest duplicates, none
# rejected) and give byte-identical outputs to the reference.
#
# The runs use separate data directories and run concurrently: they need
# little CPU, but every `kaohe down` waits for its services to go away.
#
# Reproduce a failure with the seed it prints:
#   KH_PROPERTY_SEED=N [KH_PROPERTY_RUNS=R] [KH_PROPERTY_KEEP=1] bash test_property.sh
# KH_PROPERTY_KEEP=1 keeps $TMP with every data directory (services
# stopped: `kaohe up -d DIR` again to query, e.g. `kaohe explain`).
. "$(dirname "$0")/lib.sh"

SEED=${KH_PROPERTY_SEED:-20250917}
RUNS=${KH_PROPERTY_RUNS:-4}
YEAR=2025
case $SEED in '' | *[!0-9]*) fail "KH_PROPERTY_SEED must be a number" ;; esac
case $RUNS in '' | *[!0-9]* | 0 | 1 | 2) fail "KH_PROPERTY_RUNS must be a number >= 3" ;; esac

# Every data directory this test may start services in ($D is the
# reference, $TMP/d-N run N) is stopped on exit, however the test exits,
# after the concurrent runs (background jobs, their pids in JOBS) ended;
# lib.sh's cleanup then removes $TMP.
DIRS=("$D")
for ((r = 1; r <= RUNS; r++)); do DIRS+=("$TMP/d-$r"); done
JOBS=()
prop_cleanup() {
    local rc=$? dir
    [ ${#JOBS[@]} -eq 0 ] || wait "${JOBS[@]}" 2>/dev/null || true
    for dir in "${DIRS[@]}"; do
        if [ -d "$dir/run" ]; then "$KH_BIN/kaohe" down -d "$dir" >/dev/null 2>&1 & fi
    done
    wait
    if [ -n "${KH_PROPERTY_KEEP:-}" ]; then
        echo "kept $TMP (reference: $D, runs: $TMP/d-N)" >&2
        TMP=/nonexistent-kh-property-keep # so lib.sh's cleanup removes nothing
    fi
    set +e # so that lib.sh's cleanup sees the status, not errexit
    (exit $rc)
    cleanup
}
trap prop_cleanup EXIT

# A deterministic byte stream for shuf --random-source, from a seed string.
if command -v openssl >/dev/null 2>&1; then
    rand_src() { openssl enc -aes-256-ctr -pass "pass:kaohe-$1" -nosalt -pbkdf2 </dev/zero 2>/dev/null; }
    RNG="openssl aes-256-ctr"
else
    rand_src() { yes "kaohe-$1"; }
    RNG="yes"
fi
seeded_shuf() { # SEED [shuf options...] < lines
    local s=$1
    shift
    shuf --random-source=<(rand_src "$s") "$@"
}

echo "# property seed $SEED (KH_PROPERTY_SEED), $RUNS shuffled runs (shuffle seeds $SEED.1..$SEED.$RUNS), random source: $RNG"

kaohe simulate --seed "$SEED" --year $YEAR --months 1-12 --county "$TMP/county.json" \
    -o "$TMP/events.jsonl" 2>"$TMP/sim.err" || { cat "$TMP/sim.err" >&2; fail "simulate"; }
echo "# $(cat "$TMP/sim.err")"
NLINES=$(wc -l <"$TMP/events.jsonl")
[ "$NLINES" -gt 1000 ] || fail "simulate wrote only $NLINES lines"
CODES=$(jq -r '.stations[].code' "$TMP/county.json")
[ "$(echo "$CODES" | wc -l)" -eq 12 ] || fail "the simulated county has not 12 stations"
URBAN_MONTHS="$YEAR-03 $YEAR-09" # closed / open in every run

# feed_chunk DIR FILE LABEL: feeds, requires exit 0 (nothing rejected) and
# one outcome per line, appends the outcomes to DIR.outcomes.
feed_chunk() {
    local dir=$1 file=$2 label=$3 rc=0
    kaohe feed "$file" -d "$dir" --json >"$file.out" 2>"$file.err" || rc=$?
    if [ $rc -ne 0 ]; then
        echo "rejected lines:" >&2
        jq -c 'select(.status == "rejected")' "$file.out" | head -20 >&2 || true
        cat "$file.err" >&2
        fail "$label: kaohe feed of $(wc -l <"$file") lines exited $rc"
    fi
    [ "$(wc -l <"$file.out")" -eq "$(wc -l <"$file")" ] ||
        fail "$label: feed --json printed $(wc -l <"$file.out") outcomes for $(wc -l <"$file") lines"
    cat "$file.out" >>"$dir.outcomes"
}

# capture DIR OUT: every output the property is about, one file each.
capture() {
    local dir=$1 out=$2 code m
    mkdir -p "$out"
    kaohe rank --year $YEAR --json -d "$dir" >"$out/rank.json"
    for code in $CODES; do
        kaohe station "$code" --year $YEAR --json -d "$dir" >"$out/station-$code.json"
    done
    for m in $URBAN_MONTHS; do
        kaohe urban --month "$m" --json -d "$dir" >"$out/urban-$m.json"
    done
}

# restart DIR HOW: clean (down + up) or crash (SIGKILL every service, up).
restart() {
    local dir=$1 how=$2 f pid i pids=()
    if [ "$how" = crash ]; then
        for f in "$dir"/run/*.pid; do
            [ -e "$f" ] && pids+=("$(cat "$f")")
        done
        [ ${#pids[@]} -eq 6 ] || fail "crash: ${#pids[@]} pid files in $dir/run, want 6"
        kill -KILL "${pids[@]}" || fail "crash: kill -KILL ${pids[*]}"
        for pid in "${pids[@]}"; do # until gone, or a zombie (not reaped yet)
            for ((i = 0; i < 1000; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
                sleep 0.01
            done
        done
    else
        kaohe down -d "$dir" >/dev/null
    fi
    kaohe up -d "$dir" >/dev/null
}

# close_at DIR WHEN PLAN: the closes PLAN ("WHEN:PERIOD ...") does at WHEN.
close_at() {
    local dir=$1 when=$2 plan=$3 step
    for step in $plan; do
        case $step in "$when":*) kaohe close "${step#*:}" -d "$dir" >/dev/null ;; esac
    done
}

# ---- the reference: file order, one feed, close at the end -------------------
reference() {
    kaohe up -c "$TMP/county.json" -d "$D" >/dev/null
    feed_chunk "$D" "$TMP/events.jsonl" reference
    kaohe close $YEAR-06 -d "$D" >/dev/null
    capture "$D" "$TMP/ref"
    kaohe down -d "$D" >/dev/null
}

# ---- run R: shuffled, resent, in 3 chunks, restarted, closed elsewhere ------
run() {
    local r=$1 dir=$TMP/d-$r rseed=$SEED.$r plan how ndup total c1 c2 c
    # Where the closing happens: before any event (0), after chunk 1 or 2,
    # at the end (3); "WHEN:PERIOD" steps, several meaning several closes.
    case $((r % 4)) in
    1) plan="1:$YEAR-06" ;;            # between chunks, before the 2nd
    2) plan="0:$YEAR-06" ;;            # before any event arrived
    3) plan="1:$YEAR-03 2:$YEAR-Q2" ;; # in two steps (the same set of periods)
    0) plan="3:$YEAR-06 3:$YEAR-06" ;; # at the end, twice
    esac
    how=clean
    if [ $((r % 3)) -eq 0 ]; then how=crash; fi # one run in three crashes

    # Every line, plus ~10% of them resent, all in a seeded order.
    ndup=$((NLINES / 10))
    {
        cat "$TMP/events.jsonl"
        seeded_shuf "$rseed-resend" -n "$ndup" <"$TMP/events.jsonl"
    } | seeded_shuf "$rseed-order" >"$dir.stream"
    total=$(wc -l <"$dir.stream")
    # 3 chunks: each of the first two of a seeded 15%..45% of the stream.
    c1=$((total * $(seq 15 45 | seeded_shuf "$rseed-chunk1" -n 1) / 100))
    c2=$((c1 + total * $(seq 15 45 | seeded_shuf "$rseed-chunk2" -n 1) / 100))
    awk -v a="$c1" -v b="$c2" -v p="$dir.chunk" \
        '{ f = (NR <= a) ? p "1" : (NR <= b) ? p "2" : p "3"; print > f }' "$dir.stream"
    echo "# run $r: shuffle seed $rseed, $total lines ($ndup resent), chunks 1-$c1, $((c1 + 1))-$c2, $((c2 + 1))-$total, close plan '$plan', $how restarts"

    kaohe up -c "$TMP/county.json" -d "$dir" >/dev/null
    close_at "$dir" 0 "$plan"
    for c in 1 2 3; do
        feed_chunk "$dir" "$dir.chunk$c" "run $r chunk $c"
        if [ $c -lt 3 ]; then restart "$dir" $how; fi
        close_at "$dir" $c "$plan"
    done
    capture "$dir" "$TMP/run-$r"
    kaohe down -d "$dir" >/dev/null
}

# All concurrently, each logging to its own file.
reference >"$TMP/ref.log" 2>&1 &
JOBS+=($!)
for ((r = 1; r <= RUNS; r++)); do
    run $r >"$TMP/run-$r.log" 2>&1 &
    JOBS+=($!)
done
failed=0
for ((r = 0; r <= RUNS; r++)); do
    log=$TMP/run-$r.log
    [ $r -eq 0 ] && log=$TMP/ref.log
    if wait "${JOBS[$r]}"; then
        cat "$log"
    else
        failed=1
        cat "$log" >&2
        echo "--- service logs of ${DIRS[$r]} ---" >&2
        tail -n 20 "${DIRS[$r]}"/log/*.log >&2 || true
    fi
done
JOBS=()
[ $failed -eq 0 ] || fail "a run failed (KH_PROPERTY_SEED=$SEED)"

# ---- the checks ----------------------------------------------------------------
accepted_ids() { jq -r 'select(.status == "accepted") | .id' "$1" | sort; }

accepted_ids "$D.outcomes" >"$TMP/ref.accepted"
NACC=$(wc -l <"$TMP/ref.accepted")
[ -z "$(uniq -d "$TMP/ref.accepted")" ] || fail "reference: an id accepted twice"
expect_eq "reference: the other $((NLINES - NACC)) lines are duplicates" \
    "$(jq -r 'select(.status != "accepted") | .status' "$D.outcomes" | sort | uniq -c | tr -s ' ')" \
    " $((NLINES - NACC)) duplicate"
# The scores are not degenerate (the comparison could pass on empty
# output), both closed and open periods count.
[ "$(jq '.stations | length' "$TMP/ref/rank.json")" -eq 12 ] || fail "reference: rank has not 12 stations"
jq -e '[.stations[].pending] | add > 0' "$TMP/ref/rank.json" >/dev/null || fail "reference: nothing pending"
jq -es '[.[].sections[].items[].deducted] | add > 0' "$TMP"/ref/station-*.json >/dev/null ||
    fail "reference: nothing deducted"
jq -e '.closed == true' "$TMP/ref/urban-$YEAR-03.json" >/dev/null || fail "reference: $YEAR-03 not closed"
jq -e '.closed == false' "$TMP/ref/urban-$YEAR-09.json" >/dev/null || fail "reference: $YEAR-09 closed"
pass "reference: $NLINES lines fed in order, $NACC accepted, $YEAR-06 closed, $(ls "$TMP/ref" | wc -l) outputs"

mismatches=0
for ((r = 1; r <= RUNS; r++)); do
    dir=$TMP/d-$r
    total=$(wc -l <"$dir.stream")
    # The same set of accepted events, each accepted once, the rest duplicates.
    accepted_ids "$dir.outcomes" >"$dir.accepted"
    cmp -s "$dir.accepted" "$TMP/ref.accepted" || {
        diff "$TMP/ref.accepted" "$dir.accepted" | head -20 >&2
        fail "run $r: the set of accepted ids differs from the reference's"
    }
    expect_eq "run $r: the other $((total - NACC)) lines are duplicates" \
        "$(jq -r 'select(.status != "accepted") | .status' "$dir.outcomes" | sort | uniq -c | tr -s ' ')" \
        " $((total - NACC)) duplicate"
    bad=0
    for f in "$TMP"/ref/*.json; do
        name=$(basename "$f")
        if ! cmp -s "$f" "$TMP/run-$r/$name"; then
            bad=$((bad + 1))
            echo "FAIL: run $r (shuffle seed $SEED.$r): $name differs from the reference" >&2
            diff <(jq -S . "$f") <(jq -S . "$TMP/run-$r/$name") | head -40 >&2 || true
        fi
    done
    if [ $bad -eq 0 ]; then
        pass "run $r: $(ls "$TMP/ref" | wc -l) outputs byte-identical to the reference"
    fi
    mismatches=$((mismatches + bad))
done

[ $mismatches -eq 0 ] ||
    fail "$mismatches outputs differ (KH_PROPERTY_SEED=$SEED; KH_PROPERTY_KEEP=1 keeps the data directories)"
echo "all passed"
