#!/usr/bin/env bash
# stores: journal postgres
# Inline and RESP requests mixed in one pipelined write: the replies come
# back in request order, each rendered the way its request came (readable
# text for an inline line, RESP for a RESP array).
. "$(dirname "$0")/lib.sh"
start_orderd --saga off

# Requests, one a line here; sent together in one write.
requests=(
  'PING\r\n'
  '*1\r\n$4\r\nPING\r\n'
  'CREATE customer=ann item=book qty=1 amount=5\r\n'
  '*2\r\n$3\r\nGET\r\n$1\r\n1\r\n'
  'GET 1\r\n'
  '*2\r\n$4\r\nPING\r\n$5\r\nhi yo\r\n'
  'PING "hi yo"\r\n'
  '\r\n'                              # a blank line: no reply
  '*0\r\n'                            # an empty array: no reply
  'nope\r\n'
  '*1\r\n$4\r\nnope\r\n'
  'HELP GET\r\n'
  '*2\r\n$4\r\nHELP\r\n$3\r\nGET\r\n'
  'HISTORY 1\r\n'
  '*2\r\n$7\r\nHISTORY\r\n$1\r\n1\r\n'
  'TRACK 1\r\n'
  '*2\r\n$5\r\nTRACK\r\n$1\r\n1\r\n'
  'GET 2\r\n'
  '*2\r\n$3\r\nGET\r\n$1\r\n2\r\n'
  'GET "1\r\n'                        # unterminated quote: error, carry on
  '*1\r\n$3\r\nGET\r\n'
  'PING "a\\x00b"\r\n'
  '*2\r\n$4\r\nPING\r\n$3\r\na\0b\r\n'
  'LIST limit=1\r\n'
  '*2\r\n$4\r\nLIST\r\n$7\r\nafter=1\r\n'
  'ping\n'                            # a bare LF ends an inline line too
  'QUIT\r\n'
  'PING\r\n'                          # after QUIT: never answered
)
want=(
  '+PONG'
  '+PONG'
  'id=1 status=PENDING customer=ann item=book qty=1 amount=5.00 currency=USD created=<time> updated=<time>'
  '*18' '$2' 'id' ':1' '$6' 'status' '$7' 'PENDING' '$8' 'customer' '$3' 'ann'
  '$4' 'item' '$4' 'book' '$3' 'qty' ':1' '$6' 'amount' '$4' '5.00'
  '$8' 'currency' '$3' 'USD' '$7' 'created' '$24' '<time>' '$7' 'updated' '$24' '<time>'
  'id=1 status=PENDING customer=ann item=book qty=1 amount=5.00 currency=USD created=<time> updated=<time>'
  '$5' 'hi yo'
  'hi yo'
  "-ERR unknown command 'nope'"
  "-ERR unknown command 'nope'"
  'GET <id> - returns an order'
  '$27' 'GET <id> - returns an order'
  '*1'
  'time=<time> from=(nil) to=PENDING source=client note=(nil)'
  '*1' '*10' '$4' 'time' '$24' '<time>' '$4' 'from' '$-1' '$2' 'to' '$7' 'PENDING'
  '$6' 'source' '$6' 'client' '$4' 'note' '$-1'
  'id=1 status=PENDING updated=<time> recent=PENDING@<time>'
  '*8' '$2' 'id' ':1' '$6' 'status' '$7' 'PENDING' '$7' 'updated' '$24' '<time>'
  '$6' 'recent' '*1' '$32' 'PENDING@<time>'
  '-NOTFOUND order 2 does not exist'
  '-NOTFOUND order 2 does not exist'
  '-ERR Protocol error: unterminated quote'
  "-ERR wrong number of arguments for 'GET'"
  '"a\x00b"'
  '$3' 'a\x00b'
  '*1'
  'id=1 status=PENDING customer=ann item=book qty=1 amount=5.00 currency=USD created=<time> updated=<time>'
  '*0'
  '+PONG'
  '+OK'
)

# Shown with NUL bytes spelled \x00 so the comparison stays textual.
got=$(printf '%b' "$(printf '%s' "${requests[@]}")" | nc -N -w3 127.0.0.1 "$PORT" \
      | sed 's/\x0/\\x00/g' | strip_times)
expect "mixed framing, replies in order" "$got" "$(printf '%s\r\n' "${want[@]}")"
