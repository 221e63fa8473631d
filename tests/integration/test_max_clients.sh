#!/usr/bin/env bash
# --max-clients: past the limit a new connection gets one error line and is
# closed; once a client leaves, there is room again; METRICS counts refusals.
. "$(dirname "$0")/lib.sh"
start_orderd --max-clients 3

# connect VAR: opens a connection on a new descriptor stored in VAR.
connect() { exec {fd}<>/dev/tcp/127.0.0.1/"$PORT" && printf -v "$1" '%s' "$fd"; }
# ask FD REQUEST: sends one inline request, prints its one-line reply.
ask() {
  local line
  printf '%s\r\n' "$2" >&"$1"
  IFS= read -r -t 10 line <&"$1" || { echo "<no reply>"; return; }
  printf '%s\n' "${line%$'\r'}"
}
# The value of NAME in the text-rendered METRICS record.
info_field() { ask "$1" METRICS | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# Prints what the server sends until it closes, or <open> if it does not.
until_closed() {
  local out line
  out=$(while IFS= read -r -t 10 line; do printf '%s\n' "${line%$'\r'}"; done <&"$1"
        st=$?; [ "$st" -gt 128 ] && echo "<open>")
  printf '%s\n' "$out"
}

# wait_clients FD N: until METRICS on FD says N clients are connected.
wait_clients() {
  for _ in $(seq 1 200); do
    [ "$(info_field "$1" connected_clients)" = "$2" ] && return
    sleep 0.025
  done
}

connect c1
expect "client 1 is served" "$(ask "$c1" PING)" '+PONG'
# start_orderd's probe connection counts until the server sees it close.
wait_clients "$c1" 1
connect c2; connect c3
expect "client 2 is served" "$(ask "$c2" PING)" '+PONG'
expect "client 3 is served" "$(ask "$c3" PING)" '+PONG'

connect c4
expect "a 4th client is refused and closed" "$(until_closed "$c4")" '-LIMIT too many clients (max 3)'
exec {c4}>&-
expect "clients after the refusal" "$(info_field "$c1" connected_clients)" 3
expect "refusals counted" "$(info_field "$c1" rejected_connections)" 1
expect "refusals are not connections (the probe and 3)" \
  "$(info_field "$c1" total_connections)" 4
expect "the others are still served" "$(ask "$c2" PING)" '+PONG'

# Client 3 leaves; once the server has seen it go, a new client fits.
exec {c3}>&-
wait_clients "$c1" 2
expect "client 3 gone" "$(info_field "$c1" connected_clients)" 2
connect c5
expect "a new client is served" "$(ask "$c5" PING)" '+PONG'
expect "full again" "$(info_field "$c1" connected_clients)" 3
expect "still one refusal" "$(info_field "$c1" rejected_connections)" 1

# Full again: the next one is refused too; QUIT makes room as well.
connect c6
expect "a client past the limit again" "$(until_closed "$c6")" '-LIMIT too many clients (max 3)'
exec {c6}>&-
expect "two refusals" "$(info_field "$c1" rejected_connections)" 2
expect "quit" "$(ask "$c5" QUIT)" '+OK'
expect "quit closes" "$(until_closed "$c5")" ''
exec {c5}>&-
wait_clients "$c1" 2
connect c7
expect "room after a quit" "$(ask "$c7" PING)" '+PONG'
expect "connections accepted in all" "$(info_field "$c1" total_connections)" 6
exec {c1}>&- {c2}>&- {c7}>&-
