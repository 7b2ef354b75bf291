"""CORS for the engine's HTTP API, for pages served from this machine only.

A browser app (the JavaScript Agents SDK over WebRTC, a page served from a
notebook kernel) calls ``/v1/realtime/calls`` and ``/v1/realtime/client_secrets``
from another origin than the engine's. Origins on loopback (``localhost``,
``127.0.0.0/8``, ``[::1]``, any port) are allowed; any other web page is not, so
a site the user happens to visit cannot drive a local engine.
"""

from __future__ import annotations

import ipaddress
import urllib.parse

ALLOW_METHODS = "GET, POST, OPTIONS"
#: The WebRTC transport reads the call id from ``Location``.
EXPOSE_HEADERS = "Location"
MAX_AGE_S = 600


def allowed(origin: str | None) -> bool:
    """True for an ``http(s)`` origin whose host is a loopback address or ``localhost``."""
    if not origin:
        return False
    parts = urllib.parse.urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def headers(origin: str | None) -> list[tuple[str, str]]:
    """Headers for a response to a request from ``origin`` (none if it is not allowed)."""
    if not allowed(origin):
        return []
    assert origin is not None
    return [("access-control-allow-origin", origin), ("vary", "Origin"),
            ("access-control-expose-headers", EXPOSE_HEADERS)]


def preflight(origin: str | None, requested_headers: str | None) -> list[tuple[str, str]]:
    """Headers for the reply to an ``OPTIONS`` preflight (none if the origin is not allowed)."""
    if not allowed(origin):
        return []
    return [*headers(origin), ("access-control-allow-methods", ALLOW_METHODS),
            ("access-control-allow-headers", requested_headers or "authorization, content-type"),
            ("access-control-max-age", str(MAX_AGE_S))]
