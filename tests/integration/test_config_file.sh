#!/usr/bin/env bash
# orderd --config <file>: a server started with the file alone serves as it
# says (its port, its data directory, a quoted value with a blank); a flag
# given overrides the file, before --config or after it; a key that is not
# a flag, a bad value or a malformed line stops orderd at start-up with the
# file and the line named.
. "$(dirname "$0")/lib.sh"

# start_with ARGS...: orderd with these arguments only (not start_orderd's
# --port and --data), waited for on port $1 (the one it should serve on).
start_with() {
  local port=$1
  shift
  "$ORDERD" "$@" 2>>"$ORDERD_LOG" </dev/null &
  ORDERD_PID=$!
  if ! wait_port "$port"; then
    echo "FAIL: orderd did not serve on port $port; its log:" >&2
    cat "$ORDERD_LOG" >&2
    exit 1
  fi
  PORT=$port
}

listening() {
  (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null
}

P=$(free_port)
Q=$(free_port)
conf=$TEST_TMP/orderd.conf
cat >"$conf" <<CONF
# orderd's settings for this test

port $P
   # the journal, in a directory whose name has a blank
data "$TEST_TMP/data dir"
http-port off
fsync always
repair no
CONF

start_with "$P" --config "$conf"
expect "served on the file's port" "$(resp_send 'PING\r\n')" $'+PONG\r'
resp_send 'CREATE customer=a item=b qty=1 amount=1\r\n' >/dev/null
expect "the journal is in the file's data directory" \
  "$(ls "$TEST_TMP/data dir")" 'journal'
expect "the file's fsync policy" "$(resp_send 'INFO store\r\n' | tr -d '\r' | grep '^fsync:')" \
  'fsync:always'
stop_orderd

# A flag overrides the file, wherever --config is.
start_with "$Q" --config "$conf" --port "$Q" --fsync no
expect "--port after --config wins" "$(resp_send 'PING\r\n')" $'+PONG\r'
listening "$P" && { echo "FAIL: orderd listens on the file's port too" >&2; FAILED=1; }
expect "the other flag wins too" "$(resp_send 'INFO store\r\n' | tr -d '\r' | grep '^fsync:')" \
  'fsync:no'
stop_orderd
start_with "$Q" --port "$Q" --config "$conf"
expect "--port before --config wins" "$(resp_send 'PING\r\n')" $'+PONG\r'
expect "the file still sets the rest" \
  "$(resp_send 'INFO store\r\n' | tr -d '\r' | grep '^fsync:')" 'fsync:always'
stop_orderd

# bad_config NAME LINES WANT: a file of LINES (a few good ones first, so the
# line number counts) stops orderd with status 2 and the message WANT.
bad_config() {
  local name=$1 lines=$2 want=$3 got st
  printf '# good lines first\nstore memory\n\nhttp-port off\n%s\n' "$lines" >"$TEST_TMP/bad.conf"
  got=$(timeout 20 "$ORDERD" --config "$TEST_TMP/bad.conf" --port "$P" 2>&1 </dev/null)
  st=$?
  expect "$name: status" "$st" 2
  expect "$name: message" "$got" "$want"
}
bad_config "unknown key" "prot 7070" "orderd: $TEST_TMP/bad.conf:5: unknown key 'prot'"
bad_config "an abbreviation" "por 7070" "orderd: $TEST_TMP/bad.conf:5: unknown key 'por'"
bad_config "bad value" "max-clients 0" \
  "$(printf '%s\n' "orderd: --max-clients needs an integer from 1 to 1000000, got '0'" \
                   "orderd: $TEST_TMP/bad.conf:5: bad value for 'max-clients'")"
bad_config "bad value, quoted" 'store "sqlite"' \
  "$(printf '%s\n' "orderd: --store takes journal, memory or postgres, got 'sqlite'" \
                   "orderd: $TEST_TMP/bad.conf:5: bad value for 'store'")"
bad_config "a key without its value" "fsync" "orderd: $TEST_TMP/bad.conf:5: 'fsync' needs a value"
bad_config "a flag neither yes nor no" "repair 1" \
  "orderd: $TEST_TMP/bad.conf:5: 'repair' takes yes or no, got '1'"
bad_config "an unclosed quote" 'data "/var/lib/orderd' \
  "orderd: $TEST_TMP/bad.conf:5: the value's opening quote is not closed at the end of the line"
bad_config "a config file naming another" "config /etc/orderd/other.conf" \
  "orderd: $TEST_TMP/bad.conf:5: 'config' is for the command line, not a config file"
