"""Celery plumbing kept in MongoDB: the publish outbox, leases and job-run records."""
