#!/usr/bin/env bash
# stores: journal postgres
# redis-cli as a client: RESP requests, records as flat key/value lists,
# errors with their codes; the order lifecycle, listing, idempotency keys
# and money validation as a Redis user sees them.
. "$(dirname "$0")/lib.sh"
start_orderd --saga off

# redis-cli without a terminal prints one value a line ("raw" output) and
# an error as its text; nested lists come out flattened.
cli() { redis-cli -p "$PORT" "$@" | strip_times; }
# The value after the line "$1" in raw output: a record's field.
field() { awk -v k="$1" 'prev == k { print; exit } { prev = $0 }'; }
# Every order id in raw output (LIST): the line after each "id".
ids() { awk 'prev == "id" { printf "%s ", $0 } { prev = $0 } END { print "" }'; }
record() { printf '%s\n' "$@"; }

expect "create prints the record" "$(cli CREATE customer=bob item=pen qty=2 amount=3.50)" "$(record \
  id 1 status PENDING customer bob item pen qty 2 amount 3.50 currency USD \
  created '<time>' updated '<time>')"
expect "get prints the same record" "$(cli GET 1)" "$(record \
  id 1 status PENDING customer bob item pen qty 2 amount 3.50 currency USD \
  created '<time>' updated '<time>')"

expect "get a missing order" "$(cli GET 999)" 'NOTFOUND order 999 does not exist'
if command -v script >/dev/null; then
  # With a terminal redis-cli marks errors as such.
  got=$(script -qc "redis-cli -p $PORT GET 999" /dev/null </dev/null | tr -d '\r')
  expect "get a missing order, on a terminal" "$got" '(error) NOTFOUND order 999 does not exist'
else
  echo "note: script(1) not found, skipping the terminal rendering" >&2
fi
expect "get without an id" "$(cli GET)" "ERR wrong number of arguments for 'GET'"
expect "get with two ids" "$(cli GET 1 2)" "ERR wrong number of arguments for 'GET'"
expect "create with too few fields" "$(cli CREATE customer=bob item=pen qty=2)" \
  "ERR wrong number of arguments for 'CREATE'"
expect "unknown command" "$(cli FOO)" "ERR unknown command 'FOO'"
expect "unknown command keeps its case" "$(cli foo bar)" "ERR unknown command 'foo'"
expect "commands are case-insensitive" "$(cli get 1 | field status)" PENDING
expect "bad id" "$(cli GET 0)" "BADARG order id must be a positive integer, got '0'"

# Order 2 walks the happy path to DELIVERED, one step at a time.
expect "create 2" "$(cli CREATE customer=carol item=lamp qty=1 amount=40 | field id)" 2
expect "update to PAID skips RESERVED" "$(cli UPDATE 2 status=PAID)" \
  'STATE cannot move order 2 from PENDING to PAID'
expect "update to RESERVED" "$(cli UPDATE 2 status=RESERVED | field status)" RESERVED
expect "update to PAID with a note" "$(cli UPDATE 2 status=paid 'note=card ok' | field status)" PAID
expect "update to SHIPPED" "$(cli UPDATE 2 status=SHIPPED | field status)" SHIPPED
expect "update to DELIVERED" "$(cli UPDATE 2 status=DELIVERED)" "$(record \
  id 2 status DELIVERED customer carol item lamp qty 1 amount 40.00 currency USD \
  created '<time>' updated '<time>')"
expect "DELIVERED is final" "$(cli UPDATE 2 status=SHIPPED)" \
  'STATE cannot move order 2 from DELIVERED to SHIPPED'
expect "a delivered order cannot be cancelled" "$(cli CANCEL 2)" \
  'STATE cannot move order 2 from DELIVERED to CANCELLED'
expect "unknown status" "$(cli UPDATE 2 status=LOST)" \
  "BADARG unknown status 'LOST' (PENDING RESERVED PAID SHIPPED DELIVERED FAILED CANCELLED)"
expect "update without status" "$(cli UPDATE 2 note=x)" "BADARG missing field 'status'"
expect "update a missing order" "$(cli UPDATE 77 status=PAID)" 'NOTFOUND order 77 does not exist'
expect "track" "$(cli TRACK 2)" "$(record id 2 status DELIVERED updated '<time>' recent \
  'DELIVERED@<time>' 'SHIPPED@<time>' 'PAID@<time>' 'RESERVED@<time>' 'PENDING@<time>')"

# History: one record per transition; a missing "from" or note is nil,
# which raw redis-cli prints as an empty line.
expect "history" "$(cli HISTORY 2)" "$(record \
  time '<time>' from '' to PENDING source client note '' \
  time '<time>' from PENDING to RESERVED source client note '' \
  time '<time>' from RESERVED to PAID source client note 'card ok' \
  time '<time>' from PAID to SHIPPED source client note '' \
  time '<time>' from SHIPPED to DELIVERED source client note '')"

