#!/usr/bin/env bash
# The whole ctest suite (unit, e2e, fuzz replays) built with gcc,
# AddressSanitizer, LeakSanitizer and UBSan (-DKH_SANITIZE=ON) in
# build-asan/ (or $KH_ASAN_BUILD). Extra arguments go to ctest
# (e.g. -R fuzz_codec_replay).
#
# Every sanitized process (unit tests, the CLI, and the services that the
# e2e tests start with `kaohe up`, whose stderr goes to a log the test
# deletes on success) writes its report to build-asan/asan-logs/ instead
# of stderr: a finding aborts a unit test or the CLI, failing its test,
# but a service's report at exit (a leak found when `kaohe down` stops
# it) fails no test by itself. So any file there after the run fails
# this script, and is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${KH_ASAN_BUILD:-build-asan}
scripts/deps.sh
KH_BUILD=$B scripts/build.sh -DCMAKE_C_COMPILER=gcc -DKH_SANITIZE=ON

LOGS=$(cd "$B" && pwd)/asan-logs
rm -rf "$LOGS"
mkdir -p "$LOGS"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$LOGS/asan:log_exe_name=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$LOGS/ubsan:log_exe_name=1"

rc=0
(cd "$B" && ctest --output-on-failure -j2 "$@") || rc=$?

reports=$(find "$LOGS" -type f | sort)
if [ -n "$reports" ]; then
    for f in $reports; do
        echo "=== sanitizer report $f ===" >&2
        cat "$f" >&2
    done
    echo "test-asan.sh: $(echo "$reports" | wc -l) sanitizer report(s) in $LOGS (above)" >&2
    exit 1
fi
[ "$rc" -eq 0 ] || echo "test-asan.sh: ctest failed (exit $rc); no sanitizer report was written" >&2
exit "$rc"
