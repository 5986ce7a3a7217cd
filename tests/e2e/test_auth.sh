#!/usr/bin/env bash
# Authentication and authorisation through the real services: CurveZMQ
# keys made by kaohe up, the ZAP handler admitting only known keys, each
# key doing only what its role allows (a station only for itself, admin
# alone closing), a key unknown to the services getting nothing through,
# and revoking and adding keys without a restart.
. "$(dirname "$0")/lib.sh"
DATA=$KH_SOURCE_DIR/tests/data/auth

kaohe up -c "$EXAMPLE/county.json" -d "$D" >/dev/null
expect_eq "data directory is 0700" "$(stat -c %a "$D")" "700"
expect_eq "keys directory is 0700" "$(stat -c %a "$D/keys")" "700"
expect_eq "secret files are 0600" "$(stat -c %a "$D"/keys/*.key | sort -u)" "600"
expect_eq "one key per identity" "$(kaohe keys list --json -d "$D" | jq -c '[.[].identity]')" \
    '["admin","assessor","dispatch","legal","service","station-BM","station-NM","station-QS","station-XM"]'

# Each event with its own source's key: all accepted.
kaohe feed "$EXAMPLE/events.jsonl" -d "$D" >/dev/null
before=$(kaohe rank --year 2024 --json -d "$D")

status_of() { # file, then feed options
    local f=$1
    shift
    kaohe feed "$f" -d "$D" --json "$@" 2>/dev/null | jq -r '"\(.status) \(.reason)"' || true
}
expect_eq "a station's key speaks only for itself" \
    "$(status_of "$DATA/cross.jsonl" --as station-NM)" "rejected forbidden"
grep -q 'reason=forbidden id=x-bm source=station key=station-NM' "$D/log/ingest-station.log" \
    || fail "the ingest logged the refusal with the key"
expect_eq "the same event with BM's key is accepted" \
    "$(status_of "$DATA/cross.jsonl")" "accepted null"
expect_eq "dispatch may not send findings" \
    "$(status_of "$DATA/finding.jsonl" --as dispatch)" "rejected forbidden"
expect_eq "legal may not send calls" "$(status_of "$DATA/call.jsonl" --as legal)" \
    "rejected forbidden"
expect_eq "admin sends no events" "$(status_of "$DATA/call.jsonl" --as admin)" \
    "rejected forbidden"

set +e
kaohe close 2024-02 --as station-NM -d "$D" 2>"$TMP/err"
rc=$?
set -e
expect_eq "only admin may close" "$rc" "1"
grep -q forbidden "$TMP/err" || fail "the refusal says forbidden"
expect_eq "nothing was closed" "$(kaohe status -d "$D" --json | jq .closed_through)" "null"
expect_eq "queries need any known key" \
    "$(kaohe rank --year 2024 --json --as station-QS -d "$D" | jq -c '[.stations[].station]')" \
    "$(echo "$before" | jq -c '[.stations[].station]')"

# A key the services do not know gets nothing through: made, then its
# public half taken off the allow list (a fresh random key, as far as the
# services can tell).
kaohe keys add station-ZZ -d "$D" >/dev/null
rm "$D/keys/station-ZZ.pub"
set +e
out=$(kaohe feed "$DATA/qs.jsonl" --as station-ZZ --timeout 3 --json -d "$D" 2>"$TMP/err")
rc=$?
set -e
expect_eq "unknown key: feed gives up" "$rc" "1"
expect_eq "unknown key: nothing acknowledged" "$(echo "$out" | jq -r .status)" "unacknowledged"
expect_eq "unknown key: no service answers it" \
    "$(kaohe status --as station-ZZ --json -d "$D" | jq -c '[.services[].up] | unique')" "[false]"
grep -q 'connection refused' "$D/log/ingest-station.log" || fail "the refusal is logged"

# Revoking a leaked key works at once, and a new key too, without restart.
cp "$D/keys/station-QS.key" "$TMP/leaked.key"
kaohe keys revoke station-QS -d "$D" >/dev/null
cp "$TMP/leaked.key" "$D/keys/station-QS.key"
set +e
out=$(kaohe feed "$DATA/qs.jsonl" --timeout 3 --json -d "$D" 2>/dev/null)
set -e
expect_eq "revoked key gets nothing through" "$(echo "$out" | jq -r .status)" "unacknowledged"
rm "$D/keys/station-QS.key"
kaohe keys add station-QS -d "$D" >/dev/null
expect_eq "a new key works without a restart" "$(status_of "$DATA/qs.jsonl")" "accepted null"

# None of the refused events changed anything but what was accepted.
expect_eq "NM untouched by the refused events" \
    "$(kaohe station NM --year 2024 --json -d "$D" | jq -c .total)" \
    "$(echo "$before" | jq -c '.stations[] | select(.station=="NM") | .total')"
echo "all passed"
