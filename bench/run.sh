#!/usr/bin/env bash
# bench/run.sh - kaohe's benchmark: the real services on simulated data,
# beside the limits of the same machine measured in the same run.
#
#   bench/run.sh [--scale tiny|county|province] [--runs N] [--keep]
#
# Builds in Release into build-bench/ (or $KH_BENCH_BUILD), generates the
# data with `kaohe simulate`, and for each run starts the services with
# `kaohe up` in a fresh temporary data directory (under $TMPDIR, default
# /tmp: the limits are measured in that same file system), measures, and
# stops them with `kaohe down` (always, through a trap). Prints one
# Markdown table of medians over the runs, each figure beside its limit,
# the ratio and the target of issue 7 (met/missed). No timing is asserted:
# the script fails only when something does not work.
#
# Scales: each run feeds one simulated year once, in three consecutive
# parts. Part 1 (all but the paced events) goes at full speed: sustained
# ingest, (1). Part 2 at an offered 1,000 events/s and part 3 at 10,000/s:
# acknowledgement latency, (2). Then the memory and store size of (6).
# The limit of (1) and of (2) at 10,000/s that the disk does not set: at
# the end of each run, with the disk's services down, a second instance
# with its data directory in memory (a tmpfs, $KH_BENCH_MEMDIR or
# /dev/shm: every fsync returns at once) is fed part 1 at full speed and
# part 3 at 10,000/s; "n/a" when no tmpfs with room is at hand or that
# instance fails.
#   tiny      4 stations, --scale 8 (about 11 k events), paced parts of
#             0.5 s; queries on a realistic year of the 4; the CI smoke test
#   county    20 stations, --scale 50 (about 265 k events: a real county's
#             year, 8 k events, is over in a fraction of a second), paced
#             parts of 10 s; the queries on a realistic year (--scale 1)
#             of the same 20 stations, in a data directory of its own
#   province  3,000 stations, one realistic year (about 1.09 M events),
#             paced parts of 10 s; the queries on that same store
# The queries: the probes of (3) and the queries of (5), then `kaohe
# down` and the rebuild of (4) of the ingest's store, which `kaohe rebuild
# --json` times itself.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD

SCALE=county
RUNS=
KEEP=0
while [ $# -gt 0 ]; do
    case $1 in
    --scale) SCALE=${2:?--scale needs tiny, county or province}; shift 2 ;;
    --scale=*) SCALE=${1#*=}; shift ;;
    --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
    --runs=*) RUNS=${1#*=}; shift ;;
    --keep) KEEP=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

# Per scale: stations, simulate --scale, seconds of each rate run, seconds
# per LMDB batch size, ZeroMQ messages (plain, CURVE), fsyncs, query count
# and time budget (ms), visibility probes and budget (ms), CLI repetitions,
# simulate --scale of the queries' own year (empty: the ingest's store).
case $SCALE in
tiny)
    STATIONS=4 SIMSCALE=8 RATE_S=0.5 LMDB_S=0.2 ZMQ_N=200000 CURVE_N=50000
    FSYNC_N=200 QUERY_N=20 QUERY_MS=2000 VIS_N=5 VIS_MS=2000 CLI_N=3 QSCALE=1
    RUNS=${RUNS:-1} ;;
county)
    STATIONS=20 SIMSCALE=50 RATE_S=10 LMDB_S=1 ZMQ_N=2000000 CURVE_N=300000
    FSYNC_N=1000 QUERY_N=300 QUERY_MS=10000 VIS_N=50 VIS_MS=15000 CLI_N=10 QSCALE=1
    RUNS=${RUNS:-3} ;;
province)
    STATIONS=3000 SIMSCALE=1 RATE_S=10 LMDB_S=1 ZMQ_N=2000000 CURVE_N=300000
    FSYNC_N=1000 QUERY_N=50 QUERY_MS=20000 VIS_N=10 VIS_MS=30000 CLI_N=3 QSCALE=
    RUNS=${RUNS:-1} ;;
