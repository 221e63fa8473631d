# shellcheck shell=bash
# Shared by the shell tests of channels (sourced after lib.sh): clients that
# stay connected in the background, and waiting for what they print.
#
#   background CMD...         runs CMD in the background until the test ends
#   nc_client OUT REQUEST     nc connected to orderd in the background, its
#                             output in OUT; sends REQUEST (printf format);
#                             the connection stays open until the test ends
#   await_lines FILE N        waits (at most 10 s) until FILE has N lines

BACKGROUND=()
NC_FIFO_OPEN=0

background() {
    "$@" &
    BACKGROUND+=($!)
}

stop_background() {
    local pid
    [ "$NC_FIFO_OPEN" -eq 0 ] || exec 3>&-
    NC_FIFO_OPEN=0
    for pid in "${BACKGROUND[@]}"; do
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    BACKGROUND=()
}
trap 'stop_background; cleanup' EXIT

# One per test: its input is a fifo held open on fd 3.
nc_client() {
    local out=$1 request=$2
    mkfifo "$TEST_TMP/nc.in"
    # Not through background(): its redirections would open the fifo in
    # this shell, which would wait for a writer forever.
    nc 127.0.0.1 "$PORT" <"$TEST_TMP/nc.in" >"$out" &
    BACKGROUND+=($!)
    exec 3>"$TEST_TMP/nc.in"
    NC_FIFO_OPEN=1
    # shellcheck disable=SC2059 # a format, as for resp_send
    printf "$request" >&3
}

await_lines() {
    local file=$1 n=$2 i
    for ((i = 0; i < 400; i++)); do
        [ "$(wc -l <"$file")" -ge "$n" ] && return 0
        sleep 0.025
    done
    echo "FAIL: $file has fewer than $n lines after 10 s:" >&2
    cat "$file" >&2
    exit 1
}
