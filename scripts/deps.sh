#!/usr/bin/env bash
# Installs the Debian 12 packages kaohe builds, runs and tests with.
# Used by scripts/demo.sh, scripts/test.sh and .ci/run.
set -euo pipefail
KH_PACKAGES=(
    build-essential cmake pkg-config
    libzmq3-dev liblmdb-dev lmdb-utils libprotobuf-c-dev protobuf-c-compiler
    libuv1-dev libjansson-dev libsodium-dev libcmocka-dev
    tzdata jq
    tmux
    libxlsxwriter-dev chromium unzip fonts-wqy-microhei
    dpkg-dev systemd groff-base man-db gzip
)
missing=()
for p in "${KH_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing: ${missing[*]}" >&2
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
