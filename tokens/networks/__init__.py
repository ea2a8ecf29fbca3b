"""First use from a new network (SPEC 19): which networks each token was used from.

- buffer.py: the request path. A successful authentication notes the client's network
  (an IPv4 /24, an IPv6 /48) in the cache beside the usage buffer: no SQL.
- services.py: the judgement, when the usage buffer is flushed (the worker's flush
  every minute, or a token's once-a-minute flush): the networks noted are compared
  with the token's known networks of the last 90 days (TokenNetwork); a new one is
  an event `token.new_network` (and so the webhook), and an email at most once an hour
  per token.
- models.py: TokenNetwork, a token's known networks with first and last seen.
- selectors.py: the alerts and networks a token's page shows.
"""
