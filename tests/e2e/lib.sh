# Shared helpers for the end-to-end tests: a temporary data directory, the
# real services started with `kaohe up`, and stopped (by their own pids,
# through `kaohe down`) when the test exits, whatever happens.
set -euo pipefail

KH_BIN=${KH_BIN:?KH_BIN must point at the build directory}
KH_SOURCE_DIR=${KH_SOURCE_DIR:?KH_SOURCE_DIR must point at the source tree}
export KAOHE_RULES=${KAOHE_RULES:-$KH_SOURCE_DIR/rules/catalog.json}
EXAMPLE=$KH_SOURCE_DIR/tests/data/example
kaohe() { "$KH_BIN/kaohe" "$@"; }

TMP=$(mktemp -d /tmp/kh-e2e.XXXXXX)
D=$TMP/d
# Further data directories a test starts services in (kh_track DIR...):
# stopped on exit like $D.
KH_DIRS=()
kh_track() { KH_DIRS+=("$@"); }
cleanup() {
    local rc=$? dir
    for dir in "$D" "${KH_DIRS[@]}"; do
        "$KH_BIN/kaohe" down -d "$dir" >/dev/null 2>&1 || true
    done
    if [ $rc -ne 0 ] && [ -d "$D/log" ]; then
        echo "--- service logs ---" >&2
        tail -n 20 "$D"/log/*.log >&2 || true
    fi
    rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }

# expect_eq WHAT ACTUAL EXPECTED
expect_eq() {
    if [ "$2" != "$3" ]; then
        echo "FAIL: $1" >&2
        echo "  expected: $3" >&2
        echo "  actual:   $2" >&2
        exit 1
    fi
    pass "$1"
}

# The figures SPEC section 7 fixes, normalised for comparison (key order,
# number formatting): rank rows, and a station's items.
norm_rank='[.stations[] | {rank, station, total, bonus, pending, sections}]'
norm_station='{station, year, total, bonus, pending, sections: [.sections[] | {id, max, score, items: [.items[] | {id, deducted, bonus, pending, self_score}]}]}'
norm_urban='{month, closed, stations: [.stations[] | {station, patrols, behind, deducted}]}'

# wait_until SECONDS WHAT COMMAND...: runs COMMAND every 50 ms until it
# succeeds; fails the test naming WHAT after SECONDS.
wait_until() {
    local secs=$1 what=$2 end
    shift 2
    end=$(($(date +%s%N) + secs * 1000000000))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s%N)" -lt "$end" ] || fail "$what: not within $secs s"
        sleep 0.05
    done
}

# gone PID: true once the process has exited (or is an unreaped zombie).
gone() {
    ! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# kill9 DIR NAME...: SIGKILLs services of DIR by their pid files (only
# those: pids this test's kaohe up started) and waits until they are gone.
kill9() {
    local dir=$1 name pid
    shift
    for name in "$@"; do
        [ -s "$dir/run/$name.pid" ] || continue
        pid=$(cat "$dir/run/$name.pid")
        kill -KILL "$pid" 2>/dev/null || true
        wait_until 10 "$name (pid $pid) to die" gone "$pid"
    done
}

# rss_kb PID: the peak resident set (VmHWM) of a process, in KiB.
rss_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
