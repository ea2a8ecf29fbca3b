"""Webhooks (SPEC 19): an account's endpoints, signed deliveries, retries and the delivery log.

- constants.py: the event types, the retry schedule, the limits.
- models.py: WebhookEndpoint, WebhookDelivery (one message to one endpoint) and
  WebhookAttempt (each try of it).
- guard.py: the SSRF rule: which URLs and addresses a delivery may go to.
- signing.py: the endpoint's `whsec_` secret (sealed at rest) and Standard Webhooks signatures.
- emit.py: `webhook_emit(account, type, data)`, the one way an event becomes deliveries;
  it imports nothing above models, so tokens.events may call it.
- delivery.py: one attempt of a delivery: the HTTP send and what it is recorded as.
- services.py: every write of the panel and the API (create, change, roll, delete, test,
  redeliver), each with its event.
- selectors.py: the reads the page and the API share.
- tasks.py: the queue's tasks (deliver, retry what is due, forget old deliveries).
- api.py, views.py: the API routes and the page `/a/<slug>/webhooks/`.
"""
