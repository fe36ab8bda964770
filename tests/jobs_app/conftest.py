"""Fixtures of the Celery tests."""

import pytest

from devtools.servers import SentinelSet


@pytest.fixture
def sentinel_set(request, tmp_path):
    """A Redis master, a replica and three Sentinels (real processes) with the test module's
    ``DOWN_AFTER_MS``: how long the Sentinels wait before they fail the master over."""
    servers = SentinelSet(down_after_ms=request.module.DOWN_AFTER_MS, log_dir=tmp_path).start()
    yield servers
    servers.stop()
