"""Web origins (scheme, host and port) for the redirect allowlist: parsing, normalising, and
telling loopback hosts apart. Pure functions; the rule that uses them is in services.billing."""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters browsers read differently from urllib (to a browser a backslash is a slash, so
# "https://evil.example\@app.example.com" goes to evil.example), or that no real URL carries.
_UNSAFE = frozenset("\\<>\"'` ") | frozenset(chr(c) for c in range(0x20)) | {"\x7f"}


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1 (host as urlsplit gives it: lower-case, no brackets)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _origin(parts: SplitResult) -> str | None:
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        return None
    try:
        host = parts.hostname
        port = parts.port
    except ValueError:  # a port that is not a number or out of range
        return None
    if not host or parts.username is not None or parts.password is not None:
        return None
    shown = f"[{host}]" if ":" in host else host
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{shown}"
    return f"{scheme}://{shown}:{port}"


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an absolute http(s) URL, lower-case and without the default
    port; None for anything else (relative, other schemes, credentials, unsafe characters)."""
    if any(char in _UNSAFE for char in url):
        return None
    return _origin(urlsplit(url))


def parse_origin(raw: str) -> str | None:
    """An origin as configured (``https://app.example.com``, a trailing slash allowed), or None
    when it carries a path, query or fragment or is not an http(s) origin."""
    value = raw.strip()
    if any(char in _UNSAFE for char in value):
        return None
    parts = urlsplit(value)
    if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in value:
        return None
    return _origin(parts)


def origin_host(origin: str) -> str:
    """The host of a normalised origin (as urlsplit gives it)."""
    return urlsplit(origin).hostname or ""
