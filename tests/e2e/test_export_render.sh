#!/usr/bin/env bash
# The HTML export as a browser draws it: test_export writes the export of
# tests/data/snapshot-example.json (KH_EXPORT_HTML_OUT), headless Chromium
# takes a screenshot of it and of an empty page, and the page's PNG must be
# a real PNG, over 10 kB and far larger than the empty page's (a PNG of a
# blank page compresses to almost nothing; tables, charts and text do not).
# No services are started. Skipped when Chromium is not installed.
. "$(dirname "$0")/lib.sh"

CHROMIUM=/usr/bin/chromium
if [ ! -x "$CHROMIUM" ]; then
    echo "skipped: chromium not installed"
    exit 0
fi

KH_EXPORT_HTML_OUT=$TMP/snap.html "$KH_BIN/test_export" >"$TMP/test_export.log" 2>&1 ||
    { cat "$TMP/test_export.log" >&2; fail "test_export"; }
[ -s "$TMP/snap.html" ] || fail "test_export wrote no HTML to KH_EXPORT_HTML_OUT"
pass "HTML export written"

printf '<!DOCTYPE html><html><head><meta charset="utf-8"><title>blank</title></head><body></body></html>\n' \
    >"$TMP/blank.html"

# shot PAGE PNG: one screenshot in a throw-away profile, no network.
shot() {
    local profile
    profile=$(mktemp -d "$TMP/chromium.XXXXXX")
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --user-data-dir="$profile" --screenshot="$2" \
        --window-size=1200,1600 "file://$1" >"$TMP/chromium.log" 2>&1 ||
        { tail -n 20 "$TMP/chromium.log" >&2; fail "chromium could not render $1"; }
    [ -s "$2" ] || { tail -n 20 "$TMP/chromium.log" >&2; fail "no screenshot of $1"; }
}
shot "$TMP/snap.html" "$TMP/page.png"
shot "$TMP/blank.html" "$TMP/blank.png"

expect_eq "screenshot is a PNG" "$(head -c 8 "$TMP/page.png" | od -An -tx1 | tr -d ' \n')" \
    "89504e470d0a1a0a"
page=$(stat -c %s "$TMP/page.png")
blank=$(stat -c %s "$TMP/blank.png")
echo "page.png $page bytes, blank.png $blank bytes"
[ "$page" -gt 10240 ] || fail "page screenshot only $page bytes"
[ "$page" -gt $((blank * 4)) ] || fail "page ($page bytes) not clearly more than a blank page ($blank bytes)"
pass "the page renders with content"
echo "all passed"
