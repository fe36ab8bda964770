"""WebSocket endpoint of the doors view: ``ws/doors/``.

On connect: ``{"type": "mode", ...}`` then ``{"type": "doors", "now", "doors": [...],
"sessions": [...]}`` (the whole view, ``live_app/doors.py``); then a ``doors`` message whenever
the view changed (read at most once per ``DOORS_REFRESH_SECONDS`` per process), ``mode`` when the
hub's source changes and ``heartbeat`` as on the board. The same sign-in and close codes as the
board (``consumers.py``); a paired door device is refused with 4403: door devices see no
telemetry of other doors.
"""

from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async

from .consumers import (
    CLOSE_FORBIDDEN,
    CLOSE_TRY_AGAIN,
    CLOSE_UNAUTHENTICATED,
    SUBPROTOCOL,
    OccupancyConsumer,
)
from .doors import doors_viewer_allowed
from .doors_feed import DoorsSubscriber, doors_feed
from .hub import hub

logger = logging.getLogger("live_app")


class DoorsConsumer(OccupancyConsumer):
    """Stream the doors view (the sending, the sign-in re-check and the clean-up: the board's)."""

    async def connect(self):
        offered = self.scope.get("subprotocols") or []
        await self.accept(SUBPROTOCOL if SUBPROTOCOL in offered else None)
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not await database_sync_to_async(doors_viewer_allowed)(user):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        subscriber = DoorsSubscriber()
        try:
            await doors_feed(hub()).attach(subscriber)
        except Exception as error:
            logger.warning("Doors view read failed: %s", type(error).__name__)
            await self.close(code=CLOSE_TRY_AGAIN)
            return
        self.subscriber = subscriber
        self.sender = asyncio.create_task(self._send_loop(subscriber))
        sign_in_valid = self.scope.get("sign_in_valid")
        if sign_in_valid is not None:
            self.watcher = asyncio.create_task(self._watch_sign_in(sign_in_valid))
