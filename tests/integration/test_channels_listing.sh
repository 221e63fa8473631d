#!/usr/bin/env bash
# stores: journal postgres
# The admin views and the errors of durable channels, from nc: CHANNELS
# lists durable and live channels; PENDING shows what is in flight, delayed
# and ready; a second CHANNEL CREATE with other settings is a CONFLICT;
# undeclared channels are NOTFOUND; bad arguments are BADARG.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/chanlib.sh"

start_orderd --saga off

# One client subscribed to a live channel and to the durable one.
nc_client "$TEST_TMP/sub.out" 'SUBSCRIBE news jobs\r\n'
await_lines "$TEST_TMP/sub.out" 2

got=$(resp_send 'CHANNEL CREATE jobs ackwait=60000\r\nCHANNEL CREATE jobs ackwait=60000\r\nCHANNEL CREATE jobs ackwait=5000\r\nCHANNEL CREATE quiet\r\nCHANNEL INFO jobs\r\n')
expect "declare, again, conflicting" "$got" "$(printf '%s\r\n' \
  '+OK' '+OK' \
  '-CONFLICT channel jobs exists with other settings (CHANNEL INFO jobs)' \
  '+OK' \
  'channel=jobs length=0 first=1 last=0 groups=0 maxlen=100000 maxage=0 ackwait=60000 maxdeliver=5 backoff=100 backoffmax=30000 maxpending=100000 maxbytes=67108864 bytes=0')"

# Three messages, all taken by w1: one stays in flight, one is NACKed with
# a long delay, one is NACKed to be ready at once.
got=$(resp_send 'PUBLISH jobs a\r\nPUBLISH jobs b\r\nPUBLISH jobs c\r\nCONSUME jobs group=g consumer=w1 count=3\r\nNACK jobs group=g 2 delay=600000\r\nNACK jobs group=g 3 delay=0\r\nPENDING jobs group=g\r\nCHANNELS\r\n' \
  | strip_times | sed -E 's/idle_ms=[0-9]+/idle_ms=<ms>/')
expect "pending and channels" "$got" "$(printf '%s\r\n' \
  ':1' ':1' ':1' \
  '*3' \
  'id=1 deliveries=1 time=<time> payload=a' \
  'id=2 deliveries=1 time=<time> payload=b' \
  'id=3 deliveries=1 time=<time> payload=c' \
  ':1' ':1' \
  '*3' \
  'id=1 consumer=w1 deliveries=1 state=inflight idle_ms=<ms> due=<time>' \
  'id=2 consumer=w1 deliveries=1 state=delayed idle_ms=<ms> due=<time>' \
  'id=3 consumer=w1 deliveries=1 state=ready idle_ms=<ms> due=(nil)' \
  '*3' \
  'channel=jobs durable=1 subscribers=1 length=3 last=3 groups=1' \
  'channel=news durable=0 subscribers=1 length=0 last=0 groups=0' \
  'channel=quiet durable=1 subscribers=0 length=0 last=0 groups=0')"

got=$(resp_send 'READ nope\r\nCONSUME nope group=g consumer=c\r\nGROUPS nope\r\nACK jobs group=nope 1\r\nPENDING jobs group=nope\r\n')
expect "not declared, no such group" "$got" "$(printf '%s\r\n' \
  '-NOTFOUND channel nope is not durable (CHANNEL CREATE it first)' \
  '-NOTFOUND channel nope is not durable (CHANNEL CREATE it first)' \
  '-NOTFOUND channel nope is not durable (CHANNEL CREATE it first)' \
  '-NOTFOUND group nope does not exist on channel jobs (CONSUME creates it)' \
  '-NOTFOUND group nope does not exist on channel jobs (CONSUME creates it)')"

got=$(resp_send 'CONSUME jobs group=g consumer=c count=0\r\nCONSUME jobs group=g consumer=c count=1001\r\nCONSUME jobs group=g consumer=c block=abc\r\nCONSUME jobs consumer=c count=1\r\nCONSUME jobs group=g count=1\r\nCONSUME jobs group=g consumer=c colour=red\r\nREAD jobs count=0\r\nACK jobs 1 2\r\nACK jobs group=g one\r\nNACK jobs group=g 1 delay=-5\r\nCHANNEL CREATE bad maxdeliver=0\r\nCHANNEL CREATE "two words"\r\n')
expect "bad arguments" "$got" "$(printf '%s\r\n' \
  '-BADARG count must be an integer from 1 to 1000' \
  '-BADARG count must be an integer from 1 to 1000' \
  '-BADARG block must be milliseconds, from 0 to 86400000' \
  "-BADARG missing field 'group'" \
  "-BADARG missing field 'consumer'" \
  "-BADARG unknown field 'colour'" \
  '-BADARG count must be an integer from 1 to 1000' \
  "-BADARG missing field 'group'" \
  "-BADARG message id must be a positive integer, got 'one'" \
  '-BADARG delay must be milliseconds, from 0 to 86400000' \
  '-BADARG maxdeliver must be an integer from 1 to 1000' \
  '-BADARG channel must not contain spaces or control characters')"

# Nothing above changed the channel.
got=$(resp_send 'CHANNELS\r\n')
expect "channels unchanged" "$got" "$(printf '%s\r\n' \
  '*3' \
  'channel=jobs durable=1 subscribers=1 length=3 last=3 groups=1' \
  'channel=news durable=0 subscribers=1 length=0 last=0 groups=0' \
  'channel=quiet durable=1 subscribers=0 length=0 last=0 groups=0')"
