"""The project's broker transports stay in place when kombu fails over to another broker URL.

kombu's ``Connection.switch`` takes the transport from the next URL's scheme (``sentinel``:
kombu's own); the real-process consequence is in tests/jobs_app/test_sentinel_ack.py.
"""

import pytest
from kombu import Connection

from jobs_app.celery_broker import SentinelTransport, Transport

SENTINELS = "sentinel://127.0.0.1:26379/0;sentinel://127.0.0.1:26380/0;sentinel://127.0.0.1:26381/0"


@pytest.mark.parametrize(
    ("url", "transport"),
    [
        (SENTINELS, "jobs_app.celery_broker:SentinelTransport"),
        ("redis://127.0.0.1:6379/0;redis://127.0.0.1:6380/0", "jobs_app.celery_broker:Transport"),
    ],
)
def test_the_configured_transport_survives_a_switch_to_every_alternate(url, transport):
    connection = Connection(url, transport=transport, transport_options={"master_name": "m"})
    expected = connection.get_transport_cls()
    assert expected in (SentinelTransport, Transport)
    ports = [int(u.rsplit(":", 1)[1].split("/")[0]) for u in url.split(";")]
    for step in range(1, 5):  # round the whole list and back
        connection.transport  # noqa: B018 - created, as a connect attempt does, before it fails
        connection.maybe_switch_next()
        assert connection.port == ports[step % len(ports)]  # the switch itself still happens
        assert connection.get_transport_cls() is expected
