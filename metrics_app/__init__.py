"""Prometheus metrics: the /metrics endpoint, the request middleware and the readers of the apps'
state (docs/metrics.md). The metric definitions themselves are in ``core/metrics.py``."""
