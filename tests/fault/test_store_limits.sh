#!/usr/bin/env bash
# The store at its limits.
#
# 1. Map growth: the scorer starts with a 256 KiB map (KAOHE_MAP_SIZE) and a
#    county year of events; every MDB_MAP_FULL grows the map and applies
#    the same batch again. The log shows the growth, nothing is lost or
#    doubled: the figures are byte-identical to a run with the default map,
#    and `kaohe rebuild` agrees.
# 2. A full disk: the data directory is on a small tmpfs, nearly filled by
#    a filler file. The feed runs into ENOSPC: the scorer logs it once with
#    its cause (code=no_space), answers `failed` (not decided) so nothing is
#    acknowledged that is not durable, keeps serving the last committed
#    state, and does not crash. Once the filler is removed the same feed
#    completes, and the figures equal the reference's. Needs mount(8) of a
#    tmpfs (root); without it this part is skipped, saying so.
. "$(dirname "$0")/../e2e/lib.sh"

YEAR=2025
kaohe simulate --seed 77 --year $YEAR --months 1-12 --stations 12 \
    --county "$TMP/county.json" -o "$TMP/events.jsonl" 2>/dev/null || fail "simulate"
CODES=$(jq -r '.stations[].code' "$TMP/county.json")

capture() { # DIR OUT
    local dir=$1 out=$2 code
    mkdir -p "$out"
    kaohe rank --year $YEAR --json -d "$dir" >"$out/rank.json"
    for code in $CODES; do
        kaohe station "$code" --year $YEAR --json -d "$dir" >"$out/station-$code.json"
    done
}
same_as_ref() { # OUT WHAT
    local f
    for f in "$TMP/ref"/*.json; do
        cmp -s "$f" "$1/$(basename "$f")" || fail "$2: $(basename "$f") differs from the reference"
    done
}

# The reference, default map.
kaohe up -c "$TMP/county.json" -d "$D" >/dev/null
kaohe feed "$TMP/events.jsonl" -d "$D" >/dev/null 2>&1 || fail "reference feed"
capture "$D" "$TMP/ref"
kaohe down -d "$D" >/dev/null

# ---- 1. a tiny map, grown as it fills ----------------------------------------
G=$TMP/grow
kh_track "$G"
KAOHE_MAP_SIZE=262144 kaohe up -c "$TMP/county.json" -d "$G" >/dev/null
grep -q 'map_bytes=262144' "$G/log/scorer.log" || fail "the scorer did not start with the 256 KiB map"
kaohe feed "$TMP/events.jsonl" -d "$G" >/dev/null 2>&1 || fail "feed into a tiny map"
grown=$(grep -c 'msg="store map grown"' "$G/log/scorer.log" || true)
[ "$grown" -ge 2 ] || fail "the map grew $grown times, expected at least twice"
capture "$G" "$TMP/grow-out"
same_as_ref "$TMP/grow-out" "tiny map"
kaohe rebuild -d "$G" >/dev/null || fail "rebuild after map growth"
kaohe down -d "$G" >/dev/null
pass "a 256 KiB map grew $grown times; figures identical, rebuild identical"

# ---- 2. a full disk ------------------------------------------------------------
M=$TMP/small
mkdir -p "$M"
if ! mount -t tmpfs -o size=6m kaohe-test "$M" 2>"$TMP/mount.err"; then
    echo "# SKIP full disk: cannot mount a tmpfs here ($(cat "$TMP/mount.err"))"
    exit 0
fi
umount_small() { umount "$M" 2>/dev/null || umount -l "$M" 2>/dev/null || true; }
F=$M/d
kh_track "$F"
# The logs live off the small disk, so that they can say what happened.
mkdir -p "$TMP/small-log" "$F"
ln -s "$TMP/small-log" "$F/log"
trap 'kaohe down -d "$F" >/dev/null 2>&1 || true; umount_small; cleanup' EXIT
kaohe up -c "$TMP/county.json" -d "$F" >/dev/null
# Leave about 400 KiB: less than the year's store needs.
avail=$(df -k --output=avail "$M" | tail -n 1)
dd if=/dev/zero of="$M/filler" bs=1k count=$((avail - 400)) status=none 2>/dev/null || true
rc=0
kaohe feed "$TMP/events.jsonl" -d "$F" --timeout 3 >"$TMP/full.out" 2>"$TMP/full.err" || rc=$?
[ $rc -eq 1 ] || fail "feed onto a full disk exited $rc, expected 1 (events unacknowledged)"
grep -q 'never acknowledged' "$TMP/full.err" || fail "the feed did not say what was unacknowledged: $(cat "$TMP/full.err")"
grep -q 'code=no_space' "$F/log/scorer.log" ||
    fail "the scorer did not log the full disk with its cause"
[ "$(grep -c 'code=no_space' "$F/log/scorer.log")" -eq 1 ] ||
    fail "the full disk was logged more than once"
kill -0 "$(cat "$F/run/scorer.pid")" || fail "the scorer died on a full disk"
# The last committed state is served meanwhile.
kaohe rank --year $YEAR --json -d "$F" >/dev/null || fail "rank while the disk is full"
kaohe status -d "$F" --json >"$TMP/status.json" || fail "status while the disk is full"
pass "full disk: feed exited 1 ($(tail -n 1 "$TMP/full.err")), no_space logged once, services up"

rm -f "$M/filler"
kaohe feed "$TMP/events.jsonl" -d "$F" >/dev/null 2>"$TMP/again.err" ||
    fail "feed after space returned: $(cat "$TMP/again.err")"
grep -q 'msg="store writable again"' "$F/log/scorer.log" || fail "no 'store writable again' line"
capture "$F" "$TMP/full-out"
same_as_ref "$TMP/full-out" "after a full disk"
kaohe rebuild -d "$F" >/dev/null || fail "rebuild after a full disk"
pass "space returned: the same feed completed, figures identical to the reference, rebuild identical"
