"""The background worker: outbox delivery and periodic jobs (``flask m4s worker``)."""
