"""Fixtures for the metrics tests: a scraper that may read /metrics, and the answer parsed."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

SCRAPE_TOKEN = "scrape-token-for-tests"


def samples_of(text: str) -> dict[tuple[str, frozenset], float]:
    """Parse an exposition: {(sample name, frozenset of label pairs): value}."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value_of(samples: dict, name: str, **labels) -> float:
    """Return one sample's value, 0 when it is not there (a counter not yet incremented)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def scraper(settings, client):
    """Scrape /metrics as the configured Prometheus (bearer token); return the parsed samples."""
    settings.METRICS_TOKEN = SCRAPE_TOKEN

    def scrape() -> dict:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {SCRAPE_TOKEN}")
        assert response.status_code == 200, response.content
        return samples_of(response.content.decode())

    return scrape


@pytest.fixture(autouse=True)
def _each_test_on_a_clean_redis_layer(clean_redis_layer):
    """Start every test with a closed breaker and an empty Redis (tests/conftest.py)."""
