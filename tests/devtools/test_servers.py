"""The test harness's server processes: a pause is a real, complete hang when pause() returns."""

import socket

import pytest
import redis
from pymongo import MongoClient
from pymongo.errors import PyMongoError
from redis.backoff import NoBackoff
from redis.retry import Retry

from devtools.servers import RedisServer, SecantusServer, thread_states

pytestmark = pytest.mark.slow  # real processes, killed or paused servers


@pytest.fixture
def secantus():
    server = SecantusServer().start()
    yield server
    server.kill()
    server.stop()


@pytest.fixture
def spare_redis():
    server = RedisServer().start()
    yield server
    server.kill()
    server.stop()


def test_every_thread_of_a_paused_secantus_is_stopped_when_pause_returns(secantus):
    client = MongoClient(secantus.uri, timeoutMS=300, serverSelectionTimeoutMS=300)
    for _ in range(5):
        client.admin.command("ping")
        assert len(thread_states(secantus.proc.pid)) > 1  # a threaded server: the case that races
        secantus.pause()
        assert set(thread_states(secantus.proc.pid)) <= {"T", "t"}
        with pytest.raises(PyMongoError):
            client.admin.command("ping")
        secantus.resume()
    client.close()


def test_a_paused_redis_answers_nothing_and_answers_again_after_resume(spare_redis):
    client = redis.Redis(port=spare_redis.port, socket_timeout=0.3, retry=Retry(NoBackoff(), 0))
    for _ in range(5):
        assert client.ping()
        spare_redis.pause()
        assert set(thread_states(spare_redis.proc.pid)) <= {"T", "t"}
        with pytest.raises((redis.TimeoutError, redis.ConnectionError, socket.timeout)):
            client.ping()
        spare_redis.resume()
        client.connection_pool.disconnect()  # the timed-out connection holds a late reply
