#!/usr/bin/env bash
# stores: journal postgres
# From nc, inline: a message NACKed maxdeliver (5) times goes to the DLQ
# with its reason, to jobs.DLT, and is announced on `dlq`; DLQ REPLAY puts
# it back with a fresh delivery count, and that is announced too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/chanlib.sh"

start_orderd

# A subscriber to `dlq`, connected until the end.
nc_client "$TEST_TMP/sub.out" 'SUBSCRIBE dlq\r\n'
await_lines "$TEST_TMP/sub.out" 1
expect "subscribed" "$(cat "$TEST_TMP/sub.out")" "$(printf 'SUBSCRIBE dlq 1\r')"

fail_once='CONSUME jobs group=g consumer=w\r\nNACK jobs group=g 1 delay=0 reason="card declined"\r\n'
got=$(resp_send "CHANNEL CREATE jobs maxdeliver=5\r\nPUBLISH jobs charge-42\r\n$fail_once$fail_once$fail_once$fail_once$fail_once" | strip_times)
expect "five deliveries, five NACKs" "$got" "$(printf '%s\r\n' \
  '+OK' ':0' \
  '*1' 'id=1 deliveries=1 time=<time> payload=charge-42' ':1' \
  '*1' 'id=1 deliveries=2 time=<time> payload=charge-42' ':1' \
  '*1' 'id=1 deliveries=3 time=<time> payload=charge-42' ':1' \
  '*1' 'id=1 deliveries=4 time=<time> payload=charge-42' ':1' \
  '*1' 'id=1 deliveries=5 time=<time> payload=charge-42' ':1')"

got=$(resp_send 'CONSUME jobs group=g consumer=w\r\nDLQ LIST\r\nDLQ SHOW 1\r\nREAD jobs.DLT\r\n' | strip_times)
expect "dead-lettered" "$got" "$(printf '%s\r\n' \
  '*0' \
  '*1' 'id=1 channel=jobs group=g offset=1 reason="card declined" deliveries=5 replays=0 published=<time> first_delivery=<time> last_delivery=<time> dead_since=<time>' \
  'id=1 channel=jobs group=g offset=1 reason="card declined" deliveries=5 replays=0 published=<time> first_delivery=<time> last_delivery=<time> dead_since=<time> payload=charge-42' \
  '*1' 'id=1 time=<time> payload=charge-42')"

await_lines "$TEST_TMP/sub.out" 2
expect "dlq event: dead-lettered" "$(sed -n 2p "$TEST_TMP/sub.out" | strip_times)" \
  "$(printf '%s\r' 'MSG dlq {"event":"dead-lettered","id":1,"channel":"jobs","group":"g","offset":1,"reason":"card declined","deliveries":5,"replays":0,"time":"<time>"}')"

got=$(resp_send 'DLQ REPLAY ALL\r\nCONSUME jobs group=g consumer=w\r\nACK jobs group=g 1\r\nDLQ LIST\r\nDLQ PURGE ALL\r\nDLQ SHOW 1\r\nGROUPS jobs\r\n' | strip_times)
expect "replayed, consumed afresh, acked" "$got" "$(printf '%s\r\n' \
  ':1' \
  '*1' 'id=1 deliveries=1 time=<time> payload=charge-42' \
  ':1' \
  '*0' \
  ':0' \
  '-NOTFOUND dead letter 1 does not exist' \
  '*1' 'group=g consumers=1 pending=0 lag=0 committed=1 next=2 waiting=0')"

await_lines "$TEST_TMP/sub.out" 3
expect "dlq event: replayed" "$(sed -n 3p "$TEST_TMP/sub.out" | strip_times)" \
  "$(printf '%s\r' 'MSG dlq {"event":"replayed","id":1,"channel":"jobs","group":"g","offset":1,"reason":"card declined","deliveries":5,"replays":0,"time":"<time>"}')"
