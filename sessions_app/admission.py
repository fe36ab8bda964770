"""Redis admission control in front of MongoDB (which alone decides; see docs/door-protocol.md).

Key layout: one Redis set per session, ``checkin:adm:{<session id>}``, holding the ids of the
participants inside (or reserved by a request in flight) plus the marker member ``~seeded``. The
number inside is ``SCARD - 1``: counter and membership live in one key, so they cannot drift
apart, and an eviction or FLUSHALL that removes the key removes the marker with it. A set without
the marker (or no key at all) is "unseeded": the script answers ``unseeded`` and MongoDB decides,
after which the request reseeds the set from the CheckIn records.

Everything here is advisory. Redis may only turn a request away early (duplicate, full), and the
service confirms those answers with cheap MongoDB reads before answering; a wrong Redis state
can therefore cost extra MongoDB work but never an overbooking or a wrong verdict.
"""

from __future__ import annotations

import enum
import logging

from django.conf import settings

from redis_fallback import SCRIPT_UNAVAILABLE, LuaScript, RedisResponseError, get_redis

logger = logging.getLogger(__name__)

SEEDED_MARKER = "~seeded"  # not an ObjectId, so never a participant id

# KEYS[1] = the session's set; ARGV = mode, participant id, capacity, key TTL (seconds).
ADMISSION_LUA = """
local key = KEYS[1]
if redis.call('SISMEMBER', key, ARGV[5]) == 0 then return 'unseeded' end
local mode = ARGV[1]
if mode == 'reserve' then
  if redis.call('SISMEMBER', key, ARGV[2]) == 1 then return 'member' end
  if redis.call('SCARD', key) - 1 >= tonumber(ARGV[3]) then return 'full' end
  redis.call('SADD', key, ARGV[2])
  redis.call('EXPIRE', key, ARGV[4])
  return 'reserved'
elseif mode == 'add' then
  redis.call('SADD', key, ARGV[2])
  redis.call('EXPIRE', key, ARGV[4])
  return 'added'
elseif mode == 'remove' then
  if redis.call('SREM', key, ARGV[2]) == 1 then return 'removed' end
  return 'absent'
end
return redis.error_reply('unknown admission mode ' .. tostring(mode))
"""

# KEYS[1] = the session's set; ARGV = key TTL, marker, participant ids inside (from MongoDB).
# Replaces the whole set in one atomic step, so no request ever sees it half-written.
RESEED_LUA = """
local key = KEYS[1]
redis.call('DEL', key)
redis.call('SADD', key, ARGV[2])
for i = 3, #ARGV, 1000 do
  redis.call('SADD', key, unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('EXPIRE', key, ARGV[1])
return redis.call('SCARD', key) - 1
"""


class Admission(enum.StrEnum):
    """What Redis answered for a reservation."""

    RESERVED = "reserved"  # a place is held in Redis; MongoDB must still admit
    MEMBER = "member"  # Redis believes the participant is inside
    FULL = "full"  # Redis believes the session is full
    UNSEEDED = (
        "unseeded"  # the session's set is missing or not seeded: MongoDB decides, then reseed
    )
    UNAVAILABLE = "unavailable"  # Redis is down (SCRIPT_UNAVAILABLE): MongoDB decides alone


_admission_script = LuaScript(ADMISSION_LUA)
_reseed_script = LuaScript(RESEED_LUA)


def admission_key(session_id) -> str:
    # The braces are a cluster hash tag: everything of one session stays in one slot.
    return f"checkin:adm:{{{session_id}}}"


def _lock_key(session_id) -> str:
    return f"checkin:adm:{{{session_id}}}:reseeding"


def _key_ttl() -> int:
    return settings.CHECKIN_ADMISSION_KEY_TTL


def _decode(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _run(mode: str, session_id, participant_id, capacity: int = 0) -> str:
    try:
        result = _admission_script(
            keys=[admission_key(session_id)],
            args=[mode, str(participant_id), capacity, _key_ttl(), SEEDED_MARKER],
        )
    except RedisResponseError as exc:
        # Wrong type under our key or a script error: Redis is not trustworthy for this session.
        # MongoDB decides; the reseed that follows an unseeded answer replaces the key.
        logger.error("admission script failed for session %s: %s", session_id, exc)
        return Admission.UNSEEDED
    if result == SCRIPT_UNAVAILABLE:
        return Admission.UNAVAILABLE
    return _decode(result)


def admission_reserve(*, session_id, participant_id, capacity: int) -> Admission:
    """Ask Redis for a place for the participant; MongoDB must still admit."""
    return Admission(_run("reserve", session_id, participant_id, capacity))


def admission_add(*, session_id, participant_id) -> None:
    """Record in Redis that MongoDB admitted the participant (no-op while unseeded or down)."""
    _run("add", session_id, participant_id)


def admission_remove(*, session_id, participant_id) -> None:
    """Release a reservation or a place (MongoDB refused, or the participant checked out)."""
    _run("remove", session_id, participant_id)


def admission_forget(*, session_id) -> None:
    """Drop a session's admission set (it is no longer open); a later reseed rebuilds it."""
    try:
        get_redis().delete(admission_key(session_id))
    except RedisResponseError as exc:
        logger.error("admission forget failed for session %s: %s", session_id, exc)


def admission_reseed(*, session_id, participant_ids: list[str], client=None) -> int | None:
    """Replace a session's set with these participant ids (from MongoDB) and mark it seeded.

    With ``client`` (the raw redis-py client handed to recovery callbacks) the script runs on it
    directly; otherwise through the fallback layer. Return the number seeded, or None when Redis
    was unavailable.
    """
    keys = [admission_key(session_id)]
    args = [_key_ttl(), SEEDED_MARKER, *participant_ids]
    if client is not None:
        return int(client.register_script(RESEED_LUA)(keys=keys, args=args))
    try:
        result = _reseed_script(keys=keys, args=args)
    except RedisResponseError as exc:
        logger.error("admission reseed failed for session %s: %s", session_id, exc)
        return None
    return None if result == SCRIPT_UNAVAILABLE else int(result)


def admission_discard(*, session_id, participant_ids, client=None) -> None:
    """Take ids out of a session's set (plain SREM: the set stays seeded, a missing id is no-op)."""
    if not participant_ids:
        return
    try:
        (client or get_redis()).srem(admission_key(session_id), *map(str, participant_ids))
    except RedisResponseError as exc:
        logger.error("admission discard failed for session %s: %s", session_id, exc)


def admission_reseed_lock(*, session_id) -> bool:
    """Take the short per-session reseed lock, so one of many concurrent requests reseeds."""
    try:
        return bool(get_redis().set(_lock_key(session_id), "1", nx=True, px=2000))
    except RedisResponseError:
        return False
