#!/usr/bin/env bash
# Starting and stopping: --help and --version print and exit 0, a bad flag
# exits non-zero with a message; SIGTERM (or SIGINT) with clients connected
# ends orderd with status 0 promptly, closing idle clients and delivering
# every reply it had already produced.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

# run_orderd FLAGS...: prints "status=N", then stdout, then "stderr:" and stderr.
# The server it may start keeps nothing (--store memory), so no journal is
# left behind and no recovery line joins the output.
run_orderd() {
  local out err st
  out=$("$ORDERD" --store memory --http-port off "$@" 2>"$TEST_TMP/err" </dev/null)
  st=$?
  err=$(cat "$TEST_TMP/err")
  printf 'status=%s\n%s\nstderr:\n%s\n' "$st" "$out" "$err"
}

got=$(run_orderd --help)
expect "--help prints usage on stdout and exits 0" "$(printf '%s\n' "$got" | head -2)" \
  "$(printf '%s\n' 'status=0' 'usage: orderd [options]')"
expect "--help lists every flag" \
  "$(printf '%s\n' "$got" | grep -oE '^  --[a-z-]+' | tr -d ' ' | tr '\n' ' ')" \
  '--bind --port --max-clients --max-inline --max-bulk --max-args --max-request --max-output --max-output-pause --pubsub-hard-limit --pubsub-soft-limit --pubsub-soft-seconds --max-subscriptions --max-message --max-reply-payload --store --pg --pg-lease-ms --pg-timeout-ms --node-name --cache-orders --cache-ttl --data --fsync --repair --compact-min --journal-reserve --saga --sim --http-port --http-bind --http-max-header-bytes --http-max-headers --http-max-url --http-max-body --http-max-connections --http-idle-timeout --http-cors-origin --log-level --log-file --requirepass --acl-file --protected-mode --tls-port --tls-cert-file --tls-key-file --tls-ca-cert-file --tls-auth-clients --http-tls --timeout --maxmemory --worker-hard-limit --worker-soft-limit --worker-soft-seconds --max-channels --http-sse-heartbeat --http-max-streams --config --help --version '
expect "--help writes nothing on stderr" "$(printf '%s\n' "$got" | sed -n '/^stderr:$/,$p')" 'stderr:'
got=$(run_orderd --version)
expect "--version" "$(printf '%s\n' "$got" | sed -E 's/[0-9]+\.[0-9]+\.[0-9]+/X.Y.Z/')" \
  "$(printf '%s\n' 'status=0' 'orderd X.Y.Z' 'stderr:' '')"

# A bad flag: status 2 and a message naming the problem; no server runs.
bad_flag() {
  local name=$1 want=$2 got
  shift 2
  got=$(run_orderd "$@")
  expect "$name: status" "$(printf '%s\n' "$got" | head -1)" 'status=2'
  expect "$name: message" "$(printf '%s\n' "$got" | sed -n '/^stderr:$/{n;p;q}')" "$want"
}
bad_flag "unknown flag" "$ORDERD: unrecognized option '--bogus'" --bogus
bad_flag "flag without its value" \
  "$ORDERD: option '--max-inline' requires an argument" --max-inline
bad_flag "port out of range" "orderd: --port needs an integer from 0 to 65535, got '70000'" \
  --port 70000
bad_flag "port not a number" "orderd: --port needs an integer from 0 to 65535, got 'http'" \
  --port http
bad_flag "no clients" "orderd: --max-clients needs an integer from 1 to 1000000, got '0'" \
  --max-clients 0
bad_flag "tiny inline limit" "orderd: --max-inline needs an integer from 16 to 1073741824, got '15'" \
  --max-inline 15
bad_flag "negative request limit" \
  "orderd: --max-request needs an integer from 64 to 4294967296, got '-1'" --max-request -1
bad_flag "a stray argument" "orderd: unexpected argument 'serve'" serve
bad_flag "unknown store" "orderd: --store takes journal, memory or postgres, got 'sqlite'" \
  --store sqlite
bad_flag "cache flags without a store that loads" \
  "orderd: --cache-orders and --cache-ttl need --store postgres (the journal keeps every order in memory)" \
  --cache-orders 10
bad_flag "protected mode neither yes nor no" "orderd: --protected-mode takes yes or no, got 'off'" \
  --protected-mode off
bad_flag "a config file that is not there" \
  "orderd: $TEST_TMP/none.conf: No such file or directory" --config "$TEST_TMP/none.conf"
bad_flag "a config file without its path" \
  "$ORDERD: option '--config' requires an argument" --config
bad_flag "a tiny HTTP body limit" \
  "orderd: --http-max-body needs an integer from 64 to 1073741824, got '10'" --http-max-body 10
bad_flag "no HTTP connections" \
  "orderd: --http-max-connections needs an integer from 1 to 1000000, got '0'" \
  --http-max-connections 0
bad_flag "an HTTP idle timeout of nothing" \
  "orderd: --http-idle-timeout needs an integer from 1 to 86400, got '0'" --http-idle-timeout 0
