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
cleanup() {
    local rc=$?
    "$KH_BIN/kaohe" down -d "$D" >/dev/null 2>&1 || true
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
