"""The Redis broker transport, with acknowledgements that cannot wedge the worker.

The defect (kombu 5.7.0, ``kombu/transport/redis.py``, ``QoS.ack``)::

    def ack(self, delivery_tag):
        self._remove_from_indices(delivery_tag).execute()   # ZREM + HDEL on Redis
        super().ack(delivery_tag)                            # frees the prefetch slot

When Redis does not answer the first line (paused, killed, a network fault) it raises, so the
second never runs: the delivery tag stays in the channel's prefetch window (``QoS._delivered``)
for good. Celery's ``Request.acknowledge`` logs ``Couldn't ack …`` (``Message.ack_log_error``)
and carries on; the consumer never learns of a broken connection (nothing else was talking to
Redis at that moment), and ``QoS.can_consume()`` stays False from then on with prefetch 1 (``-c
1``; with ``-c N``, after N such failures): the worker never sends BRPOP again while beat keeps
queueing tasks. ``reject`` has the same shape.

Here the prefetch slot is freed whatever Redis did, and the error still reaches Celery, which
logs it as before. What happens to the message on Redis is unchanged: a command that reached a
paused Redis runs when it resumes (the reply was lost, not the ack); one that never reached
Redis leaves the message in the unacked index, and it is delivered again after the visibility
timeout (at least once, as acks_late promises; the periodic tasks are idempotent).

A second defect kept that QoS out of the worker under Sentinel (kombu 5.7.0,
``kombu/connection.py``, ``Connection.switch``)::

    conn_params = parse_url(conn_str)    # {'transport': 'sentinel', ...}: the URL's scheme
    self._init_params(**dict(self._initial_params, **conn_params))

A broker URL of several hosts (``sentinel://h1;sentinel://h2;...``, the Sentinel default) gives
the connection alternates, and a failed connect attempt switches to the next one, replacing the
configured transport (``CELERY_BROKER_TRANSPORT``) with the one the URL's scheme names: kombu's
own. The worker's reconnect after any broker outage fails at least once, so from then on it ran
kombu's SentinelTransport (its log: ``Connected to sentinel://…`` instead of
``jobs_app.celery_broker:sentineltransport://…``), and the first ack Redis did not answer wedged
it as above (chaos seed 69: deaf for 17 s, until the next lost connection made a new one from the
settings). The transports here make the connection that created them keep them on every switch.
"""

from __future__ import annotations

import types

from kombu.transport import redis as kombu_redis
from kombu.transport import virtual


class QoS(kombu_redis.QoS):
    """Redis ack emulation whose ack and reject always release the prefetch slot."""

    def ack(self, delivery_tag):
        try:
            self._remove_from_indices(delivery_tag).execute()
        finally:
            virtual.QoS.ack(self, delivery_tag)

    def reject(self, delivery_tag, requeue=False):
        try:
            if requeue:
                self.restore_by_tag(delivery_tag, leftmost=True)
            else:
                self._remove_from_indices(delivery_tag).execute()
        finally:
            virtual.QoS.ack(self, delivery_tag)


def _switch_keeping_transport(connection, conn_str):
    kept = connection.transport_cls
    type(connection).switch(connection, conn_str)
    connection.transport_cls = kept


class KeepsTransportOnSwitch:
    """Transport mixin: the kombu Connection keeps this transport when it fails over to another
    URL of its list (see the module's docstring)."""

    def __init__(self, client, **kwargs):
        super().__init__(client, **kwargs)
        if "switch" not in vars(client):  # created again after each switch: wrap once
            client.switch = types.MethodType(_switch_keeping_transport, client)


class Channel(kombu_redis.Channel):
    QoS = QoS


class Transport(KeepsTransportOnSwitch, kombu_redis.Transport):
    """kombu's Redis transport with the QoS above (``CELERY_BROKER_TRANSPORT``)."""

    Channel = Channel


class SentinelChannel(kombu_redis.SentinelChannel):
    QoS = QoS


class SentinelTransport(KeepsTransportOnSwitch, kombu_redis.SentinelTransport):
    """kombu's Redis Sentinel transport with the same QoS (``sentinel://`` broker URLs)."""

    Channel = SentinelChannel
