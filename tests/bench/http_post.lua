-- wrk script for make bench (tests/bench/run): every request is a POST
-- /orders with the order tests/bench/run also CREATEs over the protocol.
-- No Idempotency-Key, so each one makes a new order (201).
wrk.method = "POST"
wrk.body = '{"customer":"bench","item":"book","qty":1,"amount":19.99}'
wrk.headers["Content-Type"] = "application/json"
