"""Every door test starts with a closed breaker and an empty Redis, as the sessions tests do."""

import pytest


@pytest.fixture(autouse=True)
def _each_test_on_a_clean_redis_layer(clean_redis_layer):
    """Use ``clean_redis_layer`` (tests/conftest.py) around every test of this directory."""
