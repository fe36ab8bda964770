"""Pytest plugin: start a real MongoDB-compatible server and redis-server for the test run.

Loaded with ``-p tests.plugin`` (see pyproject.toml) so it runs before pytest-django reads the
settings: the servers listen on free ports and their URLs are put in the environment first.
Fixtures here hand tests the server processes so a test can kill, pause or restart Redis.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from devtools.servers import RedisServer, SecantusServer

_servers: dict[str, object] = {}


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config, parser, args):
    """Start the servers and point the settings at them before Django is configured."""
    if not _servers and not early_config.known_args_namespace.help:
        logdir = Path(tempfile.mkdtemp(prefix="checkin-test-logs-"))
        mongo = SecantusServer(log_path=logdir / "secantus.log").start()
        redis = RedisServer(log_path=logdir / "redis.log").start()
        _servers.update(mongo=mongo, redis=redis, logdir=logdir)
        os.environ["MONGODB_URI"] = mongo.uri
        os.environ["REDIS_URL"] = redis.url
        os.environ["CELERY_BROKER_URL"] = redis.url
        os.environ.setdefault("MONGODB_NAME", "checkin")
    return (yield)


def pytest_unconfigure(config):
    """Stop every server this plugin started."""
    for key in ("redis", "mongo"):
        server = _servers.pop(key, None)
        if server is not None:
            server.stop()


def pytest_report_header(config):
    if "mongo" in _servers:
        return [
            f"secantusd: {_servers['mongo'].uri}  redis-server: {_servers['redis'].url}",
            f"server logs: {_servers['logdir']}",
        ]
    return None


@pytest.fixture(scope="session")
def mongo_server() -> SecantusServer:
    """The session's MongoDB-compatible server process."""
    return _servers["mongo"]


@pytest.fixture(scope="session")
def redis_server_process() -> RedisServer:
    """The session's redis-server process (tests that break it must use ``redis_server``)."""
    return _servers["redis"]
