"""Redis admission control in front of MongoDB (which alone decides; see docs/door-protocol.md).

Key layout: one Redis set per session, ``checkin:adm:{<session id>}``, holding the ids of the
participants inside (or reserved by a request in flight) plus the marker member ``~seeded``. The
number inside is ``SCARD - 1``: counter and membership live in one key, so they cannot drift
apart, and an eviction or FLUSHALL that removes the key removes the marker with it. A set without
the marker (or no key at all) is "unseeded": the script answers ``unseeded`` and MongoDB decides,
after which the request reseeds the set from the CheckIn records.

A rebuild from MongoDB (``admission_rebuild_begin``, read the holders, ``admission_rebuild_commit``)
writes the set from a read taken a moment before; the changes requests make in Redis meanwhile
are noted in a journal key and applied on top, so none is lost (docs/door-protocol.md). After an
outage one process rebuilds every open session's set for all, under ``checkin:adm:reseeding`` (a
lock) and leaving ``checkin:adm:reseeded`` (a marker): ``services/admission_sync.py``.

Everything here is advisory. Redis may only turn a request away early (duplicate, full), and the
service confirms those answers with cheap MongoDB reads before answering; a wrong Redis state
can therefore cost extra MongoDB work but never an overbooking or a wrong verdict.
"""

from __future__ import annotations

import enum
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from redis_fallback import (
    SCRIPT_UNAVAILABLE,
    LuaScript,
    RedisResponseError,
    get_redis,
    is_redis_available,
)

logger = logging.getLogger(__name__)

SEEDED_MARKER = "~seeded"  # not an ObjectId, so never a participant id

# KEYS = the session's set, its rebuild journal, its recent reservations; ARGV = mode,
# participant id, capacity, key TTL (seconds), marker, reservation window (ms).
# While a rebuild is under way (the journal exists: ``admission_rebuild_begin``) every change is
# also noted in the journal, so the rebuild's write, made from a read taken before, keeps it.
ADMISSION_LUA = """
local key, journal, held = KEYS[1], KEYS[2], KEYS[3]
local mode, who = ARGV[1], ARGV[2]
local function note(value)
  if redis.call('EXISTS', journal) == 1 then redis.call('HSET', journal, who, value) end
end
if mode == 'remove' then redis.call('ZREM', held, who) end
if redis.call('SISMEMBER', key, ARGV[5]) == 0 then
  if mode == 'add' then note('1') elseif mode == 'remove' then note('0') end
  return 'unseeded'
end
if mode == 'reserve' then
  if redis.call('SISMEMBER', key, who) == 1 then return 'member' end
  if redis.call('SCARD', key) - 1 >= tonumber(ARGV[3]) then return 'full' end
  redis.call('SADD', key, who)
  redis.call('EXPIRE', key, ARGV[4])
  local now = redis.call('TIME')
  local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  redis.call('ZADD', held, ms, who)
  redis.call('ZREMRANGEBYSCORE', held, '-inf', ms - tonumber(ARGV[6]))
  redis.call('PEXPIRE', held, ARGV[6])
  note('1')
  return 'reserved'
elseif mode == 'add' then
  redis.call('SADD', key, who)
  redis.call('EXPIRE', key, ARGV[4])
  note('1')
  return 'added'
elseif mode == 'remove' then
  note('0')
  if redis.call('SREM', key, who) == 1 then return 'removed' end
  return 'absent'
end
return redis.error_reply('unknown admission mode ' .. tostring(mode))
"""

# A rebuild's first step, before it reads MongoDB: a fresh journal under the rebuild's token.
# Returns the reservations made in the last window: their requests may claim in MongoDB only
# after the rebuild's read, and an admission with a reservation writes nothing more to Redis.
# KEYS = the set, the journal, the recent reservations; ARGV = token, window (ms), journal TTL
# (ms), then participant ids whose reservation is over (decided while Redis was unreachable).
REBUILD_BEGIN_LUA = """
local journal, held = KEYS[2], KEYS[3]
redis.call('DEL', journal)
for i = 4, #ARGV do redis.call('ZREM', held, ARGV[i]) end
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', held, '-inf', ms - tonumber(ARGV[2]))
redis.call('HSET', journal, '~token', ARGV[1])
redis.call('PEXPIRE', journal, ARGV[3])
return redis.call('ZRANGE', held, 0, -1)
"""

