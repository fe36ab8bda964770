"""A recording HTTP client for the check-in API: every request and its answer become a Record.

All knowledge of the API's paths and payloads lives here (and of the MongoDB layout in
chaos/mongo.py), so the rest of the suite speaks in sessions, participants and verdicts.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import asdict, dataclass

import httpx

# A request gets this long in total. Longer than a door scanner would wait, on purpose: a request
# caught on a stalled web worker (up to 20 s) is answered after the stall, and its verdict counts.
REQUEST_TIMEOUT = httpx.Timeout(30.0, connect=3.0)


@dataclass
class Record:
    """One HTTP exchange as the client saw it (times in seconds since the run's start)."""

    seq: int
    op: str  # check_in | check_out | session_detail | stats | health | setup
    method: str
    path: str
    t_start: float
    t_end: float = 0.0
    status: int | None = None
    reason: str | None = None
    error: str | None = None  # exception class and message when no answer came
    session: str | None = None
    participant: str | None = None
    via: str | None = None  # "id" | "ticket" for check-ins
    nonce: str | None = None
    attempt: int = 1  # > 1: the same request sent again (same nonce) after no answer
    duplicate: bool = False  # sent on purpose as a replay of an earlier request
    count: int | None = None  # the session's count in the verdict
    capacity: int | None = None
    server: str = "web"  # which gunicorn answered: "web", or "web-stall" (targeted stalls)
    retry_after: float | None = None  # the Retry-After header of the answer, if any
    health: str | None = None  # /health: the overall status (ok, degraded, error)
    device: str | None = (
        None  # the paired door device that sent it (its id), if not the staff token
    )

    @property
    def latency_ms(self) -> float:
        return (self.t_end - self.t_start) * 1000.0

    @property
    def answered(self) -> bool:
        return self.status is not None

    def as_dict(self) -> dict:
        data = asdict(self)
        data["latency_ms"] = round(self.latency_ms, 3)
        return data


class RecordingClient:
    """Send API requests with a bounded timeout and keep a Record of each one."""

    def __init__(self, base_url: str, token: str, *, t0: float, limits: int = 16) -> None:
        self.base_url = base_url
        self.t0 = t0
        self.records: list[Record] = []
        self._seq = itertools.count(1)
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Token {token}", "Accept": "application/json"},
            timeout=REQUEST_TIMEOUT,
            limits=httpx.Limits(max_connections=limits, max_keepalive_connections=0),
        )

    def now(self) -> float:
        return time.monotonic() - self.t0

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(
        self,
        op: str,
        method: str,
        path: str,
        *,
        json: dict | None = None,
        server: tuple[str, str] | None = None,
        device: tuple[str, str] | None = None,
        **fields,
    ) -> tuple[Record, dict | None]:
        """Send one request; return its Record and the decoded JSON body (None if none).

        ``server`` is (name, base URL) of another gunicorn of the stack (default: the main one);
        ``device`` is (id, token) of a paired door device to send it as (default: the staff token).
        """
        record = Record(seq=next(self._seq), op=op, method=method, path=path, t_start=self.now())
        for key, value in fields.items():
            setattr(record, key, value)
        url = path
        if server is not None:
            record.server, url = server[0], server[1] + path
        headers = None
        if device is not None:
            record.device, headers = device[0], {"Authorization": f"Device {device[1]}"}
        self.records.append(record)
        body = None
        try:
            response = await self._client.request(method, url, json=json, headers=headers)
        except (httpx.HTTPError, OSError) as exc:
            record.error = f"{type(exc).__name__}: {exc}"[:300]
        except asyncio.CancelledError:
            record.t_end = self.now()
            record.error = "Cancelled: run stopped before the answer"
            raise
        else:
            record.status = response.status_code
            retry_after = response.headers.get("retry-after", "")
            if retry_after.replace(".", "", 1).isdigit():
                record.retry_after = float(retry_after)
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                record.reason = body.get("reason")
                session = body.get("session")
                if isinstance(session, dict):
                    record.count = session.get("check_in_count")
                    record.capacity = session.get("capacity")
                else:
                    record.count = body.get("check_in_count", body.get("count"))
                    record.capacity = body.get("capacity")
        record.t_end = self.now()
        return record, body

    # --- the API -------------------------------------------------------------------------------
    async def create_session(self, *, title: str, capacity: int, starts_at: str, ends_at: str):
        return await self.send(
            "setup",
            "POST",
            "/api/sessions/",
            json={
                "title": title,
                "capacity": capacity,
                "status": "open",
                "starts_at": starts_at,
                "ends_at": ends_at,
                "location": "chaos hall",
            },
        )

    async def create_participant(self, *, full_name: str, email: str):
        return await self.send(
            "setup",
            "POST",
            "/api/participants/",
            json={"full_name": full_name, "email": email, "organization": "chaos"},
        )

    async def check_in(
        self,
        *,
        session: str,
        participant: str,
        ticket_code: str | None,
        nonce: str,
        attempt: int = 1,
        duplicate: bool = False,
        server: tuple[str, str] | None = None,
        device: tuple[str, str] | None = None,
    ):
        """Check in by ticket code when one is given, else by participant id (as ``device``, a
        paired door device's (id, token), when given)."""
        payload = {"ticket_code": ticket_code} if ticket_code else {"participant": participant}
        payload["nonce"] = nonce
        return await self.send(
            "check_in",
            "POST",
            f"/api/sessions/{session}/check-in/",
            json=payload,
            server=server,
            device=device,
            session=session,
            participant=participant,
            via="ticket" if ticket_code else "id",
            nonce=nonce,
            attempt=attempt,
            duplicate=duplicate,
        )

    async def check_out(
        self,
        *,
        session: str,
        participant: str,
        attempt: int = 1,
        server: tuple[str, str] | None = None,
        device: tuple[str, str] | None = None,
    ):
        return await self.send(
            "check_out",
            "POST",
            f"/api/sessions/{session}/check-out/",
            json={"participant": participant},
            server=server,
            device=device,
            session=session,
            participant=participant,
            attempt=attempt,
        )

    async def create_device(self, *, name: str, sessions: list[str]):
        """Add a door device scoped to ``sessions`` (the organiser's token); answers its code."""
        return await self.send(
            "setup", "POST", "/api/devices/", json={"name": name, "sessions": sessions}
        )

    async def pair_device(self, *, code: str):
        """Pair a device with its one-time code (no credentials needed); answers its token."""
        return await self.send("setup", "POST", "/api/devices/pair/", json={"code": code})

    async def session_detail(self, *, session: str):
        return await self.send(
            "session_detail", "GET", f"/api/sessions/{session}/", session=session
        )

    async def stats(self):
        return await self.send("stats", "GET", "/api/sessions/stats/")

    async def health(self):
        """GET /health; the record's reason is the answering process's view of Redis."""
        record, body = await self.send("health", "GET", "/health")
        if isinstance(body, dict):
            record.health = body.get("status")
            if isinstance(body.get("redis"), dict):
                record.reason = f"redis {body['redis'].get('status')}"
        return record, body