*) echo "bench/run.sh: --scale tiny, county or province" >&2; exit 2 ;;
esac
case $RUNS in '' | *[!0-9]* | 0) echo "bench/run.sh: --runs wants a number >= 1" >&2; exit 2 ;; esac
YEAR=$(($(date +%Y) - 1)) # the last whole year: no event in the future
SEED=1
N_R1=$(awk -v s="$RATE_S" 'BEGIN { printf "%d", 1000 * s }')
N_R2=$(awk -v s="$RATE_S" 'BEGIN { printf "%d", 10000 * s }')
# The scorer's batch policy: everything that has arrived, up to BATCH_MAX.
BATCH_MAX=$(sed -n 's/^#define BATCH_MAX *\([0-9]*\).*/\1/p' services/scorer/main.c)
BATCH_MAX=${BATCH_MAX:-4096}

say() { echo "bench: $*" >&2; }

# --- build ---------------------------------------------------------------
B=${KH_BENCH_BUILD:-$SRC/build-bench}
say "building in Release into $B"
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$B" -j"$(nproc)" --target kaohe kaohe-ingest kaohe-scorer kaohe-ranker \
    bench_zmq bench_fsync bench_lmdb bench_codec bench_client >/dev/null
K=$B/kaohe
export KAOHE_RULES=${KAOHE_RULES:-$SRC/rules/catalog.json}

