#!/usr/bin/env bash
# Crash safety: kill -9 anywhere changes nothing in the final figures.
#
# A simulated county year (20 stations, several thousand events with the
# generator's own resends) is fed once into a reference data directory
# without incident. Then, in each fault run, the same file is fed by one
# `kaohe feed` while the test SIGKILLs, at seeded random moments, the
# scorer, an ingest, the ranker, or every service at once, several times,
# restarting them with `kaohe up` after each kill. The feed resends what
# was never acknowledged (Lazy Pirate) across the restarts; when it gives
# up anyway, it is run again. Finally:
#   - feeding the file once more finds every event there (all duplicates),
#     and the journal holds as many events as the reference accepted;
#   - `rank --json`, every `station --json` and a closed and an open
#     month's `urban --json` are byte-identical to the reference's;
#   - `kaohe rebuild` finds the incrementally kept aggregates identical to
#     a replay of the journal.
#
# Reproduce a run: KH_FAULT_SEED=N [KH_FAULT_RUNS=R] bash test_fault.sh
# (the seed of each run is printed; kill moments also depend on timing).
. "$(dirname "$0")/../e2e/lib.sh"

SEED=${KH_FAULT_SEED:-4242}
RUNS=${KH_FAULT_RUNS:-3}
KILLS=${KH_FAULT_KILLS:-5}
YEAR=2025
case $SEED$RUNS$KILLS in *[!0-9]*) fail "KH_FAULT_SEED/RUNS/KILLS must be numbers" ;; esac

kaohe simulate --seed "$SEED" --year $YEAR --months 1-12 --stations 20 \
    --county "$TMP/county.json" -o "$TMP/events.jsonl" 2>"$TMP/sim.err" ||
    { cat "$TMP/sim.err" >&2; fail "simulate"; }
NLINES=$(wc -l <"$TMP/events.jsonl")
[ "$NLINES" -gt 3000 ] || fail "simulate wrote only $NLINES lines"
CODES=$(jq -r '.stations[].code' "$TMP/county.json")
echo "# fault seed $SEED: $NLINES events, $RUNS runs of $KILLS kills"

capture() { # DIR OUT
    local dir=$1 out=$2 code m
    mkdir -p "$out"
    kaohe rank --year $YEAR --json -d "$dir" >"$out/rank.json"
    for code in $CODES; do
        kaohe station "$code" --year $YEAR --json -d "$dir" >"$out/station-$code.json"
    done
    for m in $YEAR-03 $YEAR-09; do
        kaohe urban --month "$m" --json -d "$dir" >"$out/urban-$m.json"
    done
}

accepted_ids() { jq -r 'select(.status == "accepted") | .id' "$@" | sort; }

# ---- the reference -----------------------------------------------------------
kaohe up -c "$TMP/county.json" -d "$D" >/dev/null
kaohe feed "$TMP/events.jsonl" -d "$D" --json >"$TMP/ref.out" 2>"$TMP/ref.err" ||
    { cat "$TMP/ref.err" >&2; fail "reference feed"; }
kaohe close $YEAR-06 -d "$D" >/dev/null
capture "$D" "$TMP/ref"
accepted_ids "$TMP/ref.out" >"$TMP/ref.ids"
kaohe down -d "$D" >/dev/null
pass "reference: $(wc -l <"$TMP/ref.ids") accepted"

VICTIMS=(scorer ranker ingest-dispatch ingest-legal ingest-station ingest-assessor all)
ALL=(scorer ranker ingest-dispatch ingest-legal ingest-station ingest-assessor)

fault_run() { # R
    local r=$1 dir=$TMP/f-$r rseed=$((SEED * 100 + r)) k victim ms feed_pid rc inflight
    kh_track "$dir"
    RANDOM=$rseed
    kaohe up -c "$TMP/county.json" -d "$dir" >/dev/null
    kaohe feed "$TMP/events.jsonl" -d "$dir" --json --timeout 60 --rate 1500 \
        >"$dir.out1" 2>"$dir.err1" &
    feed_pid=$!
    local plan=""
    for ((k = 1; k <= KILLS; k++)); do
        ms=$((RANDOM % 400 + 20))
        victim=${VICTIMS[RANDOM % ${#VICTIMS[@]}]}
        sleep "$(printf '0.%03d' "$ms")"
        if kill -0 "$feed_pid" 2>/dev/null; then inflight="(feeding)"; else inflight="(idle)"; fi
        if [ "$victim" = all ]; then kill9 "$dir" "${ALL[@]}"; else kill9 "$dir" "$victim"; fi
        plan+=" +${ms}ms:$victim$inflight"
        kaohe up -d "$dir" >/dev/null || fail "run $r: kaohe up after killing $victim"
    done
    echo "# run $r: seed $rseed, kills$plan"
    rc=0
    wait "$feed_pid" || rc=$?
    if [ $rc -ne 0 ]; then
        # It gave up on what the kills swallowed; feeding again completes it.
        echo "# run $r: the first feed exited $rc ($(tail -n 1 "$dir.err1")); feeding again"
        kaohe feed "$TMP/events.jsonl" -d "$dir" --json >"$dir.out2" 2>"$dir.err2" ||
            { cat "$dir.err2" >&2; fail "run $r: second feed"; }
    fi
    # Nothing rejected, ever: every outcome accepted or duplicate.
    if jq -e 'select(.status != "accepted" and .status != "duplicate" and .status != "unacknowledged")' \
        "$dir".out* >/dev/null; then
        jq -c 'select(.status != "accepted" and .status != "duplicate")' "$dir".out* | head >&2
        fail "run $r: an event was rejected"
    fi
    kaohe close $YEAR-06 -d "$dir" >/dev/null
    capture "$dir" "$TMP/run-$r"
    kaohe feed "$TMP/events.jsonl" -d "$dir" --json >"$dir.out3" 2>/dev/null ||
        fail "run $r: feeding the file a last time"
    # That last feed found every event already there: the accepted set is
    # the journal's.
    [ "$(jq -r 'select(.status == "accepted") | .id' "$dir.out3" | wc -l)" -eq 0 ] ||
        fail "run $r: events were missing after the faults (accepted on the last feed)"
    local f
    for f in "$TMP/ref"/*.json; do
        cmp -s "$f" "$TMP/run-$r/$(basename "$f")" || {
            diff <(jq . "$f") <(jq . "$TMP/run-$r/$(basename "$f")") | head -20 >&2
            fail "run $r: $(basename "$f") differs from the reference"
        }
    done
    kaohe rebuild -d "$dir" --json >"$dir.rebuild" ||
        { cat "$dir.rebuild" >&2; fail "run $r: kaohe rebuild found a difference"; }
    [ "$(jq -r .identical "$dir.rebuild")" = true ] || fail "run $r: rebuild not identical"
    # The journal holds each accepted event once: as many as the reference.
    [ "$(jq -r .events "$dir.rebuild")" -eq "$(wc -l <"$TMP/ref.ids")" ] ||
        fail "run $r: $(jq -r .events "$dir.rebuild") events journaled, the reference $(wc -l <"$TMP/ref.ids")"
    kaohe down -d "$dir" >/dev/null
    pass "run $r: $KILLS kills, figures byte-identical, rebuild identical ($(jq -r .events "$dir.rebuild") events)"
}

for ((r = 1; r <= RUNS; r++)); do fault_run $r; done