bad_flag "two CORS origins" \
  "orderd: --http-cors-origin takes one origin (https://shop.example) or *, got 'a,b'" \
  --http-cors-origin a,b
bad_flag "a lease too short" "orderd: --pg-lease-ms needs an integer from 500 to 600000, got '100'" \
  --store postgres --pg-lease-ms 100
bad_flag "port neither a number nor off" \
  "orderd: --port needs an integer from 0 to 65535, got 'none'" --port none
bad_flag "TLS port out of range" \
  "orderd: --tls-port needs an integer from 0 to 65535, got '65536'" --tls-port 65536
bad_flag "TLS port without its files" \
  "orderd: --tls-port needs --tls-cert-file and --tls-key-file (missing: both)" --tls-port 0
bad_flag "TLS port without its key" \
  "orderd: --tls-port needs --tls-cert-file and --tls-key-file (missing: --tls-key-file)" \
  --tls-port 0 --tls-cert-file c.pem
bad_flag "HTTPS without a certificate" \
  "orderd: --http-tls yes needs --tls-cert-file and --tls-key-file (missing: --tls-cert-file)" \
  --http-port 0 --http-tls yes --tls-key-file k.pem
bad_flag "HTTPS without HTTP" \
  "orderd: --http-tls yes needs an HTTP port (--http-port is off)" --http-tls yes
bad_flag "a bad --http-tls" "orderd: --http-tls takes yes or no, got 'on'" --http-tls on
bad_flag "a bad --tls-auth-clients" \
  "orderd: --tls-auth-clients takes yes, no or optional, got 'maybe'" --tls-auth-clients maybe
bad_flag "client certificates without a CA" \
  "orderd: --tls-auth-clients yes needs --tls-ca-cert-file (the CA that signs client certificates)" \
  --tls-port 0 --tls-cert-file c.pem --tls-key-file k.pem --tls-auth-clients yes
bad_flag "TLS files with nothing to use them" \
  "orderd: the --tls-* files and --tls-auth-clients are used by --tls-port or --http-tls yes, and neither is given" \
  --tls-cert-file c.pem --tls-key-file k.pem
bad_flag "no port at all" "orderd: --port off needs --tls-port (no port would serve clients)" \
  --port off
bad_flag "negative idle timeout" "orderd: --timeout needs an integer from 0 to 31536000, got '-1'" \
  --timeout -1
bad_flag "maxmemory with a suffix" \
  "orderd: --maxmemory needs an integer from 0 to 281474976710656, got '1G'" --maxmemory 1G
bad_flag "tiny worker hard limit" \
  "orderd: --worker-hard-limit needs an integer from 1024 to 68719476736, got '100'" \
  --worker-hard-limit 100
bad_flag "worker soft limit not a number" \
  "orderd: --worker-soft-limit needs an integer from 1024 to 68719476736, got 'lots'" \
  --worker-soft-limit lots
bad_flag "worker soft seconds over a day" \
  "orderd: --worker-soft-seconds needs an integer from 0 to 86400, got '86401'" \
  --worker-soft-seconds 86401
bad_flag "a worker hard limit one reply passes" \
  "orderd: --worker-hard-limit (65536) must be above --max-reply-payload (4194304): one READ or CONSUME reply would cut a worker off" \
  --worker-hard-limit 65536
bad_flag "no channels" "orderd: --max-channels needs an integer from 1 to 10000000, got '0'" \
  --max-channels 0
bad_flag "no heartbeat" \
  "orderd: --http-sse-heartbeat needs an integer from 1 to 86400, got '0'" \
  --http-sse-heartbeat 0
bad_flag "no event streams" \
  "orderd: --http-max-streams needs an integer from 1 to 1000000, got '0'" \
  --http-max-streams 0
got=$(run_orderd --port 0 --bind not-an-address)
expect "unusable bind address" "$got" \
  "$(printf '%s\n' 'status=1' '' 'stderr:' "orderd: cannot parse bind address 'not-an-address'")"

# A port in use: the second server says so and exits 1.
start_orderd
got=$(run_orderd --port "$PORT")
expect "port in use" "$got" "$(printf '%s\n' 'status=1' '' 'stderr:' \
  "orderd: cannot listen on 127.0.0.1:$PORT: Address already in use")"

# SIGTERM with idle clients, two of them halfway through a request: each
# sees the connection closed (EOF, no reply for a half request), closes its
# end, and orderd exits 0 promptly, without waiting out its grace period.
idle=()
for i in 1 2 3; do
  exec {fd}<>/dev/tcp/127.0.0.1/"$PORT"
  printf 'PING\r\n' >&"$fd"
  IFS= read -r -t 10 line <&"$fd"
  expect "idle client $i served" "$line" $'+PONG\r'
  idle+=("$fd")
done
printf 'PING half' >&"${idle[2]}"
printf '*2\r\n$4\r\nPING\r\n$5\r\nab' >&"${idle[1]}"
kill -TERM "$ORDERD_PID"
for i in 0 1 2; do
  expect "idle client $((i + 1)) closed" "$(timeout 10 cat <&"${idle[$i]}"; echo "status=$?")" 'status=0'
  fd=${idle[$i]}; exec {fd}>&-
