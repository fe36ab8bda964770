"""WebSocket endpoints: ``ws/occupancy/`` (every open session) and ``ws/sessions/<id>/`` (one).

On connect: ``{"type": "mode", ...}`` then ``{"type": "snapshot", "sessions": [...]}``; then
``{"type": "session", "session": {...}}`` per change, ``{"type": "removed", "id": ...}`` when a
session leaves the view, ``{"type": "mode", "mode": "live" | "polling"}`` when the hub's source
changes and ``{"type": "heartbeat"}`` every ``LIVE_HEARTBEAT_SECONDS``. Each state carries its
``version``: a client keeps, per session, only a version newer than the one it shows.

Refusals are close codes after the handshake, so a page can tell them apart: 4401 not signed in,
4403 not allowed to check in (the door rule, ``user_can_check_in``; for a door device, a session
it may not scan, or every session unless it may scan all), 4404 unknown session, 1013 MongoDB
unavailable (try again later). A bad ``Origin`` is refused at the handshake (HTTP 403). An open
connection whose sign-in stopped being valid (token deleted or expired, user deactivated or given
a new password, door device revoked, deleted or re-tokened) is closed with 4401 within
``SIGN_IN_RECHECK_SECONDS`` (plus the token copy's seconds when the change was made in another
process; a device is never copied).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from sessions_app.groups import user_can_check_in

from .hub import Subscriber, hub

logger = logging.getLogger("live_app")

SUBPROTOCOL = "checkin"  # offered with "token.<key>" by clients that sign in with a token
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TRY_AGAIN = 1013
# How often an open connection asks whether its sign-in is still valid (accounts/ws_auth.py puts
# the question in the scope): the longest a revoked user keeps receiving updates here.
SIGN_IN_RECHECK_SECONDS = 2.0


def _device_may_watch(user, session_id: str | None) -> bool:
    """A door device watches its own sessions only: one of them, or every one if it may scan all."""
    device = getattr(user, "door_device", None)
    if device is None:
        return True
    return user.may_scan(session_id) if session_id is not None else device.all_sessions


class OccupancyConsumer(AsyncJsonWebsocketConsumer):
    """Stream the live state of every open session, or of the one in the URL."""

    subscriber: Subscriber | None = None
    sender: asyncio.Task | None = None
    watcher: asyncio.Task | None = None

    async def connect(self):
        offered = self.scope.get("subprotocols") or []
        await self.accept(SUBPROTOCOL if SUBPROTOCOL in offered else None)
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        session_id = self.scope["url_route"]["kwargs"].get("session_id")
        if not await database_sync_to_async(user_can_check_in)(user) or not _device_may_watch(
            user, session_id
        ):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        subscriber = Subscriber(session_id)
        try:
            states = await hub().attach(subscriber)
        except Exception as error:
            logger.warning("Live snapshot failed: %s", type(error).__name__)
            await self.close(code=CLOSE_TRY_AGAIN)
            return
        if session_id is not None and not states:
            hub().detach(subscriber)
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.subscriber = subscriber
        self.sender = asyncio.create_task(self._send_loop(subscriber))
        sign_in_valid = self.scope.get("sign_in_valid")
        if sign_in_valid is not None:
            self.watcher = asyncio.create_task(self._watch_sign_in(sign_in_valid))

    async def _watch_sign_in(self, sign_in_valid) -> None:
        while True:
            await asyncio.sleep(SIGN_IN_RECHECK_SECONDS)
            try:
                valid = await sign_in_valid()
            except Exception as error:  # MongoDB unreachable: keep the screen, ask again later
                logger.warning("Live sign-in re-check failed: %s", type(error).__name__)
                continue
            if not valid:
                await self.close(code=CLOSE_UNAUTHENTICATED)
                return

    async def _send_loop(self, subscriber: Subscriber) -> None:
        with contextlib.suppress(Exception):  # the client went away: disconnect() cleans up
            while True:
                for message in await subscriber.next_batch():
                    await self.send_json(message)

    async def receive_json(self, content, **kwargs):
        """Clients send nothing the server needs; ``{"type": "ping"}`` is answered."""
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # Bad input never crashes the connection (a non-JSON frame is ignored).
        with contextlib.suppress(ValueError):
            await super().receive(text_data=text_data, bytes_data=bytes_data, **kwargs)

    async def disconnect(self, code):
        if self.subscriber is not None:
            hub().detach(self.subscriber)
            self.subscriber = None
        if self.sender is not None:
            self.sender.cancel()
            self.sender = None
        if self.watcher is not None:
            self.watcher.cancel()
            self.watcher = None


class NotFoundConsumer(AsyncJsonWebsocketConsumer):
    """Any other WebSocket path: accepted, then closed with 4404 (never a server error)."""

    async def connect(self):
        await self.accept()
        await self.close(code=CLOSE_NOT_FOUND)
