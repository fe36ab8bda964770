"""The offline pack: what a door needs to give verdicts while the server cannot answer.

A door decides an offline scan on its own (docs/door-offline.md): is this ticket known, who is
it, is the person inside already. The pack answers that without naming anybody in clear. Per
ticket code, with the session's salt:

- ``master = PBKDF2-HMAC-SHA256(ticket code, salt, KDF_ITERATIONS, 32 bytes)``
  (the code normalised as everywhere: trimmed, upper case, UTF-8);
- ``h = HKDF-SHA256(master, salt="", info=HASH_INFO, 32 bytes)``, base64url without padding:
  the entry's key, and what ``inside`` lists;
- ``key = HKDF-SHA256(master, salt="", info=KEY_INFO, 32 bytes)``: an AES-256-GCM key;
  ``n = base64url(nonce(12) || AES-GCM(key, nonce, full name, aad=session id))``.

So a lost device shows hashes and ciphertexts: a name is read only by whoever types its ticket
code. The browser repeats the derivation with WebCrypto (door_app/static/door/offline.js).

The salt is per session and stable (an HMAC of the session id with SECRET_KEY), so an entry's
hash does not change between refreshes. Deriving costs ``KDF_ITERATIONS`` hashes per ticket:
each process keeps the entries it derived (``ENTRY_CACHE`` of them), so a refresh costs the
reads and the JSON, not the KDF.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.utils import timezone

from participants_app.fields import ticket_code_normalize
from participants_app.models import Participant
from sessions_app.models import CheckIn, Session

KDF = "PBKDF2-HMAC-SHA256"
KDF_ITERATIONS = 1000  # cold: ~1 ms per ticket here; an attacker pays it per guess per session
HASH_INFO = b"door-offline-pack/hash"
KEY_INFO = b"door-offline-pack/name-key"
CIPHER = "AES-256-GCM"
NONCE_BYTES = 12
ENTRY_CACHE = 50_000
KDF_PARAMETERS = {
    "name": KDF,
    "hash": "SHA-256",
    "iterations": KDF_ITERATIONS,
    "hash_info": HASH_INFO.decode(),
    "key_info": KEY_INFO.decode(),
    "cipher": CIPHER,
    "nonce_bytes": NONCE_BYTES,
}


def b64url(raw: bytes) -> str:
    """Encode ``raw`` as base64url without padding (the pack's encoding of bytes)."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def pack_salt(*, session_id) -> bytes:
    """Return the session's salt: 16 bytes, stable, unknown without SECRET_KEY."""
    message = f"door-offline-pack:{session_id}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()[:16]


def _hkdf(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


@lru_cache(maxsize=ENTRY_CACHE)
def ticket_secrets(ticket_code: str, salt: bytes) -> tuple[str, bytes]:
    """Return ``(h, key)`` of a ticket code under ``salt``: its hash and its name key."""
    code = ticket_code_normalize(ticket_code).encode()
    master = hashlib.pbkdf2_hmac("sha256", code, salt, KDF_ITERATIONS, 32)
    return b64url(_hkdf(master, HASH_INFO)), _hkdf(master, KEY_INFO)


@lru_cache(maxsize=ENTRY_CACHE)
def _sealed(key: bytes, name: str, aad: bytes) -> str:
    # Kept per (key, name, session): the same name sealed once, not on every refresh.
    nonce = os.urandom(NONCE_BYTES)
    return b64url(nonce + AESGCM(key).encrypt(nonce, name.encode(), aad))


def name_seal(*, key: bytes, name: str, session_id) -> str:
    """Encrypt ``name`` with ``key`` (AES-256-GCM, the session id as associated data)."""
    return _sealed(key, name, str(session_id).encode())


def name_open(*, key: bytes, sealed: str, session_id) -> str:
    """Decrypt what ``name_seal`` sealed (raises ``cryptography``'s InvalidTag if not)."""
    raw = b64url_decode(sealed)
    nonce, box = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
    return AESGCM(key).decrypt(nonce, box, str(session_id).encode()).decode()


@dataclass(frozen=True)
class OfflinePack:
    """The pack of one session, as the API answers it."""

    session: Session
    salt: bytes
    entries: list[dict]
    inside: list[str]
    generated_at: object

    def as_json(self) -> dict:
        session = self.session
        return {
            "session": {
                "id": str(session.pk),
                "title": session.title,
                "capacity": session.capacity,
                "check_in_count": session.check_in_count,
                "status": session.status,
            },
            "salt": b64url(self.salt),
            "kdf": KDF_PARAMETERS,
            "entries": self.entries,
            "inside": self.inside,
            "generated_at": self.generated_at.isoformat(),
        }


def session_offline_pack(*, session: Session) -> OfflinePack:
    """Build the offline pack of ``session``: every ticket that may be scanned, who is inside."""
    generated_at = timezone.now()
    salt = pack_salt(session_id=session.pk)
    people = Participant.objects.filter(deleting=False).values_list(
        "pk", "ticket_code", "full_name"
    )
    holding = set(
        CheckIn.objects.filter(session=session, state__in=CheckIn.HOLDING_STATES).values_list(
            "participant_id", flat=True
        )
    )
    entries, inside = [], []
    for pk, code, name in people:
        h, key = ticket_secrets(code, salt)
        entries.append({"h": h, "n": name_seal(key=key, name=name, session_id=session.pk)})
        if pk in holding:
            inside.append(h)
    return OfflinePack(session, salt, entries, inside, generated_at)
