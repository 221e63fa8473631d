#!/usr/bin/env bash
# Protected mode: with nobody to authenticate, orderd listens on loopback
# addresses only. Asked to listen on 0.0.0.0 (protocol or HTTP port) it
# refuses to start, says why and how to fix it, and binds nothing; with a
# password, an ACL file or --protected-mode no it starts.
. "$(dirname "$0")/lib.sh"

# refused NAME FLAGS...: orderd exits 1 at once with the protected-mode message.
refused() {
  local name=$1 out status
  shift
  out=$("$ORDERD" --store memory --port 0 --http-port 0 "$@" 2>&1)
  status=$?
  expect "$name: status" "$status" 1
  case $out in
    *"protected mode: refusing to listen on 0.0.0.0"*"Set --requirepass or --acl-file, or listen on 127.0.0.1, or, on a network you trust, pass --protected-mode no"*) ;;
    *) expect "$name: message" "$out" "protected mode: ..." ;;
  esac
}

refused "protocol port on 0.0.0.0" --bind 0.0.0.0
refused "HTTP port on 0.0.0.0" --http-bind 0.0.0.0
out=$("$ORDERD" --store memory --port 0 --bind :: 2>&1)
case $out in *"refusing to listen on :: (--bind)"*) ;; *) expect "::" "$out" "refused" ;; esac

# starts NAME FLAGS...: orderd starts (its log says so) and stops cleanly.
starts() {
  local name=$1 log=$TEST_TMP/starts.log pid i status
  shift
  : >"$log"
  "$ORDERD" --store memory --port 0 --http-port 0 "$@" 2>"$log" &
  pid=$!
  for i in $(seq 1 400); do
    grep -q "event=started" "$log" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.025
  done
  expect "$name: started" "$(grep -c "event=started" "$log")" 1
  kill -TERM "$pid" 2>/dev/null
  wait "$pid"
  status=$?
  expect "$name: exit status" "$status" 0
}

# Loopback, in every spelling, needs no password.
for addr in 127.0.0.1 127.0.0.2 ::1 ::ffff:127.0.0.1; do
  starts "--bind $addr" --bind "$addr"
done

# A password, an ACL file, or an explicit no: it starts, on every address.
start_orderd --store memory --bind 0.0.0.0 --requirepass s3cret
expect "NOAUTH over the open port" "$(redis-cli -p "$PORT" GET 1)" "NOAUTH authentication required"
stop_orderd
printf 'user ops on >ops-pw +@operator\n' >"$TEST_TMP/users.acl"
start_orderd --store memory --bind 0.0.0.0 --http-bind 0.0.0.0 --acl-file "$TEST_TMP/users.acl"
stop_orderd
start_orderd --store memory --bind 0.0.0.0 --protected-mode no
expect "served without a password" "$(redis-cli -p "$PORT" PING)" "PONG"
stop_orderd

# Users that cannot be read are a start-up error, not an open server.
printf 'user ops on +@nope\n' >"$TEST_TMP/bad.acl"
out=$("$ORDERD" --store memory --port 0 --acl-file "$TEST_TMP/bad.acl" 2>&1)
expect "a bad ACL file" "$out" "orderd: $TEST_TMP/bad.acl:1: unknown role in '+@nope' (admin, operator, client, worker or all)"
out=$("$ORDERD" --store memory --port 0 --acl-file "$TEST_TMP/none.acl" 2>&1)
expect "a missing ACL file" "$out" "orderd: --acl-file $TEST_TMP/none.acl: No such file or directory"