done
await_orderd_exit 3
grep -q 'event=shutdown signal=TERM' "$ORDERD_LOG" || { echo "FAIL: no shutdown logged" >&2; FAILED=1; }
grep -q 'event=stopped' "$ORDERD_LOG" || { echo "FAIL: no stop logged" >&2; FAILED=1; }
grep -q 'shutdown_forced' "$ORDERD_LOG" && { echo "FAIL: shutdown had to be forced" >&2; FAILED=1; }

# SIGINT, as from a terminal, stops it the same way.
start_orderd
exec {fd}<>/dev/tcp/127.0.0.1/"$PORT"
printf 'PING\r\n' >&"$fd"
IFS= read -r -t 10 line <&"$fd"
kill -INT "$ORDERD_PID"
expect "closed on SIGINT" "$(timeout 10 cat <&"$fd"; echo "status=$?")" 'status=0'
exec {fd}>&-
await_orderd_exit 3
grep -q 'event=shutdown signal=INT' "$ORDERD_LOG" || { echo "FAIL: no SIGINT logged" >&2; FAILED=1; }

# Replies already due are delivered. A client pipelines far more LISTs than
# it reads, so orderd holds rendered replies for it when SIGTERM comes. The
# client then reads: it gets the reply to every request that ran, whole and
# in order, then an orderly EOF. Run with requests that orderd has all read
# by then, and with more than it has read (still in its socket buffer).
cat >"$TEST_TMP/due.py" <<'EOF'
import os, signal, socket, sys, threading, time
sys.path.insert(0, sys.argv[1])
import redis
from harness import Reader, check, expect
port, pid, rounds = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

r = redis.Redis(port=port, decode_responses=True, socket_timeout=20)
r.response_callbacks.clear()
def commands_run():
    flat = r.execute_command("METRICS")
    return int(dict(zip(flat[::2], flat[1::2]))["total_commands"])

pipe = r.pipeline(transaction=False)
for i in range(100):
    pipe.execute_command("CREATE", "customer=%s%03d" % ("c" * 250, i),
                         "item=%s" % ("i" * 250), "qty=1", "amount=1")
pipe.execute()

before = last = commands_run()
slow = socket.create_connection(("127.0.0.1", port))
threading.Thread(target=lambda: slow.sendall(b"LIST\r\nPING x\r\n" * rounds),
                 daemon=True).start()

# Until orderd stops running the slow client's requests (INFO counts too):
# it then holds replies the client has not read.
polls = steady = 0
deadline = time.monotonic() + 60
while steady < 5:
    check("orderd pauses the slow client in time", time.monotonic() < deadline)
    n = commands_run()
    polls += 1
    steady = steady + 1 if n == last + 1 else 0
    last = n
    time.sleep(0.05)
ran = commands_run() - before - polls - 1  # at least this many ran
check("some requests ran", ran > 0)
check("not all requests ran", ran < 2 * rounds)

os.kill(pid, signal.SIGTERM)
open(sys.argv[5], "w").close()  # tells the shell the signal is sent
# Every reply that was due arrives whole, in order, then EOF. (A few more
# requests may have run between the last INFO and the signal.)
rd = Reader(slow)
got = 0
while True:
    line = rd.line()
    if line == b"" and rd.eof:
        break
    name = "reply %d (of at least %d due)" % (got + 1, ran)
    if not line.endswith(b"\r\n"):
        raise AssertionError("%s: the connection ended (%s) in its midst, with %r"
                             % (name, "reset" if rd.reset else "EOF", line[:40]))
    if got % 2 == 0:
        expect(name + ": a LIST", line, b"*100\r\n")
        for _ in range(100):
            line = rd.line()
            if not (line.startswith(b"id=") and line.endswith(b"Z\r\n")):
                raise AssertionError("%s: the connection ended (%s) in a record: %r"
                                     % (name, "reset" if rd.reset else "EOF", line[:40]))
    else:
        expect(name + ": a PING", line, b"x\r\n")
    got += 1
check("every reply due arrived", got >= ran, "only %d of %d" % (got, ran))
expect("closed by an orderly EOF, not a reset", rd.reset, False)
EOF
for rounds in 1000 100000; do  # 14 KB of requests (one read), 1.4 MB
  start_orderd --max-output 1048576  # pauses after 1 MiB: replies pile up unsent
  echo "replies due, $rounds pipelined LIST+PING pairs:" >&2
  rm -f "$TEST_TMP/signalled"
  "$PY" "$TEST_TMP/due.py" "$HERE" "$PORT" "$ORDERD_PID" "$rounds" "$TEST_TMP/signalled" || FAILED=1
  # If the client failed before it signalled. (Not twice: a second SIGTERM
  # during the grace period kills orderd outright.)
  [ -e "$TEST_TMP/signalled" ] || kill -TERM "$ORDERD_PID"
  await_orderd_exit 10
done