# Order 3 is cancelled with a reason; cancelling again is refused.
expect "create 3" "$(cli CREATE customer=carol item=mug qty=4 amount=2.25 | field id)" 3
expect "cancel" "$(cli CANCEL 3 'reason=changed my mind' | field status)" CANCELLED
expect "cancel twice" "$(cli CANCEL 3)" 'STATE order 3 is already cancelled'
expect "cancel a missing order" "$(cli CANCEL 99)" 'NOTFOUND order 99 does not exist'
expect "cancelled history" "$(cli HISTORY 3)" "$(record \
  time '<time>' from '' to PENDING source client note '' \
  time '<time>' from PENDING to CANCELLED source client note 'changed my mind')"
expect "history of a missing order" "$(cli HISTORY 42)" 'NOTFOUND order 42 does not exist'

# Idempotency: the same key with the same fields replays the order; with
# other fields it is a conflict. Neither makes a new order.
expect "create with a key" "$(cli CREATE customer=dave item=pen qty=1 amount=1.00 key=k1)" "$(record \
  id 4 status PENDING customer dave item pen qty 1 amount 1.00 currency USD key k1 \
  created '<time>' updated '<time>')"
expect "replay the key" "$(cli CREATE customer=dave item=pen qty=1 amount=1.00 key=k1)" "$(record \
  id 4 status PENDING customer dave item pen qty 1 amount 1.00 currency USD key k1 \
  created '<time>' updated '<time>' replayed 1)"
expect "replay with the amount spelled differently" \
  "$(cli CREATE customer=dave item=pen qty=1 amount=1 key=k1 | field replayed)" 1
expect "key reused with another qty" "$(cli CREATE customer=dave item=pen qty=2 amount=1.00 key=k1)" \
  'CONFLICT key k1 was used for order 4 with other fields'
expect "key reused by another customer" "$(cli CREATE customer=erin item=pen qty=1 amount=1.00 key=k1)" \
  'CONFLICT key k1 was used for order 4 with other fields'
expect "key reused in another currency" \
  "$(cli CREATE customer=dave item=pen qty=1 amount=1.00 currency=EUR key=k1)" \
  'CONFLICT key k1 was used for order 4 with other fields'
expect "replay after a cancel still replays" \
  "$(cli CANCEL 4 >/dev/null; cli CREATE customer=dave item=pen qty=1 amount=1.00 key=k1 | field status)" \
  CANCELLED

# Money and quantity validation: refused requests make no order.
expect "qty zero" "$(cli CREATE customer=bob item=pen qty=0 amount=1)" \
  "BADARG qty must be an integer from 1 to 1000000000, got '0'"
expect "qty too large" "$(cli CREATE customer=bob item=pen qty=1000000001 amount=1)" \
  "BADARG qty must be an integer from 1 to 1000000000, got '1000000001'"
expect "qty not a number" "$(cli CREATE customer=bob item=pen qty=two amount=1)" \
  "BADARG qty must be an integer from 1 to 1000000000, got 'two'"
expect "negative amount" "$(cli CREATE customer=bob item=pen qty=1 amount=-1)" \
  "BADARG amount '-1' must not be negative"
expect "too many decimals" "$(cli CREATE customer=bob item=pen qty=1 amount=1.999)" \
  "BADARG amount '1.999' has more decimals than the currency allows"
expect "not a number" "$(cli CREATE customer=bob item=pen qty=1 amount=abc)" \
  "BADARG amount 'abc' is not a decimal number"
expect "a bare point" "$(cli CREATE customer=bob item=pen qty=1 amount=1.)" \
  "BADARG amount '1.' is not a decimal number"
expect "huge amount" "$(cli CREATE customer=bob item=pen qty=1 amount=99999999999999999999)" \
  "BADARG amount '99999999999999999999' is too large"
expect "amount that overflows in minor units" \
  "$(cli CREATE customer=bob item=pen qty=1 amount=92233720368547759)" \
  "BADARG amount '92233720368547759' is too large"
expect "lower-case currency" "$(cli CREATE customer=bob item=pen qty=1 amount=1 currency=usd)" \
  "BADARG currency 'usd' is not an ISO 4217 code"
expect "missing field" "$(cli CREATE customer=bob item=pen qty=1 currency=USD)" \
  "BADARG missing field 'amount'"
expect "unknown field" "$(cli CREATE customer=bob item=pen qty=1 amount=1 colour=red)" \
  "BADARG unknown field 'colour'"
