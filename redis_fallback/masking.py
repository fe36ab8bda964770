"""The one masking policy for every error text the project shows or logs about its dependencies.

Used by the Redis layer's status (``last_error``) and log lines, and by every text that health
prints (``health_app.probes.mask_error``). It lives here, the lowest layer that needs it.

Policy:
- a URL keeps the scheme, port, path (the database number) and nothing else, e.g.
  ``redis://:secret@cache.internal:6379/0`` becomes ``redis://***@***:6379/0`` (``***@`` only
  when the URL carries credentials; a query string, which may hold ``password=``, becomes ``?***``;
  several hosts, as in a Sentinel URL, keep their ports: ``redis+sentinel://***@***:26379,
  ***:26380/mymaster/0``; kombu's ``;``-separated URLs are masked one by one; a URL that cannot
  be parsed becomes ``***``);
- the user names, passwords and host names of every configured connection (``REDIS_URL``,
  ``CELERY_BROKER_URL``, the MongoDB ``DATABASES`` entry and ``HEALTH_MONGODB_URI``) and of the
  ``url`` passed in become ``***`` wherever they appear as a word;
- any ``host:port`` (host name, IPv4 or bracketed IPv6) becomes ``***:port`` — ports stay, they
  tell operators which server — and pymongo's ``('host', port)`` becomes ``('***', port)``;
- any other IPv4 or IPv6 address becomes ``***``.
``describe_error`` also keeps one line and drops pymongo's topology description (it lists every
replica-set member), and caps the length.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from django.conf import settings

MASK = "***"
MAX_ERROR_LENGTH = 200

_URL_RE = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
_HOST_PORT_RE = re.compile(
    r"(?i)(\[[0-9a-f:.]+\]|(?<![\w.:-])[a-z0-9_][a-z0-9_.-]*):(\d{2,5})\b(?!:\d)"
)
_HOST_TUPLE_RE = re.compile(r"\((['\"])[^'\"]+\1,\s*(\d{1,5})\)")
_IPV4_RE = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_IPV6_BRACKETED_RE = re.compile(r"\[[0-9a-fA-F:.]+\]")
# Candidates: ::1, fe80::1, 2001:db8:0:0:0:0:0:1; _is_ipv6 keeps times such as 10:30:00.
_IPV6_RE = re.compile(
    r"(?i)(?<![\w:.])(?:[0-9a-f]{1,4}:){1,7}:?(?::?[0-9a-f]{1,4}){0,7}(?:%\w+)?(?![\w:.])"
    r"|(?<![\w:])::(?:[0-9a-f]{1,4}:?){0,7}(?![\w:])"
)
# pymongo appends its timeouts and the whole topology description: noise, and it names hosts.
_NOISE_RE = re.compile(r"\s*(\(configured timeouts|, Timeout:|Topology Description).*", re.S)


def _mask_multi_host(url: str) -> str:
    # redis+sentinel://[:pw@]h1:26379,h2:26379/mymaster/0: every host masked, every port kept.
    scheme, _, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    path, question, _ = path.partition("?")
    _, at, hosts = netloc.rpartition("@")
    ports = [entry.rpartition(":")[2] for entry in hosts.split(",")]
    if not all(port.isdigit() for port in ports):
        return MASK
    masked = ",".join(f"{MASK}:{port}" for port in ports)
    return f"{scheme}://{f'{MASK}@' if at else ''}{masked}{slash}{path}{f'?{MASK}' if question else ''}"


def mask_url(url: str) -> str:
    """Return ``url`` with user, password, host and query replaced by ``***``.

    Several hosts (a Sentinel URL, ``h1:26379,h2:26379``) and kombu's ``;``-separated URLs are
    masked host by host.
    """
    if ";" in url and url.count("://") > 1:
        return ";".join(mask_url(part) for part in url.split(";"))
    if "," in url.partition("://")[2].partition("/")[0]:
        return _mask_multi_host(url)
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


def secrets_of(url: str | None) -> set[str]:
    """Return the user name, password and host names of a URL (several hosts allowed)."""
    if not url or "://" not in url:
        return set()
    netloc = url.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]
    userinfo, _, hosts = netloc.rpartition("@")
    found = set()
    for part in userinfo.split(":", 1) if userinfo else ():
        found.update({part, unquote(part)})
    for entry in hosts.split(","):
        host = entry.strip()
        if host.startswith("["):  # [IPv6]:port
            found.add(host[1:].split("]", 1)[0])
        else:
            found.add(host.rsplit(":", 1)[0])
    return {value for value in found if value}


def configured_secrets() -> set[str]:
    """Return the user names, passwords and hosts of every connection in the settings."""
    try:
        database = settings.DATABASES.get("default", {})
        urls = [
            settings.REDIS_URL,
            settings.CELERY_BROKER_URL,
            settings.HEALTH_MONGODB_URI,
            database.get("HOST"),
        ]
        found = {database.get("USER"), database.get("PASSWORD")}
        host = database.get("HOST")
        if host and "://" not in host:
            found.add(host)
    except Exception:  # settings not configured (a script): mask what the text itself shows
        return set()
    for url in urls:
        found.update(secrets_of(url))
    return {value for value in found if value}


def _replace_words(text: str, words: Iterable[str]) -> str:
    # Longest first, so a password containing the host name is replaced whole.
    for word in sorted(set(words), key=len, reverse=True):
        text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(word)}(?![A-Za-z0-9])", MASK, text)
    return text


def _is_ipv6(candidate: str) -> bool:
    # "::" or all eight groups: an address; "10:30:00" (a time) is not.
    return "::" in candidate or candidate.split("%", maxsplit=1)[0].count(":") == 7


def mask_text(text: str, *, url: str | None = None, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with URLs, credentials, host names and IP addresses masked (the policy)."""
    text = _URL_RE.sub(lambda match: mask_url(match.group(0)), text)
    text = _replace_words(text, configured_secrets() | secrets_of(url) | set(secrets))
    text = _HOST_TUPLE_RE.sub(lambda m: f"({m.group(1)}{MASK}{m.group(1)}, {m.group(2)})", text)
    text = _HOST_PORT_RE.sub(lambda m: f"{MASK}:{m.group(2)}", text)
    text = _IPV6_BRACKETED_RE.sub(MASK, text)
    text = _IPV6_RE.sub(lambda m: MASK if _is_ipv6(m.group(0)) else m.group(0), text)
    return _IPV4_RE.sub(MASK, text)


def describe_error(error: BaseException | str, *, url: str | None = None) -> str:
    """Return ``"<ErrorType>: <masked message>"``: one line, no topology, at most 200 characters."""
    if isinstance(error, BaseException):
        message = str(error)
        name = type(error).__name__
    else:
        message, name = error, ""
    message = _NOISE_RE.sub("", message.strip().splitlines()[0] if message.strip() else "")
    message = mask_text(message, url=url)
    text = f"{name}: {message}" if name and message else (name or message)
    return text[:MAX_ERROR_LENGTH]