# The rebuild's write: the holders read from MongoDB, then every change noted since the rebuild
# began, in one atomic step, so no request ever sees the set half-written. Nothing is written if
# another rebuild began since (it writes the set) or the journal expired: 'superseded'.
# KEYS = the set, the journal; ARGV = key TTL, marker, token, participant ids (from MongoDB).
REBUILD_COMMIT_LUA = """
local key, journal = KEYS[1], KEYS[2]
if redis.call('HGET', journal, '~token') ~= ARGV[3] then return 'superseded' end
local noted = redis.call('HGETALL', journal)
redis.call('DEL', key, journal)
redis.call('SADD', key, ARGV[2])
for i = 4, #ARGV, 1000 do
  redis.call('SADD', key, unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
for i = 1, #noted, 2 do
  if noted[i] ~= '~token' then
    if noted[i + 1] == '1' then redis.call('SADD', key, noted[i])
    else redis.call('SREM', key, noted[i]) end
  end
end
redis.call('EXPIRE', key, ARGV[1])
return redis.call('SCARD', key) - 1
"""

# How long a reservation counts as in flight for a rebuild that begins meanwhile: its request
# claims in MongoDB within milliseconds, unless stalled (then the reconcile repairs the set).
RESERVATION_WINDOW_MS = 5000
# A rebuild takes milliseconds; a journal whose rebuild died goes after this.
JOURNAL_TTL_MS = 60_000
SUPERSEDED = -2  # what ``admission_rebuild_commit`` returns when another rebuild took over


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
_begin_script = LuaScript(REBUILD_BEGIN_LUA)
_commit_script = LuaScript(REBUILD_COMMIT_LUA)


def admission_key(session_id) -> str:
    # The braces are a cluster hash tag: everything of one session stays in one slot.
    return f"checkin:adm:{{{session_id}}}"


def _journal_key(session_id) -> str:
    return f"checkin:adm:{{{session_id}}}:rebuild"


def _held_key(session_id) -> str:
    return f"checkin:adm:{{{session_id}}}:held"


def _keys(session_id) -> list[str]:
    return [admission_key(session_id), _journal_key(session_id), _held_key(session_id)]


def _lock_key(session_id) -> str:
    return f"checkin:adm:{{{session_id}}}:reseeding"


def _key_ttl() -> int:
    return settings.CHECKIN_ADMISSION_KEY_TTL


