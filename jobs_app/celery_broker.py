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
"""

from __future__ import annotations

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


class Channel(kombu_redis.Channel):
    QoS = QoS


class Transport(kombu_redis.Transport):
    """kombu's Redis transport with the QoS above (``CELERY_BROKER_TRANSPORT``)."""

    Channel = Channel


class SentinelChannel(kombu_redis.SentinelChannel):
    QoS = QoS


class SentinelTransport(kombu_redis.SentinelTransport):
    """kombu's Redis Sentinel transport with the same QoS (``sentinel://`` broker URLs)."""

    Channel = SentinelChannel
