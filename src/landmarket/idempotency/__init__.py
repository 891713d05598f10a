"""Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) for POSTs that opt in."""