def _decode(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _run(mode: str, session_id, participant_id, capacity: int = 0) -> str:
    try:
        result = _admission_script(
            keys=_keys(session_id),
            args=[
                mode, str(participant_id), capacity, _key_ttl(), SEEDED_MARKER,
                RESERVATION_WINDOW_MS,
            ],
        )  # fmt: skip
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
    """Record in Redis that MongoDB admitted the participant (no-op while unseeded).

    Redis unavailable: the decision is noted for the rebuild (``admission_missed``)."""
    if _run("add", session_id, participant_id) == Admission.UNAVAILABLE:
        _missed_note(session_id, participant_id)


def admission_remove(*, session_id, participant_id) -> None:
    """Release a reservation or a place (MongoDB refused, or the participant checked out).

    Redis unavailable: the decision is noted for the rebuild (``admission_missed``)."""
    if _run("remove", session_id, participant_id) == Admission.UNAVAILABLE:
        _missed_note(session_id, participant_id)


# --- decisions Redis missed -----------------------------------------------------------------------
#
# A decision made in MongoDB while this process could not reach Redis (breaker open or half-open)
# cannot be written to the set. The prober's rebuild may already have read that session before
# the decision (it runs while the breaker is half-open, and every call of the process is denied
# until it closes): the set would stay one entry off until the reconcile. So the session is noted
# here, per process, and rebuilt again once the breaker is closed (``sessions_app.apps``), by the
# prober right after it closes or, if the note came after that, by the request that noted it.

_missed_lock = threading.Lock()
_missed: dict[str, set[str]] = {}
# Rebuilds the noted sessions (``services.admission_sync.admission_missed_rebuild``; set by
# ``sessions_app.apps``: this module does not read MongoDB).
_missed_rebuilder: Callable[[], int] | None = None


def admission_missed_rebuilder_set(rebuild: Callable[[], int]) -> None:
    """Name the function that rebuilds the sessions noted here (once, at start-up)."""
    global _missed_rebuilder  # noqa: PLW0603
    _missed_rebuilder = rebuild


def _missed_note(session_id, participant_id) -> None:
    with _missed_lock:
        _missed.setdefault(str(session_id), set()).add(str(participant_id))
    # The prober rebuilds the noted sessions right after it closes the breaker; a note made after
    # that (this request was denied just before the close) is this request's to rebuild.
    if is_redis_available() and _missed_rebuilder is not None:
        _missed_rebuilder()


def admission_missed_take() -> dict[str, set[str]]:
    """Take the sessions (and participants) whose decisions Redis missed in this process."""
    with _missed_lock:
        taken = dict(_missed)
        _missed.clear()
    return taken


def admission_missed_return(session_id, participant_ids) -> None:
    """Put back a session whose rebuild did not happen (Redis went away again)."""
    with _missed_lock:
        _missed.setdefault(str(session_id), set()).update(map(str, participant_ids))


def admission_forget(*, session_id) -> None:
    """Drop a session's admission set (it is no longer open); a later reseed rebuilds it."""
    try:
        get_redis().delete(*_keys(session_id))
    except RedisResponseError as exc:
        logger.error("admission forget failed for session %s: %s", session_id, exc)


def _script_call(script: LuaScript, keys, args, client):
    """Run ``script`` on the raw ``client`` (recovery callbacks) or through the fallback layer;
    None when Redis was unavailable."""
    if client is not None:
        return client.register_script(script.source)(keys=keys, args=args)
    result = script(keys=keys, args=args)
    return None if result == SCRIPT_UNAVAILABLE else result


@dataclass(frozen=True)
class Rebuild:
    """A rebuild begun: its token, and the reservations made just before it (in flight, maybe)."""

    token: str
    reserved: tuple[str, ...]


def admission_rebuild_begin(*, session_id, forget=(), client=None) -> Rebuild | None:
    """Start rebuilding a session's set: from now on Redis notes every change for the rebuild.

    Call it before reading the holders from MongoDB. ``forget``: participants whose reservation
    is over (decided while this process could not reach Redis). Return the rebuild, or None when
    Redis was unavailable (or the call failed: nothing to rebuild now).
    """
    token = uuid.uuid4().hex
    args = [token, RESERVATION_WINDOW_MS, JOURNAL_TTL_MS, *map(str, forget)]
    try:
        reserved = _script_call(_begin_script, _keys(session_id), args, client)
    except RedisResponseError as exc:
        logger.error("admission rebuild failed for session %s: %s", session_id, exc)
        return None
    if reserved is None:
        return None
    return Rebuild(token, tuple(_decode(who) for who in reserved))


def admission_rebuild_commit(
    *, session_id, token: str, participant_ids: list[str], client=None
) -> int | None:
    """Write the set: the holders read from MongoDB since the rebuild began, then the changes
    Redis noted meanwhile. Return the number in the set, ``SUPERSEDED`` if another rebuild began
    since (that one writes the set), or None when Redis was unavailable.
    """
    keys = _keys(session_id)[:2]
    args = [_key_ttl(), SEEDED_MARKER, token, *participant_ids]
    try:
        result = _script_call(_commit_script, keys, args, client)
    except RedisResponseError as exc:
        logger.error("admission rebuild failed for session %s: %s", session_id, exc)
        return None
    if result is None:
        return None
    return SUPERSEDED if _decode(result) == "superseded" else int(result)


def admission_reseed_lock(*, session_id) -> bool:
    """Take the short per-session reseed lock, so one of many concurrent requests reseeds."""
    try:
        return bool(get_redis().set(_lock_key(session_id), "1", nx=True, px=2000))
    except RedisResponseError:
        return False
