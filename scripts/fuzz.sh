#!/usr/bin/env bash
# Fuzzes each decoder with libFuzzer for a bounded time (CI and by hand).
#
#   scripts/fuzz.sh [TARGET...]      TARGET: codec, event_json, config
#                                    (default: all three)
#   KH_FUZZ_SECONDS=N                time per target (default 60)
#   KH_FUZZ_BUILD=DIR                build directory (default build-fuzz)
#
# Installs clang and its fuzzer runtime if missing, builds the tree with
# clang and -DKH_FUZZ=ON into build-fuzz/ (libraries instrumented for
# coverage, ASan and UBSan; no -Werror: test.sh enforces warnings with
# gcc), and runs each fuzz_<name>_libfuzzer on a fresh COPY of its seed
# corpus (tests/fuzz/corpus/ is never written), crash artifacts going to
# build-fuzz/artifacts/. Exits non-zero if any target finds a crash, a
# leak, a timeout or an out-of-memory, naming the reproducer and how to
# replay it.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
SECONDS_PER=${KH_FUZZ_SECONDS:-60}
B=${KH_FUZZ_BUILD:-build-fuzz}
case $SECONDS_PER in '' | *[!0-9]*)
    echo "fuzz.sh: KH_FUZZ_SECONDS must be a whole number of seconds" >&2
    exit 2
    ;;
esac

# target name -> its seed corpus directories (as tests/tests.cmake's
# KH_FUZZ_TARGETS registers the replays)
declare -A CORPORA=([codec]="codec" [event_json]="json" [config]="county catalog")
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(codec event_json config)
for t in "${TARGETS[@]}"; do
    [ -n "${CORPORA[$t]+x}" ] || {
        echo "fuzz.sh: unknown target $t (codec, event_json, config)" >&2
        exit 2
    }
done

# --- packages: kaohe's own, then clang and the compiler-rt fuzzer runtime
scripts/deps.sh
need=()
for p in clang libclang-rt-14-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "installing: ${need[*]}" >&2
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# --- build: the whole tree with clang, only the libFuzzer binaries built
cmake -S . -B "$B" -DCMAKE_C_COMPILER=clang -DKH_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=${KH_BUILD_TYPE:-RelWithDebInfo} >/dev/null
bins=()
for t in "${TARGETS[@]}"; do bins+=("fuzz_${t}_libfuzzer"); done
cmake --build "$B" -j"$(nproc)" --target "${bins[@]}" >"$B/build.log" 2>&1 || {
    tail -n 60 "$B/build.log" >&2
    echo "fuzz.sh: building the libFuzzer targets failed (full log $B/build.log)" >&2
    exit 1
}

# --- run
B=$(cd "$B" && pwd)
ART=$B/artifacts
mkdir -p "$ART" "$B/logs"
# LeakSanitizer on (libFuzzer's -detect_leaks=1 default needs it), UBSan
# findings abort and are kept as crashes.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for t in "${TARGETS[@]}"; do
    work=$B/corpus/$t
    rm -rf "$work"
    dirs=()
    for d in ${CORPORA[$t]}; do
        mkdir -p "$work/$d"
        cp -R "$SRC/tests/fuzz/corpus/$d/." "$work/$d/"
        dirs+=("$work/$d")
    done
    log=$B/logs/$t.log
    start=$(date +%s)
    rc=0
    # libFuzzer writes new inputs to the first directory only: a copy.
    "$B/fuzz_${t}_libfuzzer" -max_total_time="$SECONDS_PER" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$ART/$t-" "${dirs[@]}" </dev/null >"$log" 2>&1 \
        || rc=$?
    took=$(($(date +%s) - start))
    runs=$(grep -Eo '^Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' || echo "?")
    cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[^ ]+' "$log" | tail -n 1 || true)
    if [ "$rc" -eq 0 ]; then
        echo "fuzz $t: ok, $runs runs in ${took}s (${cov:-no coverage line}; log $log)"
        continue
    fi
    failed+=("$t")
    echo "fuzz $t: FAILED (exit $rc after ${took}s)" >&2
    echo "--- $log, from the report on ---" >&2
    if grep -Eq 'ERROR: |runtime error: ' "$log"; then
        sed -n -E '/ERROR: |runtime error: /,$p' "$log" | head -n 150 >&2
    else
        tail -n 80 "$log" >&2
    fi
    echo "---" >&2
    repro=$(grep -Eo "Test unit written to [^ ]+" "$log" | tail -n 1 | sed 's/^Test unit written to //' || true)
    if [ -z "$repro" ]; then
        repro=$(ls -t "$ART/$t-"* 2>/dev/null | head -n 1 || true)
    fi
    if [ -n "$repro" ]; then
        first=${CORPORA[$t]%% *}
        cat >&2 <<EOF
reproducer: $repro
replay it:  $B/fuzz_${t}_libfuzzer $repro
regression: cp $repro tests/fuzz/corpus/$first/  (then, under gcc with ASan:
            scripts/test-asan.sh -R fuzz_${t}_replay; keep it there once fixed)
EOF
    else
        echo "no reproducer was written (the target did not start?)" >&2
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz.sh: ${#TARGETS[@]} target(s), ${SECONDS_PER}s each, no crash"
