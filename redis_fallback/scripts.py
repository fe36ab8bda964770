"""Lua scripts that load once, survive SCRIPT FLUSH and restarts, and degrade to -1."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from redis.exceptions import NoScriptError

from .breaker_calls import UNAVAILABLE, call_redis
from .raw_client import raw_redis

# What a script call returns when Redis is unavailable: "decide in MongoDB". Scripts must not
# return -1 as an ordinary result.
SCRIPT_UNAVAILABLE = -1


class LuaScript:
    """A Lua script run with EVALSHA; on NOSCRIPT it is loaded again and retried once.

    Call it as ``script(keys=[...], args=[...])``. It returns the script's result, or
    ``SCRIPT_UNAVAILABLE`` when the breaker is open or the call fails with a connection error,
    timeout or auth failure. Script errors (``ResponseError``) propagate.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    def __repr__(self) -> str:
        return f"LuaScript(sha={self.sha[:12]})"

    def __call__(self, keys: Sequence[Any] = (), args: Sequence[Any] = ()) -> Any:
        result = call_redis(lambda: self._run(list(keys), list(args)), source="client")
        return SCRIPT_UNAVAILABLE if result is UNAVAILABLE else result

    def _run(self, keys: list[Any], args: list[Any]) -> Any:
        client = raw_redis()
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            # First use, SCRIPT FLUSH, or a restarted (empty) Redis: load and retry once.
            client.script_load(self.source)
            return client.evalsha(self.sha, len(keys), *keys, *args)
