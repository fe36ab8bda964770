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
    link: str | None = None  # the cuttable link it went through (chaos.netcut), if any
    lease: str | None = None  # lease requests: the lease's id

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


def lease_state(answer: dict | None) -> dict:
    """Return a lease answer's lease part ({"lease": id, "room": n, ...}); {} if none.

    A grant or a renewal answers the lease itself; a sync nests it under "lease".
    """
    if not isinstance(answer, dict):
        return {}
    nested = answer.get("lease")
    lease = nested if isinstance(nested, dict) else answer
    return {**lease, "lease": str(lease["lease"])} if lease.get("lease") else {}


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
        timeout: float | None = None,
        **fields,
    ) -> tuple[Record, dict | None]:
        """Send one request; return its Record and the decoded JSON body (None if none).

        ``server`` is (name, base URL) of another gunicorn of the stack (default: the main one), or
        of a door's cuttable link (chaos.netcut, named ``link:<door>``); ``device`` is (id, token)
        of a paired door device to send it as (default: the staff token); ``timeout`` (seconds)
        replaces REQUEST_TIMEOUT, as a door that gives up early does.
        """
        record = Record(seq=next(self._seq), op=op, method=method, path=path, t_start=self.now())
        for key, value in fields.items():
            setattr(record, key, value)
        url = path
        if server is not None:
            record.server, url = server[0], server[1] + path
            if server[0].startswith("link:"):
                record.link = server[0]
        headers = None
        if device is not None:
            record.device, headers = device[0], {"Authorization": f"Device {device[1]}"}
        self.records.append(record)
        body = None
        try:
            response = await self._client.request(
                method,
                url,
                json=json,
                headers=headers,
                timeout=httpx.Timeout(timeout) if timeout else httpx.USE_CLIENT_DEFAULT,
            )
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
        timeout: float | None = None,
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
            timeout=timeout,
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
        nonce: str | None = None,
        timeout: float | None = None,
    ):
        payload = {"participant": participant} | ({"nonce": nonce} if nonce else {})
        return await self.send(
            "check_out",
            "POST",
            f"/api/sessions/{session}/check-out/",
            json=payload,
            server=server,
            device=device,
            timeout=timeout,
            nonce=nonce,
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

    # --- leases of places (docs/door-protocol.md): a door's places for going offline ----------
    async def lease_take(self, *, session: str, places: int, via, device, timeout: float):
        """Ask for (or top up) the device's lease at ``session`` through its link ``via``."""
        body = {"places": places}
        path = f"/api/sessions/{session}/leases/"
        return await self._lease_send("lease", path, body, session, via, device, timeout)

    async def lease_renew(
        self, *, lease: str, session: str, via, device, timeout: float, places: int | None = None
    ):
        """Renew the lease (and top it up to ``places`` unused, when given)."""
        path = f"/api/leases/{lease}/renew/"
        body = {} if places is None else {"places": places}
        return await self._lease_send("lease_renew", path, body, session, via, device, timeout)

    async def lease_sync(
        self,
        *,
        lease: str,
        session: str,
        scans: list[dict],
        returned: int,
        sync_id: str,
        via,
        device,
        timeout: float,
    ):
        """Send a lease's queued offline scans (oldest first) and give ``returned`` places back."""
        body = {"scans": scans, "return": returned, "sync_id": sync_id}
        path = f"/api/leases/{lease}/sync/"
        return await self._lease_send("lease_sync", path, body, session, via, device, timeout)

    async def _lease_send(self, op, path, body, session, via, device, timeout):  # noqa: PLR0917
        record, answer = await self.send(
            op, "POST", path, json=body, server=via, device=device, timeout=timeout,
            session=session,
        )  # fmt: skip
        lease = lease_state(answer)
        # A renewal or a sync names its lease in its path (/api/leases/<id>/...); a grant answers it.
        record.lease = lease.get("lease") or (path.split("/")[3] if op != "lease" else None)
        return record, answer

    async def conflicts(self, *, session: str, page: int = 1):
        """One page of the session's conflicts (the organiser's token)."""
        return await self.send(
            "conflicts", "GET", f"/api/sessions/{session}/conflicts/?page={page}", session=session
        )

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
