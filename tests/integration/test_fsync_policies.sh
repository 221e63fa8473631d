#!/usr/bin/env bash
# --fsync always|everysec|no: each accepts writes and keeps them across a
# clean restart, and INFO names it; with always every acknowledged write
# was fsynced (journal_fsyncs grows with them), with no orderd never
# fsyncs. An unknown policy is refused. --store memory keeps nothing and
# writes no journal.
. "$(dirname "$0")/lib.sh"

# Sends inline requests (one per argument), prints the replies.
send() {
  printf '%s\r\n' "$@" | nc -N -w3 127.0.0.1 "$PORT" | tr -d '\r'
}

# One field of INFO.
info() {
  send METRICS | tr ' ' '\n' | sed -n "s/^$1=//p"
}

creates() {
  local i
  for i in 1 2 3; do
    printf 'CREATE customer=c%s item=sku qty=%s amount=%s.99 key=k%s\n' "$i" "$i" "$i" "$i"
  done
}

for policy in always everysec no; do
  data=$TEST_TMP/$policy
  start_orderd --saga off --data "$data" --fsync "$policy"
  expect "$policy: INFO names the store" "$(info store)" journal
  expect "$policy: INFO names the policy" "$(info fsync)" "$policy"
  mapfile -t reqs < <(creates)
  got=$(send "${reqs[@]}" "UPDATE 2 status=RESERVED" 'CANCEL 3 reason="too late"' | strip_times)
  expect "$policy: writes accepted" "$(printf '%s\n' "$got" | cut -d' ' -f1,2)" \
    "$(printf '%s\n' 'id=1 status=PENDING' 'id=2 status=PENDING' 'id=3 status=PENDING' \
      'id=2 status=RESERVED' 'id=3 status=CANCELLED')"
  before=$(send "GET 1" "GET 2" "GET 3" "HISTORY 3")
  expect "$policy: the answers to keep" \
    "$(printf '%s\n' "$before" | sed -E 's/^time=[^ ]+ //' | cut -d' ' -f1,2)" \
    "$(printf '%s\n' 'id=1 status=PENDING' 'id=2 status=RESERVED' 'id=3 status=CANCELLED' \
      '*2' 'from=(nil) to=PENDING' 'from=PENDING to=CANCELLED')"
  if [ "$policy" = always ]; then
    # Each request waits for its reply, so each was fsynced on its own.
    f0=$(info journal_fsyncs)
    for i in 4 5 6 7 8; do
      send "CREATE customer=c$i item=sku qty=1 amount=1.00" >/dev/null
    done
    f1=$(info journal_fsyncs)
    expect "always: an fsync per acknowledged write ($f0 -> $f1)" "$((f1 - f0 >= 5))" 1
  fi
  if [ "$policy" = everysec ]; then
    # The once-a-second fsync comes (waited for, bounded).
    for ((i = 0; i < 100; i++)); do
      [ "$(info journal_fsyncs)" -gt 0 ] && break
      sleep 0.1
    done
    expect "everysec: the writes were fsynced" "$(($(info journal_fsyncs) > 0))" 1
  fi
  if [ "$policy" = no ]; then
    expect "no: orderd never fsyncs" "$(info journal_fsyncs)" 0
  fi
  last=$(info orders)
  stop_orderd

  start_orderd --saga off --data "$data" --fsync "$policy"
  expect "$policy: every order after the restart" "$(info orders)" "$last"
  expect "$policy: the same answers after the restart" \
    "$(send "GET 1" "GET 2" "GET 3" "HISTORY 3")" "$before"
  expect "$policy: the key still replays" \
    "$(send "$(creates | sed -n 2p)" | tr ' ' '\n' | grep -E '^(id|replayed)=' | tr '\n' ' ')" \
    'id=2 replayed=1 '
  stop_orderd
done

# A policy orderd does not know: a clear message, status 2, nothing created.
err=$("$ORDERD" --port "$(free_port)" --data "$TEST_TMP/bad" --fsync sometimes 2>&1 >/dev/null)
expect "--fsync sometimes: status" "$?" 2
expect "--fsync sometimes: message" "$err" \
  "orderd: --fsync takes always, everysec or no, got 'sometimes'"
expect "--fsync sometimes: no data directory" \
  "$([ -e "$TEST_TMP/bad" ] && echo made || echo none)" none

# --store memory: nothing kept, no journal written.
start_orderd --data "$TEST_TMP/mem" --store memory
expect "memory: INFO names the store" "$(info store)" memory
got=$(send "$(creates | sed -n 1p)" | cut -d' ' -f1,2)
expect "memory: writes accepted" "$got" "id=1 status=PENDING"
stop_orderd
start_orderd --data "$TEST_TMP/mem" --store memory
expect "memory: nothing after a restart" "$(send "GET 1")" "-NOTFOUND order 1 does not exist"
expect "memory: no orders" "$(info orders)" 0
expect "memory: no journal" "$(find "$TEST_TMP/mem" -name 'journal*' 2>/dev/null)" ""
stop_orderd
