"""Writes of door devices: add one with a pairing code, pair it, rotate its token, revoke it.

Secrets are shown once and stored as their SHA-256 only: the pairing code (8 characters from an
alphabet without look-alikes, valid ``PAIRING_MINUTES``) and the device's token. Every change of
state is one conditional update in MongoDB, so two tablets typing the same code cannot both pair.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from .models import DoorDevice

PAIRING_MINUTES = 10
# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: a code read off a screen is typed right on a tablet.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 8
TOKEN_BYTES = 32


class PairingError(Exception):
    """A pairing code that pairs nothing: ``reason`` says why (stable, machine-readable)."""

    INVALID = "pairing_code_invalid"
    EXPIRED = "pairing_code_expired"
    USED = "pairing_code_used"
    REVOKED = "device_revoked"
    DETAILS = {
        INVALID: "This pairing code is not known. Check it, or ask for a new one.",
        EXPIRED: "This pairing code has expired. Ask an organiser for a new one.",
        USED: "This pairing code was already used. Ask an organiser for a new one.",
        REVOKED: "This device was revoked. Ask an organiser to add a new device.",
    }

    def __init__(self, reason: str):
        super().__init__(self.DETAILS[reason])
        self.reason = reason
        self.detail = self.DETAILS[reason]


class DeviceRevokedError(Exception):
    """A revoked device cannot get a new pairing code (add a new device instead)."""


@dataclass(frozen=True)
class IssuedCode:
    """A pairing code as shown once: the code (grouped for reading) and when it expires."""

    device: DoorDevice
    code: str
    expires_at: datetime


@dataclass(frozen=True)
class IssuedToken:
    """A device token as handed out once, at pairing or rotation."""

    device: DoorDevice
    token: str


def secret_hash(value: str) -> str:
    """Return the SHA-256 (hex) under which a code or token is stored."""
    return hashlib.sha256(value.encode()).hexdigest()


def pairing_code_normalize(value: str) -> str:
    """Return a typed code as stored: upper case, without spaces or dashes."""
    return "".join(ch for ch in value.upper() if ch not in " -\t\r\n")


def pairing_code_display(code: str) -> str:
    """Return ``code`` grouped in fours (``ACDE-FGHJ``), as shown and as typed."""
    return f"{code[:4]}-{code[4:]}"


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _pairing_fields(now: datetime) -> tuple[dict, IssuedCode | None]:
    code = _new_code()
    expires_at = now + timedelta(minutes=PAIRING_MINUTES)
    return {"pairing_code_hash": secret_hash(code), "pairing_expires_at": expires_at}, (
        pairing_code_display(code),
        expires_at,
    )


def device_create(
    *,
    name: str,
    session_ids: Iterable | None = None,
    location: str = "",
    created_by: str = "",
) -> IssuedCode:
    """Add a device scoped to ``session_ids`` (None: every session); return its pairing code."""
    fields, (code, expires_at) = _pairing_fields(timezone.now())
    device = DoorDevice.objects.create(
        name=name,
        location=location,
        all_sessions=session_ids is None,
        session_ids=list(session_ids or []),
        created_by=created_by,
        **fields,
    )
    return IssuedCode(device=device, code=code, expires_at=expires_at)


def device_pairing_code_new(*, device: DoorDevice) -> IssuedCode:
    """Give ``device`` a new pairing code (the old one is dead; its token works until paired)."""
    if device.revoked_at is not None:
        raise DeviceRevokedError(device.name)
    fields, (code, expires_at) = _pairing_fields(timezone.now())
    if not DoorDevice.objects.filter(pk=device.pk, revoked_at=None).update(**fields):
        raise DeviceRevokedError(device.name)
    for name, value in fields.items():
        setattr(device, name, value)
    return IssuedCode(device=device, code=code, expires_at=expires_at)


def _token_fields(now: datetime) -> tuple[dict, str]:
    token = secrets.token_hex(TOKEN_BYTES)
    return {"token_hash": secret_hash(token), "token_issued_at": now}, token


def device_pair(*, code: str) -> IssuedToken:
    """Exchange a pairing code for the device's token (the code is spent; a former token dies).

    Raises ``PairingError`` for an unknown, expired, spent code, or a revoked device.
    """
    code_hash = secret_hash(pairing_code_normalize(code))
    device = DoorDevice.objects.filter(pairing_code_hash=code_hash).first() if code else None
    if device is None:
        raise PairingError(PairingError.INVALID)
    now = timezone.now()
    fields, token = _token_fields(now)
    claimed = DoorDevice.objects.filter(
        pk=device.pk,
        pairing_code_hash=code_hash,
        pairing_expires_at__gt=now,
        revoked_at=None,
    ).update(pairing_expires_at=None, paired_at=now, last_seen_at=now, **fields)
    if not claimed:
        raise PairingError(_refusal(device, now))
    device.refresh_from_db()
    return IssuedToken(device=device, token=token)


def _refusal(device: DoorDevice, now: datetime) -> str:
    device.refresh_from_db()
    if device.revoked_at is not None:
        return PairingError.REVOKED
    if device.pairing_expires_at is None:
        return PairingError.USED
    return PairingError.EXPIRED


def device_token_rotate(*, device: DoorDevice) -> IssuedToken:
    """Give a paired device a new token; the old one stops working at once."""
    fields, token = _token_fields(timezone.now())
    if not DoorDevice.objects.filter(
        pk=device.pk, token_hash=device.token_hash, revoked_at=None
    ).update(**fields):
        raise DeviceRevokedError(device.name)
    for name, value in fields.items():
        setattr(device, name, value)
    return IssuedToken(device=device, token=token)


def device_revoke(*, device: DoorDevice) -> bool:
    """Revoke ``device``: its token and pairing code stop working; return False if it already was.

    The token's hash stays, so the device's next request is told it was revoked (not "unknown").
    """
    now = timezone.now()
    done = DoorDevice.objects.filter(pk=device.pk, revoked_at=None).update(
        revoked_at=now, pairing_expires_at=None
    )
    device.refresh_from_db()
    return bool(done)


def device_seen(*, device: DoorDevice, now: datetime) -> None:
    """Note that ``device`` was seen ``now`` (the caller decides how often; a failure is not)."""
    DoorDevice.objects.filter(pk=device.pk).update(last_seen_at=now)
    device.last_seen_at = now
