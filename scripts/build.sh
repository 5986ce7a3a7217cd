#!/usr/bin/env bash
# Configures and builds kaohe into build/ (or $KH_BUILD). Extra arguments
# go to cmake's configure step (e.g. -DKH_WERROR=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${KH_BUILD:-build}
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=${KH_BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
cmake --build "$B" -j"$(nproc)"
