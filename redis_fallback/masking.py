"""Keep credentials and hosts out of status dicts and log lines.

Choice: a masked URL keeps the scheme, port, path (the database number) and nothing else, e.g.
``redis://:secret@cache.internal:6379/0`` becomes ``redis://***@***:6379/0``. The ``***@`` part
appears only when the URL carries credentials; a query string (it may hold ``password=``) becomes
``?***``. Free text (an exception message) has every URL in it masked that way, and the host,
user name and password of the configured URL, and any IPv4 address, replaced by ``***``.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

MASK = "***"

_URL_RE = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
_IPV4_RE = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_IPV6_BRACKETED_RE = re.compile(r"\[[0-9a-fA-F:.]+\]")


def mask_url(url: str) -> str:
    """Return ``url`` with user, password, host and query replaced by ``***``."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return MASK
    if not parts.scheme:
        return MASK
    userinfo = f"{MASK}@" if "@" in parts.netloc else ""
    host = MASK if parts.hostname else ""
    netloc = f"{userinfo}{host}{f':{port}' if port else ''}"
    query = f"?{MASK}" if parts.query else ""
    return f"{parts.scheme}://{netloc}{parts.path}{query}"


def _secrets_of(url: str | None) -> list[str]:
    if not url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = [parts.password, parts.username, parts.hostname]
    found += [unquote(value) for value in found if value]
    # Longest first, so a password containing the host name is replaced whole.
    return sorted({value for value in found if value}, key=len, reverse=True)


def mask_text(text: str, *, url: str | None = None) -> str:
    """Return ``text`` with URLs, IP addresses and the secrets and host of ``url`` masked."""
    text = _URL_RE.sub(lambda match: mask_url(match.group(0)), text)
    for secret in _secrets_of(url):
        text = text.replace(secret, MASK)
    text = _IPV6_BRACKETED_RE.sub(MASK, text)
    return _IPV4_RE.sub(MASK, text)


def describe_error(error: BaseException, *, url: str | None = None) -> str:
    """Return ``"<ErrorType>: <masked message>"`` for the status dict and log lines."""
    message = mask_text(str(error), url=url)
    name = type(error).__name__
    return f"{name}: {message}" if message else name