expect "field twice" "$(cli CREATE customer=bob item=pen qty=1 amount=1 qty=2)" \
  "BADARG field 'qty' given twice"
expect "empty customer" "$(cli CREATE customer= item=pen qty=1 amount=1)" \
  "BADARG customer must not be empty"
expect "one minor unit over 2^63-1" \
  "$(cli CREATE customer=bob item=pen qty=1 amount=92233720368547758.08)" \
  "BADARG amount '92233720368547758.08' is too large"
expect "the largest amount: 2^63-1 minor units" \
  "$(cli CREATE customer=bob item=pen qty=1 amount=92233720368547758.07 | field amount)" \
  92233720368547758.07

# Listing: ascending ids, filters, and paging with after= and limit=.
# Orders so far: 1 bob PENDING, 2 carol DELIVERED, 3 carol CANCELLED,
# 4 dave CANCELLED, 5 bob PENDING. Add 6-10 for alice and bob.
for c in alice bob alice bob alice; do cli CREATE customer=$c item=x qty=1 amount=1 >/dev/null; done
expect "list all" "$(cli LIST | ids)" '1 2 3 4 5 6 7 8 9 10 '
expect "list alice" "$(cli LIST customer=alice | ids)" '6 8 10 '
expect "list pending, first page" "$(cli LIST status=PENDING limit=3 | ids)" '1 5 6 '
expect "list pending, next page" "$(cli LIST status=pending after=6 limit=3 | ids)" '7 8 9 '
expect "list pending, last page" "$(cli LIST status=PENDING after=9 limit=3 | ids)" '10 '
expect "list pending, past the end" "$(cli LIST status=PENDING after=10 limit=3 | ids)" ''
expect "list cancelled" "$(cli LIST status=CANCELLED | ids)" '3 4 '
expect "list bob after 5" "$(cli LIST customer=bob after=5 | ids)" '7 9 '
expect "list alice and pending" "$(cli LIST customer=alice status=PENDING limit=2 | ids)" '6 8 '
expect "list limit one" "$(cli LIST limit=1 after=3 | ids)" '4 '
expect "list after a huge id" "$(cli LIST after=18446744073709551615 | ids)" ''
expect "list one record whole" "$(cli LIST after=2 limit=1)" "$(record \
  id 3 status CANCELLED customer carol item mug qty 4 amount 2.25 currency USD \
  created '<time>' updated '<time>')"
expect "list limit zero" "$(cli LIST limit=0)" 'BADARG limit must be an integer from 1 to 1000'
expect "list limit too large" "$(cli LIST limit=1001)" 'BADARG limit must be an integer from 1 to 1000'
expect "list unknown status" "$(cli LIST status=LOST)" "BADARG unknown status 'LOST' in status= (PENDING RESERVED PAID SHIPPED DELIVERED FAILED CANCELLED)"
expect "list bad after" "$(cli LIST after=-1)" 'BADARG after must be an order id (a non-negative integer)'
expect "list unknown field" "$(cli LIST sort=desc)" "BADARG unknown field 'sort'"

expect "ping" "$(cli PING)" PONG
expect "ping echoes" "$(cli PING 'hello there')" 'hello there'
expect "info counts by status" "$(cli METRICS | tr '\n' ' ' | grep -oE 'orders [0-9]+ orders_pending [0-9]+ orders_reserved [0-9]+ orders_paid [0-9]+ orders_shipped [0-9]+ orders_delivered [0-9]+ orders_failed [0-9]+ orders_cancelled [0-9]+')" \
  'orders 10 orders_pending 7 orders_reserved 0 orders_paid 0 orders_shipped 0 orders_delivered 1 orders_failed 0 orders_cancelled 2'

# Currencies whose minor unit is not two digits, and unknown ones: the
# lookup walks every currency table.
expect "create in KWD" \
  "$(cli CREATE customer=bob item=pen qty=1 amount=1.999 currency=KWD | tr '\n' ' ')" \
  'id 11 status PENDING customer bob item pen qty 1 amount 1.999 currency KWD created <time> updated <time> '
expect "JPY has no minor unit" "$(cli CREATE customer=bob item=pen qty=1 amount=1.5 currency=JPY)" \
  "BADARG amount '1.5' has decimals, but the currency has no minor unit"
expect "unknown currency" "$(cli CREATE customer=bob item=pen qty=1 amount=1 currency=XYZ)" \
  "BADARG currency 'XYZ' is not an ISO 4217 code"
expect "create in JPY" \
  "$(cli CREATE customer=bob item=pen qty=1 amount=1500 currency=JPY | field amount)" 1500
expect "refused creates made no order" "$(cli METRICS | field orders)" 12
