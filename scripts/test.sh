#!/usr/bin/env bash
# The whole test suite: installs the packages, builds with warnings as
# errors, and runs every ctest test (unit and e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
KH_BUILD=${KH_BUILD:-build} scripts/build.sh -DKH_WERROR=ON
cd "${KH_BUILD:-build}"
ctest --output-on-failure -j2 "$@"