# --- work directory and cleanup ------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kh-bench.XXXXXX")
STARTED=()
MEMDIRS=() # in memory: removed whatever happens, --keep or not
cleanup() {
    local rc=$? d
    for d in "${STARTED[@]}"; do
        "$K" down -d "$d" >/dev/null 2>&1 || true
    done
    for d in "${MEMDIRS[@]}"; do
        rm -rf "$d"
    done
    if [ "$KEEP" = 1 ]; then
        say "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- data ----------------------------------------------------------------
say "simulating $STATIONS stations, year $YEAR, --scale $SIMSCALE"
"$K" simulate --seed "$SEED" --year "$YEAR" --stations "$STATIONS" --scale "$SIMSCALE" \
    --county "$WORK/county.json" -o "$WORK/events.jsonl" 2>/dev/null
if [ -n "$QSCALE" ]; then
    "$K" simulate --seed "$SEED" --year "$YEAR" --stations "$STATIONS" --scale "$QSCALE" \
        --county "$WORK/q_county.json" -o "$WORK/q_events.jsonl" 2>/dev/null
    N_Q=$(wc -l <"$WORK/q_events.jsonl")
else
    N_Q=$(wc -l <"$WORK/events.jsonl")
fi
# the in-memory file system of the limit runs: a tmpfs with room for the
# store (under the events' JSON in size; 4 times it, for a margin) and
# 256 MiB to spare. A tmpfs holds its files in RAM (or swap).
MEMDIR=${KH_BENCH_MEMDIR:-/dev/shm}
MEMWHY=
if [ "$(stat -f -c %T "$MEMDIR" 2>/dev/null)" != tmpfs ]; then
    MEMWHY="$MEMDIR is not a tmpfs"
elif [ ! -w "$MEMDIR" ]; then
    MEMWHY="$MEMDIR is not writable"
elif [ "$(df -Pk "$MEMDIR" | awk 'NR == 2 { print $4 }')" -lt \
    $(($(du -k "$WORK/events.jsonl" | cut -f1) * 4 + 262144)) ]; then
    MEMWHY="$MEMDIR has too little room"
fi
[ -z "$MEMWHY" ] || say "no limit runs in memory: $MEMWHY"
read -r LOAD_START _ </proc/loadavg
N_ALL=$(wc -l <"$WORK/events.jsonl")
N_SUS=$((N_ALL - N_R1 - N_R2))
if [ "$N_SUS" -lt 1000 ]; then
    echo "bench/run.sh: only $N_ALL events for $N_R1 + $N_R2 paced ones" >&2
    exit 1
fi
awk -v a="$N_SUS" -v b="$((N_SUS + N_R1))" -v w="$WORK" '
    { print > (w "/part" (NR <= a ? 1 : NR <= b ? 2 : 3) ".jsonl") }' "$WORK/events.jsonl"

# --- one run -------------------------------------------------------------
RES= D= R= r=
put() { echo "$1 $2" >>"$RES"; }
# jqput KEY FILE FILTER: the first value FILTER gives over the JSON lines
# of FILE (n/a when none)
jqput() { put "$1" "$(jq -rs "(map($3) | .[0]) // \"n/a\"" "$2" 2>/dev/null || echo n/a)"; }
now_ns() { date +%s%N; }
mdb_field() { mdb_stat "${@:3}" "$1" | awk -F': ' -v f="$2" '$1 ~ f { print $2; exit }'; }

# feed PART OUT [--rate N]: feed a part, statistics to OUT; fails unless every
# event was acknowledged and none rejected.
feed() {
    local part=$1 out=$2
    shift 2
    "$K" feed "$part" -d "$D" --stats-out "$out" "$@" >"$out.log" 2>&1 || {
        echo "bench/run.sh: kaohe feed $part failed:" >&2
        tail -n 5 "$out.log" >&2
        exit 1
    }
}

# rss PREFIX: each running service's peak RSS (VmHWM) and anonymous RSS
# now, in kB, from DIR/run/*.pid of the current $D
rss() {
    local p name
    for p in "$D"/run/*.pid; do
        name=$(basename "$p" .pid)
        put "$1hwm_$name" "$(awk '/^VmHWM/ { print $2 }' "/proc/$(cat "$p")/status")"
        put "$1anon_$name" "$(awk '/^RssAnon/ { print $2 }' "/proc/$(cat "$p")/status")"
    done
}

# (4) rebuild of the stopped $D, when this kaohe has the command (kaohe
# prints its usage, exit 0, for --help after any word, so its command list
# is asked too).
rebuild() {
    if "$K" rebuild --help >/dev/null 2>&1 &&
        "$K" --help 2>/dev/null | grep -w rebuild >/dev/null; then
        say "run $r/$RUNS: (4) rebuild"
        local rrc=0
        "$K" rebuild -d "$D" --json >"$R/rebuild.json" 2>"$R/rebuild.log" || rrc=$?
        # exit 1 with its JSON: rebuilt, but not identical to the live store
        if jq -e '.events' "$R/rebuild.json" >/dev/null 2>&1; then
            jqput rebuild "$R/rebuild.json" 'if (.seconds // 0) > 0 then (.events / .seconds | floor) else null end'
            jqput rebuild_identical "$R/rebuild.json" 'if .identical then "yes" else "NO" end'
        else
            put rebuild failed
            say "kaohe rebuild failed (exit $rrc): $(tail -n 1 "$R/rebuild.log")"
        fi
    else
        put rebuild n/a
    fi
}

# The limit of (1), and of (2) at 10,000/s, without the disk: parts 1 and
# 3 again, through a second instance whose data directory is in $MEMDIR,
# once the disk's instances are down. A failure there is reported (its
# rows say n/a) and does not end the benchmark; the services' logs are
# kept in $R/mem_log, the store is removed.
in_memory() {
    local mem part out
    say "run $r/$RUNS: (1) and (2) at 10,000/s again with the store in memory ($MEMDIR)"
    if ! mem=$(mktemp -d "$MEMDIR/kh-bench.XXXXXX"); then
        say "no limit run in memory: cannot make a directory in $MEMDIR"
        return 0
    fi
    MEMDIRS+=("$mem")
    D=$mem/data
    STARTED+=("$D")
    if "$K" up -c "$WORK/county.json" -d "$D" >"$R/mem_up.log" 2>&1; then
        for part in 1 3; do
            out=$R/mem_part$part.json
            local -a rate=()
            [ "$part" = 1 ] || rate=(--rate 10000)
            if ! "$K" feed "$WORK/part$part.jsonl" -d "$D" --stats-out "$out" \
                "${rate[@]}" >"$out.log" 2>&1; then
                say "kaohe feed in memory failed: $(tail -n 1 "$out.log")"
                break
            fi
            if [ "$part" = 1 ]; then
                jqput mem_ingest "$out" '.events_per_s'
            else
                jqput mem10k_p50 "$out" '.latency_us.p50'
                jqput mem10k_p99 "$out" '.latency_us.p99'
                jqput mem10k_p999 "$out" '.latency_us.p99_9'
            fi
        done
    else
        say "kaohe up in memory failed: $(tail -n 1 "$R/mem_up.log")"
    fi
    "$K" down -d "$D" >/dev/null 2>&1 || true
    cp -r "$D/log" "$R/mem_log" 2>/dev/null || true
    rm -rf "$mem"
}

# up DIR COUNTY: starts the services in DIR, which cleanup stops whatever
# happens (listed first: a start that fails halfway may leave some)
up() {
    D=$1
    STARTED+=("$D")
    "$K" up -c "$2" -d "$D" >/dev/null
}

run_once() {
    r=$1
    local t0 t1 i p
    R=$WORK/run$r
    RES=$R/results
    mkdir -p "$R"
    : >"$RES"
    up "$R/ingest" "$WORK/county.json"

    say "run $r/$RUNS: limits"
    "$B/bench_fsync" "$D" "$FSYNC_N" >"$R/fsync.json"
    jqput fsync_p50 "$R/fsync.json" 'select(.mode=="append").p50_us'
    jqput fsync_p99 "$R/fsync.json" 'select(.mode=="append").p99_us'
    jqput fdatasync_p50 "$R/fsync.json" 'select(.mode=="overwrite").p50_us'
    jqput fdatasync_p99 "$R/fsync.json" 'select(.mode=="overwrite").p99_us'
    "$B/bench_lmdb" "$D" raw "$LMDB_S" 1 100 1000 "$BATCH_MAX" 10000 >"$R/lmdb.json"
    for i in 1 100 1000 "$BATCH_MAX" 10000; do
        jqput "lmdb_$i" "$R/lmdb.json" "select(.batch==$i).per_s"
    done
    "$B/bench_lmdb" "$D" store "$LMDB_S" "$BATCH_MAX" "$WORK/events.jsonl" >"$R/store.json"
    jqput store_apply "$R/store.json" '.per_s'
    "$B/bench_zmq" "ipc://$D/run/bench.sock" "$ZMQ_N" 100 >"$R/zmq.json"
    "$B/bench_zmq" "tcp://127.0.0.1:0" "$ZMQ_N" 100 >>"$R/zmq.json"
    "$B/bench_zmq" "ipc://$D/run/bench.sock" "$CURVE_N" 100 curve >>"$R/zmq.json"
    jqput zmq_ipc "$R/zmq.json" 'select(.transport=="ipc" and (.curve|not)).per_s'
    jqput zmq_tcp "$R/zmq.json" 'select(.transport=="tcp").per_s'
    jqput zmq_ipc_curve "$R/zmq.json" 'select(.transport=="ipc" and .curve).per_s'
    "$B/bench_codec" "$WORK/events.jsonl" >"$R/codec.json"
    jqput codec_ns "$R/codec.json" 'select(.what=="encode+decode").ns_per_event'
    jqput codec_bytes "$R/codec.json" 'select(.what=="encode+decode").bytes'
    jqput json_ns "$R/codec.json" 'select(.what=="json_parse").ns_per_event'

    say "run $r/$RUNS: (1) sustained ingest, $N_SUS events"
    local txn0 txn1 bm
    txn0=$(mdb_field "$D/store" "Last transaction ID" -e)
    feed "$WORK/part1.jsonl" "$R/sustained.json"
    txn1=$(mdb_field "$D/store" "Last transaction ID" -e)
    jqput ingest "$R/sustained.json" '.events_per_s'
    bm=$(awk -v n="$N_SUS" -v c="$((txn1 - txn0))" 'BEGIN { printf "%d", (c > 0 ? n / c : 0) }')
    put batch_mean "$bm"
    # the raw LMDB rate at the batch size the scorer actually reached
    if [ "$bm" -gt 0 ]; then
        "$B/bench_lmdb" "$D" raw "$LMDB_S" "$bm" >"$R/lmdb_mean.json"
        jqput lmdb_mean "$R/lmdb_mean.json" '.per_s'
    fi

    say "run $r/$RUNS: (2) offered 1,000/s and 10,000/s for $RATE_S s each"
    feed "$WORK/part2.jsonl" "$R/rate1k.json" --rate 1000
    feed "$WORK/part3.jsonl" "$R/rate10k.json" --rate 10000
    for p in 1k 10k; do
        jqput "lat${p}_p50" "$R/rate$p.json" '.latency_us.p50'
        jqput "lat${p}_p99" "$R/rate$p.json" '.latency_us.p99'
        jqput "lat${p}_p999" "$R/rate$p.json" '.latency_us.p99_9'
        jqput "lat${p}_max" "$R/rate$p.json" '.latency_us.max'
        jqput "got$p" "$R/rate$p.json" '.events_per_s'
    done

    say "run $r/$RUNS: (6) memory and store size"
    rss ""
    local pages psize entries
    pages=$(mdb_field "$D/store" "Number of pages used" -e)
    psize=$(mdb_field "$D/store" "Page size" -e)
    entries=$(mdb_stat -s journal "$D/store" | awk -F': ' '/Entries/ { print $2; exit }')
    put journaled "$entries"
    put bytes_per_event "$(awk -v p="$pages" -v s="$psize" -v n="$entries" 'BEGIN { printf "%d", (n > 0 ? p * s / n : 0) }')"

    if [ -n "$QSCALE" ]; then
        # the queries run on a realistic year in a data directory of its own
        "$K" down -d "$D" >/dev/null
        rebuild
        up "$R/query" "$WORK/q_county.json"
        feed "$WORK/q_events.jsonl" "$R/q_feed.json"
    fi

    say "run $r/$RUNS: (3) acknowledgement -> visible in rank"
    "$B/bench_client" visible "$D" "$YEAR" "$VIS_N" "$VIS_MS" >"$R/visible.json"
    jqput vis_p50 "$R/visible.json" '.p50_us'
    jqput vis_p99 "$R/visible.json" '.p99_us'
    jqput vis_n "$R/visible.json" '.n'
    jqput vis_missed "$R/visible.json" '.missed'

    say "run $r/$RUNS: (5) queries"
    for p in rank station; do
        "$B/bench_client" query "$D" "$YEAR" "$p" "$QUERY_N" "$QUERY_MS" >"$R/q_$p.json"
        jqput "q_${p}_p50" "$R/q_$p.json" '.p50_us'
        jqput "q_${p}_p99" "$R/q_$p.json" '.p99_us'
        jqput "q_${p}_n" "$R/q_$p.json" '.n'
    done
    local code
    code=$(jq -r '.stations[0].code' "$D/county.json")
    for p in rank station; do
        : >"$R/cli_$p"
        for ((i = 0; i < CLI_N; i++)); do
            t0=$(now_ns)
            if [ "$p" = rank ]; then
                "$K" rank --json --year "$YEAR" -d "$D" >/dev/null
            else
                "$K" station "$code" --json --year "$YEAR" -d "$D" >/dev/null
            fi
            t1=$(now_ns)
            echo $(((t1 - t0) / 1000)) >>"$R/cli_$p"
        done
        put "cli_$p" "$(sort -n "$R/cli_$p" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
    done
    rss q_
    "$K" down -d "$D" >/dev/null
    [ -n "$QSCALE" ] || rebuild
    [ -n "$MEMWHY" ] || in_memory
}

for ((run = 1; run <= RUNS; run++)); do
    run_once "$run"
done

# --- the table -----------------------------------------------------------
# med KEY: the median over the runs (the lower middle of an even count);
# "n/a" when no run has it, the word itself when a run gave a word.
med() {
    awk -v k="$1" '$1 == k { print $2 }' "$WORK"/run*/results | sort -g |
        awk '{ a[NR] = $1 } END { print NR ? a[int((NR + 1) / 2)] : "n/a" }'
}
# num X: X with thousands separators; ms X: microseconds X as milliseconds
num() { awk -v x="$1" 'BEGIN { if (x !~ /^[0-9.]+$/) { print x; exit }
    x = sprintf("%.0f", x); n = length(x); s = ""
    for (i = 1; i <= n; i++) { s = s substr(x, i, 1); if ((n - i) % 3 == 0 && i < n) s = s "," }
    print s }'; }
ms() { awk -v x="$1" 'BEGIN { if (x !~ /^[0-9.]+$/) print x; else if (x >= 100000) printf "%.0f", x / 1000; else printf "%.2f", x / 1000 }'; }
us() { awk -v x="$1" 'BEGIN { if (x !~ /^[0-9.]+$/) print x; else printf "%.0f", x }'; }
mb() { awk -v x="$1" 'BEGIN { if (x !~ /^[0-9.]+$/) print x; else printf "%.1f", x / 1024 }'; }
# ratio A B: A/B as a percentage
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b == 0) print "—"; else printf "%.1f %%", 100 * a / b }'; }
# judge VALUE OP LIMIT: met or missed (VALUE >= or < LIMIT)
judge() { awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN { if (v !~ /^[0-9.]+$/) print "—"
    else if (op == ">=") print (v + 0 >= l + 0 ? "met" : "missed"); else print (v + 0 < l + 0 ? "met" : "missed") }'; }

read -r LOAD_END _ </proc/loadavg
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
FS=$(findmnt -n -o FSTYPE -T "$WORK" 2>/dev/null || stat -f -c %T "$WORK")
TREE=$(git -C "$SRC" describe --always --dirty 2>/dev/null || echo "not a git tree")
PROV=$([ "$SCALE" = province ] && echo 1 || echo 0)
onlyprov() { if [ "$PROV" = 1 ]; then judge "$@"; else echo "— (province)"; fi; }

ING=$(med ingest)
L1K50=$(med lat1k_p50) L1K99=$(med lat1k_p99) L1K999=$(med lat1k_p999)
L10K50=$(med lat10k_p50) L10K99=$(med lat10k_p99) L10K999=$(med lat10k_p999)
VIS99=$(med vis_p99) REB=$(med rebuild) QR50=$(med q_rank_p50) QR99=$(med q_rank_p99)
QS50=$(med q_station_p50) QS99=$(med q_station_p99)
HWM_SC=$(med hwm_scorer) ANON_SC=$(med anon_scorer)
STORE=$(med store_apply) LMDBMAX=$(med "lmdb_$BATCH_MAX") LMDBMEAN=$(med lmdb_mean)
BM=$(med batch_mean) ZIPC=$(med zmq_ipc) ZCURVE=$(med zmq_ipc_curve) MEMING=$(med mem_ingest)
MEMNOTE=$([ -z "$MEMWHY" ] || echo " ($MEMWHY)")

cat <<EOF

### kaohe benchmark: $SCALE scale

$STATIONS stations, year $YEAR, \`kaohe simulate --seed $SEED --scale $SIMSCALE\`: $(num "$N_ALL") events
(sustained part $(num "$N_SUS"), then $(num "$N_R1") at 1,000/s and $(num "$N_R2") at 10,000/s);
queries (3) and (5) on $(if [ -n "$QSCALE" ]; then echo "a realistic year of the same stations (\`--scale $QSCALE\`, $(num "$N_Q") events)"; else echo "that store ($(num "$N_Q") events)"; fi).
Medians of $RUNS run(s). Machine: $CPU, $(nproc) cores (nproc), $(uname -sr), data on $FS;
load average $LOAD_START at the start, $LOAD_END at the end; tree $TREE, Release build.

| # | measure | kaohe | limit, same run | kaohe / limit | target | |
|---|---|---|---|---|---|---|
| 1 | durable ingest, feed → ingest → scorer commit → ack | $(num "$ING") ev/s | LMDB raw puts, $BATCH_MAX per commit: $(num "$LMDBMAX")/s | $(ratio "$ING" "$LMDBMAX") | ≥ 250,000 ev/s | $(judge "$ING" ">=" 250000) |
| | | mean $(num "$BM") events per commit | LMDB raw puts, $(num "$BM") per commit: $(num "$LMDBMEAN")/s | $(ratio "$ING" "$LMDBMEAN") | | |
| | | | kh_store_apply alone, $BATCH_MAX per commit: $(num "$STORE") ev/s | $(ratio "$ING" "$STORE") | | |
| | | | ZeroMQ PUSH→PULL ipc, 100 B: $(num "$ZIPC") msg/s | $(ratio "$ING" "$ZIPC") | | |
| | | | the same with CURVE: $(num "$ZCURVE") msg/s | $(ratio "$ING" "$ZCURVE") | | |
| | | | the same pipeline, store in memory (syncs free): $(num "$MEMING") ev/s$MEMNOTE | $(ratio "$ING" "$MEMING") | | |
| 2 | ack latency at 1,000 ev/s offered, p50 / p99 / p99.9 | $(ms "$L1K50") / $(ms "$L1K99") / $(ms "$L1K999") ms | fsync p50 / p99 (append 100 B): $(ms "$(med fsync_p50)") / $(ms "$(med fsync_p99)") ms | | | |
| | ack latency at 10,000 ev/s offered, p50 / p99 / p99.9 | $(ms "$L10K50") / $(ms "$L10K99") / $(ms "$L10K999") ms | fdatasync p50 / p99 (overwrite 100 B): $(ms "$(med fdatasync_p50)") / $(ms "$(med fdatasync_p99)") ms | | p99 < 5 ms | $(judge "$L10K99" "<" 5000) |
| | | | the same pipeline at 10,000/s, store in memory: $(ms "$(med mem10k_p50)") / $(ms "$(med mem10k_p99)") / $(ms "$(med mem10k_p999)") ms$MEMNOTE | | | |
| | | achieved $(num "$(med got1k)") and $(num "$(med got10k)") ev/s | LMDB raw puts, 1 per commit: $(num "$(med lmdb_1)")/s | | | |
| 3 | ack → visible in \`rank\`, p50 / p99 ($(med vis_n) probes, $(med vis_missed) not seen) | $(ms "$(med vis_p50)") / $(ms "$VIS99") ms | one \`rank\` query, p50: $(ms "$QR50") ms | | p99 ≤ 20 ms | $(judge "$VIS99" "<" 20001) |
| 4 | rebuild from the journal (identical to the live store: $(med rebuild_identical)) | $(num "$REB") ev/s | kh_store_apply alone, $BATCH_MAX per commit: $(num "$STORE") ev/s | $(ratio "$REB" "$STORE") | ≥ 500,000 ev/s | $(judge "$REB" ">=" 500000) |
| 5 | \`rank\`, server side, p50 / p99 ($(med q_rank_n) queries, one connection) | $(ms "$QR50") / $(ms "$QR99") ms | | | < 2 ms at 3,000 stations | $(onlyprov "$QR50" "<" 2000) |
| | \`rank --json\`, whole CLI process, median | $(ms "$(med cli_rank)") ms | | | | |
| | \`station\`, server side, p50 / p99 ($(med q_station_n) queries) | $(ms "$QS50") / $(ms "$QS99") ms | | | | |
| | \`station --json\`, whole CLI process, median | $(ms "$(med cli_station)") ms | | | | |
| 6 | peak RSS (VmHWM) scorer, its anonymous part at the end | $(mb "$HWM_SC") MB, $(mb "$ANON_SC") MB | | | scorer < 200 MB at province scale | $(onlyprov "$HWM_SC" "<" 204800) |
| | peak RSS ranker (after the queries) / ingest-station / ingest-dispatch / -legal / -assessor | $(mb "$(med q_hwm_ranker)") / $(mb "$(med hwm_ingest-station)") / $(mb "$(med hwm_ingest-dispatch)") / $(mb "$(med hwm_ingest-legal)") / $(mb "$(med hwm_ingest-assessor)") MB | | | | |
| | LMDB bytes per journaled event (pages used / journal entries) | $(num "$(med bytes_per_event)") B ($(num "$(med journaled)") events) | encoded event: $(num "$(med codec_bytes)") B | | | |
| limits | ZeroMQ PUSH→PULL 100 B: ipc / tcp loopback / ipc + CURVE | | $(num "$ZIPC") / $(num "$(med zmq_tcp)") / $(num "$ZCURVE") msg/s | | | |
| | LMDB raw durable puts per commit: 1 / 100 / 1,000 / $BATCH_MAX / 10,000 | | $(num "$(med lmdb_1)") / $(num "$(med lmdb_100)") / $(num "$(med lmdb_1000)") / $(num "$LMDBMAX") / $(num "$(med lmdb_10000)") puts/s | | | |
| | fsync (append) / fdatasync (overwrite) of 100 B, p50 / p99 | | $(us "$(med fsync_p50)") / $(us "$(med fsync_p99)") µs, $(us "$(med fdatasync_p50)") / $(us "$(med fdatasync_p99)") µs | | | |
| | protobuf-c encode + decode of an event (kh_codec) / JSON parse of its line | | $(num "$(med codec_ns)") ns / $(num "$(med json_ns)") ns | | | |
EOF
