"""`make run`'s supervision of the embedded servers, on a real redis-server (issue 22.5)."""

import signal

import pytest
import redis

from devtools.run import _check_servers, describe_exit
from devtools.servers import RedisServer

pytestmark = pytest.mark.slow  # real processes, killed or paused servers


def test_exit_is_described_by_code_or_signal_name():
    assert describe_exit(-signal.SIGKILL) == "signal SIGKILL"
    assert describe_exit(-signal.SIGTERM) == "signal SIGTERM"
    assert describe_exit(70) == "exit code 70"


def test_a_killed_embedded_redis_is_reported_and_started_again_on_its_port(capsys):
    server = RedisServer().start()
    try:
        port = server.port
        server.kill()
        _check_servers([server], {}, restart=True)
        out = capsys.readouterr().out
        assert f"embedded redis-server on 127.0.0.1:{port} exited (signal SIGKILL)" in out
        assert "is back" in out
        assert server.port == port
        assert redis.Redis(port=port, socket_timeout=5).ping()
    finally:
        server.stop()


def test_with_restarts_off_a_killed_server_is_reported_once_and_left_dead(capsys):
    server = RedisServer().start()
    try:
        server.kill()
        for _ in range(3):
            _check_servers([server], {}, restart=False)
        out = capsys.readouterr().out
        assert out.count("exited (signal SIGKILL); not starting it again") == 1, out
        assert not server.running
    finally:
        server.stop()
