"""The live version: bumped, with ``changed_at``, by the write that changes what a screen shows.

And the notification the door publishes after a verdict: it reaches a Redis subscriber, and with
Redis killed it is skipped without touching the verdict.
"""

import time

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from sessions_app.models import Lease, Session
from sessions_app.services import (
    admission_protocol,
    counters_reconcile,
    session_check_in,
    session_check_out,
    session_update,
)
from sessions_app.services.leases import leases_settle_expired, session_lease_grant
from sessions_app.services.live_publish import publish_counts
from tests.factories import participants_make, session_counter_corrupt, session_make

pytestmark = pytest.mark.django_db


def _live(session) -> tuple[int, object]:
    fresh = Session.objects.get(pk=session.pk)
    return fresh.version, fresh.changed_at


def test_every_count_change_bumps_the_version_once_and_refusals_do_not():
    session = session_make(capacity=1)
    first, second = participants_make(2)
    version, _ = _live(session)

    assert session_check_in(session_id=session.pk, participant_id=first.pk).reason == "checked_in"
    after_in, stamped = _live(session)
    assert (after_in, stamped is not None) == (version + 1, True)

    assert (
        session_check_in(session_id=session.pk, participant_id=second.pk).reason == "session_full"
    )
    assert session_check_in(session_id=session.pk, participant_id=first.pk).reason == (
        "already_checked_in"
    )
    assert _live(session)[0] == after_in  # nothing changed, nothing bumped

    assert session_check_out(session_id=session.pk, participant_id=first.pk).reason == "checked_out"
    after_out, stamped_out = _live(session)
    assert after_out == after_in + 1
    assert stamped_out >= stamped


def test_edits_and_counter_repairs_bump_the_version():
    session = session_make(capacity=5)
    version, _ = _live(session)
    session_update(session=Session.objects.get(pk=session.pk), data={"title": "Renamed"})
    assert _live(session)[0] == version + 1

    session_counter_corrupt(session, 3)  # nobody is inside: the reconcile repairs it to 0
    assert counters_reconcile(stale_seconds=0).repaired == 1
    assert _live(session)[0] == version + 2


def test_the_door_notifies_subscribers_after_the_verdict(redis_server):
    session = session_make()
    (person,) = participants_make(1)
    listener = redis.Redis.from_url(settings.REDIS_URL).pubsub(ignore_subscribe_messages=True)
    listener.subscribe(settings.LIVE_REDIS_CHANNEL)
    try:
        session_check_in(session_id=session.pk, participant_id=person.pk)
        deadline = time.monotonic() + 2
        message = None
        while message is None and time.monotonic() < deadline:
            message = listener.get_message(timeout=0.2)
        assert message is not None and message["data"] == str(session.pk).encode()
    finally:
        listener.close()

    redis_server.kill()
    skipped = publish_counts["skipped"]
    (other,) = participants_make(1)
    verdict = session_check_in(session_id=session.pk, participant_id=other.pk)
    assert verdict.reason == "checked_in"  # the notification never fails the verdict
    assert publish_counts["skipped"] == skipped + 1


def _published(listener, session) -> bool:
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        message = listener.get_message(timeout=0.2)
        if message is not None and message["data"] == str(session.pk).encode():
            return True
    return False


def test_a_lease_grant_and_its_settling_notify_subscribers(redis_server, settings):
    """A grant and a settle bump the live version (the places free for the others change): the
    screens must hear of it, or a board shows a state it never got (the chaos run of seed 49)."""
    settings.LEASE_SETTLE_GRACE_SECONDS = 0
    session = session_make(capacity=40)
    listener = redis.Redis.from_url(settings.REDIS_URL).pubsub(ignore_subscribe_messages=True)
    listener.subscribe(settings.LIVE_REDIS_CHANNEL)
    try:
        answer = session_lease_grant(session_id=session.pk, places=3, actor="door")
        assert answer.room == 3
        assert _published(listener, session), "no notification after the grant"
        Lease.objects.filter(pk=answer.lease.pk).update(expires_at=timezone.now())
        assert leases_settle_expired() == 1
        assert _published(listener, session), "no notification after the settle"
    finally:
        listener.close()


def test_the_reconcile_completing_a_stale_offline_admission_notifies_subscribers(redis_server):
    """The reconcile completes a stale lease admission (its place moves from the lease to the
    count, the live version bumped): the screens must hear of it (the chaos run of seed 53 found
    a change never shown)."""
    session = session_make(capacity=40)
    (person,) = participants_make(1)
    answer = session_lease_grant(session_id=session.pk, places=2, actor="door")
    claim = admission_protocol.record_claim(
        session_id=session.pk, participant_id=person.pk, op=admission_protocol.op_new(),
        source="offline", lease=str(answer.lease.pk),
    )  # fmt: skip
    assert claim is not None  # an offline admission whose sync died right after its claim
    listener = redis.Redis.from_url(settings.REDIS_URL).pubsub(ignore_subscribe_messages=True)
    listener.subscribe(settings.LIVE_REDIS_CHANNEL)
    try:
        assert counters_reconcile(stale_seconds=0).ended_ops == 1
        fresh = Session.objects.get(pk=session.pk)
        assert (fresh.check_in_count, fresh.leased) == (1, 1)  # completed: holding more
        assert _published(listener, session), "no notification after the reconcile's move"
    finally:
        listener.close()
