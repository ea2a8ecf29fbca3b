"""`make bench`: the API's authenticated hot path against /healthz, DRF and knox (SPEC 10)."""
