#!/usr/bin/env bash
# The Debian package as an administrator gets it: cpack builds the .deb from
# the build tree, dpkg-deb checks its control data and lays it out in a
# scratch root. Binaries, rule catalog, man page, systemd units, sysusers
# and /etc/kaohe/county.json must be where the FHS and systemd look; the
# units must pass systemd-analyze verify against the scratch root's
# binaries; and the installed kaohe must prepare a data directory (kaohe
# init: idempotent, refusing a bad county) and run the installed services
# (kaohe up, status, feed, rank, down).
. "$(dirname "$0")/lib.sh"

for tool in cpack dpkg-deb dpkg-shlibdeps groff jq; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/deps.sh installs it)"
done
cache() { sed -n "s/^$1:[A-Z]*=//p" "$KH_BIN/CMakeCache.txt"; }
prefix=$(cache CMAKE_INSTALL_PREFIX)
confdir=$(cache KH_CONFDIR)
[ -n "$prefix" ] && [ -n "$confdir" ] || fail "no install prefix or KH_CONFDIR in $KH_BIN"
echo "# prefix $prefix, configuration in $confdir"

# --- the package -----------------------------------------------------------
(cd "$TMP" && cpack -G DEB --config "$KH_BIN/CPackConfig.cmake" -B "$TMP/pkg") \
    >"$TMP/cpack.log" 2>&1 || { cat "$TMP/cpack.log" >&2; fail "cpack -G DEB"; }
