"""Prometheus metrics at /metrics (metrics_app; docs/metrics.md)."""

from config.env import env

# Who may read /metrics: a scraper presenting "Authorization: Bearer <METRICS_TOKEN>", or one
# connecting from an address or network listed here. Neither set: /metrics answers 404
# (production's default; development allows loopback, config/settings/dev.py).
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_ALLOWED_ADDRESSES = env.list("METRICS_ALLOWED_ADDRESSES", default=[])
# The scrape reads the outbox (MongoDB) and the broker's queues (Redis) within this budget; a
# source that misses it is left out and named in checkin_scrape_errors.
METRICS_SCRAPE_TIMEOUT_SECONDS = env.float("METRICS_SCRAPE_TIMEOUT_SECONDS", default=0.5)
