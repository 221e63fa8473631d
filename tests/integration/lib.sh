# Shared by the integration tests (sourced). Starts the real orderd on a
# free port and stops it at exit, failing the test if the server did not
# exit cleanly (a sanitizer report, a crash, a non-zero status).
#
#   start_orderd [flags...]   sets PORT and ORDERD_PID; stderr goes to $ORDERD_LOG;
#                             with ORDERD_STORE=postgres, on PostgreSQL (pg_store_args)
#   stop_orderd               SIGTERM, wait, check exit status and log
#   await_orderd_exit SECS    after the test signalled it: wait at most SECS
#                             for orderd to exit, then check as stop_orderd
#   expect NAME GOT WANT      compare, print a diff and fail on mismatch
#   resp_send BYTES...        printf the bytes to the server, print the reply

set -uo pipefail
: "${ORDERD:?ORDERD must name the orderd binary}"
ORDERD=$(realpath "$ORDERD")
PY=/usr/bin/python3   # Debian's python3, which has python3-redis
LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PG_DATA_DIRS=()       # data dirs a PostgreSQL database stood for (ORDERD_STORE=postgres)
TEST_TMP=$(mktemp -d)
ORDERD_LOG=$TEST_TMP/orderd.log
ORDERD_PID=
PORT=
FAILED=0

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
    local port=$1 i
    for i in $(seq 1 200); do
        (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return 0
        sleep 0.025
    done
    return 1
}

start_orderd() {
    PORT=$(free_port)
    # Each server keeps its journal in the test's own temp dir, unless the
    # test names one (restart tests pass the same --data twice).
    local data=(--data "$TEST_TMP/data") http=(--http-port 0) args=("$@")
    case " $* " in *" --data "*|*" --store memory "*) data=() ;; esac
    # The runner's PostgreSQL pass: a database stands for the data dir.
    case " $* " in *" --store "*) ;; *) [ "${ORDERD_STORE:-}" != postgres ] || pg_store_args "$@" ;; esac
    # The HTTP side door on a free port too, unless the test picks one.
    case " $* " in *" --http-port "*) http=() ;; esac
    "$ORDERD" --port "$PORT" "${data[@]}" "${http[@]}" "${args[@]}" 2>>"$ORDERD_LOG" &
    ORDERD_PID=$!
    if ! wait_port "$PORT"; then
        echo "orderd did not start; its log:" >&2
        cat "$ORDERD_LOG" >&2
        exit 1
    fi
}

# For start_orderd with ORDERD_STORE=postgres (and ORDERD_PG_BASE, the
# conninfo of a running cluster): sets data to `--store postgres --pg
# <conninfo>` on a database named after the data dir the server would have
# used (the test's --data, taken out of args, or $TEST_TMP/data), made if
# missing; a server restarted on the same --data finds the same database.
# See pglib.py.
pg_store_args() {
    local dir=$TEST_TMP/data conninfo
    args=()
    while [ $# -gt 0 ]; do
        if [ "$1" = --data ] && [ $# -ge 2 ]; then
            dir=$2
            shift 2
        else
            args+=("$1")
            shift
        fi
    done
    if ! conninfo=$("$PY" "$LIB_DIR/pglib.py" orderd-conninfo "$dir"); then
        echo "FAIL: no PostgreSQL database for orderd (ORDERD_STORE=postgres)" >&2
        exit 1
    fi
    # Named after the data dir: started again on it, it takes its lease back.
    data=(--store postgres --pg "$conninfo" --node-name "o-$(basename "$dir")-$$")
    case " ${PG_DATA_DIRS[*]} " in *" $dir "*) ;; *) PG_DATA_DIRS+=("$dir") ;; esac
}

stop_orderd() {
    [ -n "$ORDERD_PID" ] || return 0
    local pid=$ORDERD_PID status
    ORDERD_PID=
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
    status=$?
    check_orderd_exit "$status"
}

# Fails the test unless orderd exited with status 0 and a clean log.
check_orderd_exit() {
    local status=$1
    if [ "$status" -ne 0 ] || grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$ORDERD_LOG"; then
        echo "FAIL: orderd exited with status $status; its log:" >&2
        cat "$ORDERD_LOG" >&2
        FAILED=1
        return 1
    fi
}

# True while the process is alive (an exited child not yet reaped is not).
running() {
    local state
    state=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' /proc/"$1"/stat 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

await_orderd_exit() {
    local secs=$1 pid=$ORDERD_PID status i
    [ -n "$pid" ] || return 0
    ORDERD_PID=
    for ((i = 0; i < secs * 40; i++)); do
        running "$pid" || break
        sleep 0.025
    done
    if running "$pid"; then
        echo "FAIL: orderd still running ${secs}s after the signal; its log:" >&2
        cat "$ORDERD_LOG" >&2
        kill -KILL "$pid" 2>/dev/null
        wait "$pid"
        FAILED=1
        return 1
    fi
    wait "$pid"
    status=$?
    check_orderd_exit "$status"
}

cleanup() {
    stop_orderd
    drop_pg_databases
    rm -rf "$TEST_TMP"
    [ "$FAILED" -eq 0 ] || exit 1
}

# The databases that stood for data dirs in the test's temp dir go with it.
drop_pg_databases() {
    local dir
    for dir in "${PG_DATA_DIRS[@]}"; do
        case $dir in
            "$TEST_TMP"/*) "$PY" "$LIB_DIR/pglib.py" drop-orderd-db "$dir" || true ;;
        esac
    done
    PG_DATA_DIRS=()
}

trap cleanup EXIT

expect() {
    local name=$1 got=$2 want=$3
    if [ "$got" != "$want" ]; then
        echo "FAIL: $name" >&2
        diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") >&2 || true
        FAILED=1
        return 1
    fi
}

# Sends raw bytes (printf format) and prints everything the server answers
# until it closes or goes quiet for a moment.
resp_send() {
    printf "$@" | nc -N -w3 127.0.0.1 "$PORT"
}

# Drops the timestamps from text-rendered replies so they compare stably.
strip_times() {
    sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z/<time>/g'
}
