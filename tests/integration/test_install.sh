#!/usr/bin/env bash
# make install DESTDIR=<tmp> PREFIX=/usr lays out every file with its mode
# (the binaries $ORDERD was built with, the unit with the prefix's paths in
# it, the example config, the docs and the OpenAPI document, the Grafana
# dashboards if any); the
# installed orderd runs, and serves with the example config; a second
# install keeps a config that is there; systemd-analyze verify passes on the
# installed unit, which holds each of its sandboxing settings; make
# uninstall takes everything back but the config.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$LIB_DIR/../.." && pwd)

# The flavour of $ORDERD: the install is of the same binaries.
case $ORDERD in
  "$ROOT/bin/orderd") flavour=() ;;
  "$ROOT/build/asan/bin/orderd") flavour=(SAN=1) ;;
  *) echo "FAIL: ORDERD=$ORDERD is neither $ROOT/bin/orderd nor the ASan build's" >&2; exit 1 ;;
esac
command -v systemd-analyze >/dev/null || { echo "FAIL: no systemd-analyze (scripts/deps installs systemd)" >&2; exit 1; }

DEST=$TEST_TMP/dest
make_install() {
  if ! make -C "$ROOT" --no-print-directory "${flavour[@]}" "$@" DESTDIR="$DEST" PREFIX=/usr \
       >"$TEST_TMP/make.log" 2>&1; then
    echo "FAIL: make $*:" >&2
    cat "$TEST_TMP/make.log" >&2
    exit 1
  fi
}
make_install install

# Every file, with its mode, and nothing else.
want=$(
  {
    for b in orderbench orderd ordertop; do echo "755 usr/bin/$b"; done
    echo "644 usr/lib/systemd/system/orderd.service"
    echo "600 etc/orderd/orderd.conf"
    echo "644 usr/share/doc/orderd/README.md"
    for f in "$ROOT"/docs/*.md "$ROOT"/docs/openapi.json; do
      echo "644 usr/share/doc/orderd/docs/$(basename "$f")"
    done
    for f in "$ROOT"/docs/grafana/*.json; do
      [ -e "$f" ] && echo "644 usr/share/orderd/grafana/$(basename "$f")"
    done
  } | sort -k2)
expect "the installed files and their modes" \
  "$(cd "$DEST" && find . -type f -printf '%m %P\n' | sort -k2)" "$want"
for b in orderd ordertop orderbench; do
  cmp -s "$(dirname "$ORDERD")/$b" "$DEST/usr/bin/$b" ||
    { echo "FAIL: usr/bin/$b is not $(dirname "$ORDERD")/$b" >&2; FAILED=1; }
done
cmp -s "$ROOT/systemd/orderd.conf" "$DEST/etc/orderd/orderd.conf" ||
  { echo "FAIL: the config is not systemd/orderd.conf" >&2; FAILED=1; }
for f in README.md "$ROOT"/docs/*.md "$ROOT"/docs/openapi.json; do
  f=${f#"$ROOT"/}
  cmp -s "$ROOT/$f" "$DEST/usr/share/doc/orderd/$f" || { echo "FAIL: $f differs" >&2; FAILED=1; }
done

expect "the installed orderd runs" \
  "$("$DEST/usr/bin/orderd" --version 2>&1 | sed -E 's/[0-9]+\.[0-9]+\.[0-9]+/X.Y.Z/')" \
  'orderd X.Y.Z'

# The example config is one orderd takes: it serves with it (its data
# directory and ports moved to this test's by flags, which override it).
ORDERD=$DEST/usr/bin/orderd start_orderd --config "$DEST/etc/orderd/orderd.conf"
expect "served with the example config" "$(resp_send 'PING\r\n')" $'+PONG\r'
stop_orderd

# The unit: the prefix's paths, and each sandboxing setting.
unit=$DEST/usr/lib/systemd/system/orderd.service
expect "the unit starts the installed orderd on its config" \
  "$(grep -E '^(ExecStart|LoadCredential)=' "$unit")" \
  "$(printf '%s\n' 'ExecStart=/usr/bin/orderd --config ${CREDENTIALS_DIRECTORY}/orderd.conf' \
                   'LoadCredential=orderd.conf:/etc/orderd/orderd.conf')"
grep -qE "@[A-Z]+@" "$unit" && { echo "FAIL: a placeholder is left in the unit: $(grep -E "@[A-Z]+@" "$unit")" >&2; FAILED=1; }
for line in Type=notify DynamicUser=yes StateDirectory=orderd ProtectSystem=strict \
            ProtectHome=yes PrivateTmp=yes NoNewPrivileges=yes \
            'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
            SystemCallFilter=@system-service MemoryDenyWriteExecute=yes LimitNOFILE=65536 \
            WatchdogSec=30s Restart=on-failure TimeoutStopSec=2min; do
  grep -qxF "$line" "$unit" || { echo "FAIL: the unit has no line $line" >&2; FAILED=1; }
done

# systemd-analyze verify, in a root that is the installed tree and the
# host's targets (the unit's dependencies), not the host: it loads the unit
# as systemd would, checks every setting and that ExecStart's binary is
# there. A warning (an unknown or malformed setting) is printed, not
# returned: anything printed fails the test.
vroot=$TEST_TMP/vroot
cp -a "$DEST" "$vroot"
mkdir -p "$vroot/lib/systemd/system"
cp /lib/systemd/system/*.target "$vroot/lib/systemd/system/"
got=$(systemd-analyze verify --root="$vroot" orderd.service 2>&1)
expect "systemd-analyze verify: status" "$?" 0
expect "systemd-analyze verify: says nothing" "$got" ""
# It fails with a unit it cannot start (the check can fail).
rm "$vroot/usr/bin/orderd"
systemd-analyze verify --root="$vroot" orderd.service >/dev/null 2>&1 &&
  { echo "FAIL: systemd-analyze verify passes without the binary" >&2; FAILED=1; }
# The sandbox's exposure, as systemd rates it (0 safe .. 10 exposed; the
# threshold is in tenths).
cp -a "$DEST/usr/bin/orderd" "$vroot/usr/bin/orderd"
systemd-analyze security --offline=true --root="$vroot" --threshold=20 orderd.service \
  >"$TEST_TMP/security" 2>&1 ||
  { echo "FAIL: the unit's exposure is over 2:" >&2; tail -n 3 "$TEST_TMP/security" >&2; FAILED=1; }

# A config that is there is kept.
echo "port 7171" >"$DEST/etc/orderd/orderd.conf"
make_install install
expect "a second install keeps the config" "$(cat "$DEST/etc/orderd/orderd.conf")" "port 7171"

make_install uninstall
expect "uninstall leaves only the config" \
  "$(cd "$DEST" && find . -type f -printf '%P\n')" "etc/orderd/orderd.conf"
