#!/usr/bin/env bash
# redis-cli as a subscriber: SUBSCRIBE order.status sees the subscribe
# confirmation and the status event in Redis's shapes; PSUBSCRIBE 'order.*'
# sees both the created and the status event as pmessages.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/chanlib.sh"

# Field of an event's JSON, read by a real JSON parser.
json_fields() {
    "$PY" -c '
import json, sys
e = json.loads(sys.stdin.read())
print(" ".join(str(e[k]) for k in sys.argv[1:]))' "$@"
}

start_orderd --saga off

background redis-cli -p "$PORT" SUBSCRIBE order.status >"$TEST_TMP/sub.out" 2>&1
background redis-cli -p "$PORT" PSUBSCRIBE 'order.*' >"$TEST_TMP/psub.out" 2>&1
await_lines "$TEST_TMP/sub.out" 3
await_lines "$TEST_TMP/psub.out" 3
expect "subscribe confirmation" "$(cat "$TEST_TMP/sub.out")" "$(printf '%s\n' subscribe order.status 1)"
expect "psubscribe confirmation" "$(cat "$TEST_TMP/psub.out")" "$(printf '%s\n' psubscribe 'order.*' 1)"

got=$(redis-cli -p "$PORT" CREATE customer=alice item=book qty=1 amount=19.99 | head -4)
expect "create" "$got" "$(printf '%s\n' id 1 status PENDING)"
got=$(redis-cli -p "$PORT" UPDATE 1 status=RESERVED | head -4)
expect "update" "$got" "$(printf '%s\n' id 1 status RESERVED)"
# A marker after the events: whatever comes before it is all they caused.
expect "publish marker" "$(redis-cli -p "$PORT" PUBLISH order.status end)" 2

await_lines "$TEST_TMP/sub.out" 9
expect "subscriber saw one status message, then the marker" \
    "$(sed 6d "$TEST_TMP/sub.out")" \
    "$(printf '%s\n' subscribe order.status 1 message order.status message order.status end)"
expect "order.status event" "$(sed -n 6p "$TEST_TMP/sub.out" | json_fields type order_id status previous)" \
    "order.status 1 RESERVED PENDING"

await_lines "$TEST_TMP/psub.out" 15
expect "psubscriber saw created, status, then the marker" \
    "$(sed '7d;11d' "$TEST_TMP/psub.out")" \
    "$(printf '%s\n' psubscribe 'order.*' 1 \
        pmessage 'order.*' order.created \
        pmessage 'order.*' order.status \
        pmessage 'order.*' order.status end)"
expect "order.created event" "$(sed -n 7p "$TEST_TMP/psub.out" | json_fields event_id type status previous)" \
    "1 order.created PENDING None"
expect "order.status event" "$(sed -n 11p "$TEST_TMP/psub.out" | json_fields event_id type status previous)" \
    "2 order.status RESERVED PENDING"
