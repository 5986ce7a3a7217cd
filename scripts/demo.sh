#!/usr/bin/env bash
# The main job on local defaults: installs the packages, builds, starts the
# services on a local data directory (./kaohe-data), feeds a simulated
# county's month of events and prints the live ranking and the 城区三所
# patrol ranking. Stop the services afterwards with:
#   build/kaohe down -d kaohe-data
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
K=build/kaohe
D=${KAOHE_DATA:-kaohe-data}
Y=$(date +%Y)
M=$(date +%m)
mkdir -p "$D"
$K simulate --seed 1 --year "$Y" --months "1-$((10#$M))" --county "$D/sim-county.json" -o "$D/sim-events.jsonl"
$K up -c "$D/sim-county.json" -d "$D"
$K feed "$D/sim-events.jsonl" -d "$D" || [ $? -eq 3 ]
echo
$K rank -d "$D"
echo
$K urban --month "$Y-$M" -d "$D"
echo
echo "services are running; try: $K station CODE -d $D, $K explain CODE 5.2.3 -d $D"
echo "stop them with: $K down -d $D"
