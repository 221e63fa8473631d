#!/usr/bin/env bash
# stores: journal postgres
# The README's nc session: inline requests, readable replies.
. "$(dirname "$0")/lib.sh"
start_orderd --saga off

got=$(resp_send 'CREATE customer=alice item=book qty=1 amount=19.99\r\nTRACK 1\r\n' | strip_times)
expect "create then track" "$got" "$(printf '%s\r\n' \
  'id=1 status=PENDING customer=alice item=book qty=1 amount=19.99 currency=USD created=<time> updated=<time>' \
  'id=1 status=PENDING updated=<time> recent=PENDING@<time>')"

got=$(resp_send 'GET 999\r\nGET abc\r\nFOO\r\nPING\r\nPING "two words"\r\nQUIT\r\nPING\r\n')
expect "errors, ping, quit closes" "$got" "$(printf '%s\r\n' \
  '-NOTFOUND order 999 does not exist' \
  "-BADARG order id must be a positive integer, got 'abc'" \
  "-ERR unknown command 'FOO'" \
  '+PONG' \
  'two words' \
  '+OK')"