debs=("$TMP"/pkg/kaohe_*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "cpack made no single kaohe_*.deb"
deb=${debs[0]}
pass "cpack made $(basename "$deb")"

expect_eq "package name" "$(dpkg-deb -f "$deb" Package)" "kaohe"
depends=$(dpkg-deb -f "$deb" Depends)
for dep in libzmq5 liblmdb0 libuv1 libjansson4 libprotobuf-c1 libsodium23 libc6 tzdata; do
    [[ ",$depends" == *", $dep"* || "$depends" == "$dep"* ]] || fail "Depends lacks $dep: $depends"
done
pass "Depends computed by dpkg-shlibdeps: $depends"
dpkg-deb -e "$deb" "$TMP/control"
expect_eq "conffiles" "$(cat "$TMP/control/conffiles")" "$confdir/county.json"
for script in postinst prerm postrm; do
    [ -x "$TMP/control/$script" ] || fail "$script is missing or not executable"
    sh -n "$TMP/control/$script" || fail "$script is not valid sh"
done
grep -q 'systemd-sysusers '"$prefix"'/lib/sysusers.d/kaohe.conf' "$TMP/control/postinst" \
    || fail "postinst makes the user from the installed sysusers file"
grep -q 'chown -R kaohe:kaohe /var/lib/kaohe' "$TMP/control/postinst" \
    || fail "postinst gives the state directory to kaohe"
grep -q '\[ -d /run/systemd/system \]' "$TMP/control/postinst" \
    || fail "postinst calls systemctl only when systemd runs"
pass "maintainer scripts: postinst, prerm, postrm"

# --- the files, where they belong -------------------------------------------
R=$TMP/root
dpkg-deb -x "$deb" "$R"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's#^\./#/#' >"$TMP/contents"
want_files=(
    "$prefix/bin/kaohe" "$prefix/bin/kaohe-ingest" "$prefix/bin/kaohe-scorer"
    "$prefix/bin/kaohe-ranker"
    "$prefix/share/kaohe/catalog.json"
    "$prefix/share/man/man1/kaohe.1.gz"
    "$prefix/lib/systemd/system/kaohe.target"
    "$prefix/lib/systemd/system/kaohe-init.service"
    "$prefix/lib/systemd/system/kaohe-scorer.service"
    "$prefix/lib/systemd/system/kaohe-ranker.service"
    "$prefix/lib/systemd/system/kaohe-ingest@.service"
    "$prefix/lib/sysusers.d/kaohe.conf"
    "$confdir/county.json"
)
for f in "${want_files[@]}"; do
    grep -qxF "$f" "$TMP/contents" || fail "the package lacks $f"
    [ -f "$R$f" ] || fail "$f is not in the unpacked root"
done
for b in kaohe kaohe-ingest kaohe-scorer kaohe-ranker; do
    [ -x "$R$prefix/bin/$b" ] || fail "$prefix/bin/$b is not executable"
done
pass "binaries, catalog, man page, units, sysusers and county in their places"
cmp -s "$R$prefix/share/kaohe/catalog.json" "$KH_SOURCE_DIR/rules/catalog.json" \
    || fail "the packaged catalog is not rules/catalog.json"
cmp -s "$R$confdir/county.json" "$KH_SOURCE_DIR/deploy/county.json" \
    || fail "the packaged county is not deploy/county.json"
# The services look for the catalog where the package puts it.
for b in kaohe-ingest kaohe-scorer kaohe-ranker; do
    grep -aqF "$prefix/share/kaohe/catalog.json" "$R$prefix/bin/$b" \
        || fail "$b does not look for the catalog in $prefix/share/kaohe"
done
pass "the services look for the catalog where it is installed"

units=$R$prefix/lib/systemd/system
for u in kaohe-init.service kaohe-scorer.service kaohe-ranker.service kaohe-ingest@.service; do
    for line in User=kaohe StateDirectory=kaohe ProtectSystem=strict ProtectHome=yes \
        NoNewPrivileges=yes PrivateTmp=yes PrivateDevices=yes UMask=0077 \
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"; do
        grep -qxF "$line" "$units/$u" || fail "$u lacks $line"
    done
done
for u in kaohe-scorer.service kaohe-ranker.service kaohe-ingest@.service; do
    grep -qxF Restart=on-failure "$units/$u" || fail "$u is not restarted on failure"
    grep -q "^ExecStart=$prefix/bin/kaohe-" "$units/$u" || fail "$u runs no installed binary"
done
grep -qxF "ExecStart=$prefix/bin/kaohe init -c $confdir/county.json -d /var/lib/kaohe" \
    "$units/kaohe-init.service" || fail "kaohe-init.service runs kaohe init on the county"
grep -qxF "ExecStart=$prefix/bin/kaohe-ingest --role %i -d /var/lib/kaohe \$KAOHE_OPTS" \
    "$units/kaohe-ingest@.service" || fail "the ingest template takes its role from %i"
grep -q '^After=.*kaohe-scorer.service' "$units/kaohe-ranker.service" \
    || fail "the ranker starts after the scorer"
grep -q '^After=.*kaohe-scorer.service' "$units/kaohe-ingest@.service" \
    || fail "the ingests start after the scorer"
grep -q '^After=kaohe-init.service' "$units/kaohe-scorer.service" \
    || fail "the scorer starts after kaohe-init"
for role in dispatch legal station assessor; do
    grep -q "kaohe-ingest@$role.service" "$units/kaohe.target" \
        || fail "kaohe.target does not want the $role ingest"
done
pass "units: user, state directory, hardening, restart, order, one ingest per role"

# The sysusers file makes the user (in the scratch root's /etc).
if command -v systemd-sysusers >/dev/null; then
    systemd-sysusers --root="$R" >/dev/null 2>&1 || fail "systemd-sysusers --root"
    grep -q '^kaohe:x:[0-9]*:[0-9]*:[^:]*:/var/lib/kaohe:' "$R/etc/passwd" \
        || fail "sysusers made no kaohe user with home /var/lib/kaohe"
    pass "sysusers.d makes the kaohe system user"
fi

# The man page renders without a warning.
zcat "$R$prefix/share/man/man1/kaohe.1.gz" >"$TMP/kaohe.1"
groff -man -Tutf8 -ww -z "$TMP/kaohe.1" 2>"$TMP/groff.err"
[ ! -s "$TMP/groff.err" ] || { cat "$TMP/groff.err" >&2; fail "groff warns on kaohe.1"; }
if command -v man >/dev/null; then
    MANWIDTH=80 man -l "$TMP/kaohe.1" >"$TMP/kaohe.txt" 2>"$TMP/man.err"
    [ ! -s "$TMP/man.err" ] || { cat "$TMP/man.err" >&2; fail "man -l warns on kaohe.1"; }
    grep -q '^EXIT STATUS' "$TMP/kaohe.txt" || fail "man -l rendered no EXIT STATUS"
fi
pass "the man page renders without warnings"

# --- systemd-analyze verify on the scratch root ------------------------------
# The root gets the host's own units (sysinit.target, multi-user.target and
# the rest the services' default dependencies name), so that verify checks
# the kaohe units as on an installed system, ExecStart binaries and the
# man: documentation link included, inside the root.
verify() {
    (cd "$TMP" && MANPATH="$R$prefix/share/man" systemd-analyze verify --root="$R" \
        kaohe.target kaohe-init.service kaohe-scorer.service kaohe-ranker.service \
        kaohe-ingest@dispatch.service kaohe-ingest@legal.service \
        kaohe-ingest@station.service kaohe-ingest@assessor.service)
}
if command -v systemd-analyze >/dev/null && [ -d /lib/systemd/system ]; then
    mkdir -p "$R/lib/systemd"
    cp -a /lib/systemd/system "$R/lib/systemd/"
    verify >"$TMP/verify.log" 2>&1 || { cat "$TMP/verify.log" >&2; fail "systemd-analyze verify"; }
    [ ! -s "$TMP/verify.log" ] || { cat "$TMP/verify.log" >&2; fail "systemd-analyze verify warns"; }
    pass "systemd-analyze verify --root: every unit, every ingest role"
    # It does check the binaries: without the ranker it must fail.
    mv "$R$prefix/bin/kaohe-ranker" "$TMP/kaohe-ranker.away"
    if verify >"$TMP/verify.log" 2>&1; then
        fail "systemd-analyze verify passed without $prefix/bin/kaohe-ranker"
    fi
    grep -q 'kaohe-ranker.service: Command .*kaohe-ranker is not executable' "$TMP/verify.log" \
        || { cat "$TMP/verify.log" >&2; fail "verify did not name the missing ranker"; }
    mv "$TMP/kaohe-ranker.away" "$R$prefix/bin/kaohe-ranker"
    pass "systemd-analyze verify fails when an ExecStart binary is missing"
else
    echo "skip: systemd-analyze is not available (apt-get install systemd); units not verified"
fi

# --- the installed kaohe: init, up, down ------------------------------------
K=$R$prefix/bin/kaohe
export KAOHE_RULES=$R$prefix/share/kaohe/catalog.json
county=$R$confdir/county.json
nst=$(jq '.stations | length' "$county")

set +e
"$K" init -d "$D" >/dev/null 2>"$TMP/err"
rc=$?
set -e
expect_eq "init of a new directory without -c is a usage error" "$rc" "2"
[ ! -e "$D" ] || fail "the refused init left $D behind"

out=$("$K" init -c "$county" -d "$D" --json)
expect_eq "init: county installed, every key, the store" \
    "$(echo "$out" | jq -c '[.county_installed, .keys_created, .store_created, .stations]')" \
    "[true,$((nst + 6)),true,$nst]"
cmp -s "$county" "$D/county.json" || fail "init did not install the county"
expect_eq "data directory is 0700" "$(stat -c %a "$D")" "700"
[ -s "$D/store/data.mdb" ] || fail "init made no store"
expect_eq "one key per identity" "$("$K" keys list --json -d "$D" | jq -c 'map(.identity)')" \
    "$(jq -c '["admin","assessor","dispatch","legal","service"] + [.stations[].code | "station-" + .] | sort' "$county")"
snap() { (cd "$D" && find . -path ./log -prune -o -type f -print0 | sort -z | xargs -0 md5sum); }
before=$(snap)
out=$("$K" init -c "$county" -d "$D" --json)
expect_eq "init again: nothing to do" \
    "$(echo "$out" | jq -c '[.county_installed, .keys_created, .store_created]')" \
    "[false,0,false]"
expect_eq "init again: no file changed" "$(snap)" "$before"

jq '.stations[1].class = 7' "$county" >"$TMP/bad.json"
set +e
"$K" init -c "$TMP/bad.json" -d "$D" 2>"$TMP/err"
rc=$?
set -e
expect_eq "init refuses a bad county" "$rc" "1"
grep -q 'stations\[1\]\.class' "$TMP/err" || fail "the refusal names the field: $(cat "$TMP/err")"
expect_eq "the refused county changed nothing" "$(snap)" "$before"

# kaohe up on the prepared directory starts the scratch root's services.
"$K" up -d "$D" >/dev/null
for svc in scorer ranker ingest-dispatch ingest-legal ingest-station ingest-assessor; do
    pid=$(cat "$D/run/$svc.pid")
    exe=$(readlink "/proc/$pid/exe")
    base=${svc%%-*}
    expect_eq "$svc runs the installed binary" "$exe" "$R$prefix/bin/kaohe-$base"
done
grep -qF "rules=$KAOHE_RULES" "$D/log/scorer.log" || fail "the scorer did not load the installed catalog"
expect_eq "status: healthy" "$("$K" status -d "$D" --json | jq .healthy)" "true"
code=$(jq -r '.stations[0].code' "$county")
printf '{"id":"i1","source":"dispatch","type":"call","time":"2024-03-04T10:00:00+08:00","station":"%s","case_id":"K1","case_kind":"robbery","location":"street"}\n' \
    "$code" >"$TMP/one.jsonl"
"$K" feed "$TMP/one.jsonl" -d "$D" >/dev/null 2>&1 || fail "feed through the installed services"
expect_eq "rank: every station of the packaged county" \
    "$("$K" rank --year 2024 --json -d "$D" | jq -c '[.stations[].station] | sort')" \
    "$(jq -c '[.stations[].code] | sort' "$county")"
pids=$(cat "$D"/run/*.pid)
expect_eq "down stops all six" "$("$K" down -d "$D" --json | jq .stopped)" "6"
# Gone, or an exited zombie its adopting parent has not reaped yet.
for pid in $pids; do
    ! kill -0 "$pid" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] \
        || fail "service $pid still runs after down"
done
pass "installed kaohe: init, up, feed, rank, down"
