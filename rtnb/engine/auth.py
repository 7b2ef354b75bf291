"""Bearer tokens and short-lived ``ek_`` client secrets."""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import time
from typing import Any

EPHEMERAL_TTL_S = 600
MAX_EPHEMERAL_TTL_S = 7200


class Auth:
    """Checks bearer credentials. With no token set, everything is allowed."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token
        self._ephemeral: dict[str, float] = {}

    def __repr__(self) -> str:  # never show the token
        return f"Auth(token={'set' if self.token else 'none'}, ephemeral={len(self._ephemeral)})"

    @property
    def required(self) -> bool:
        return self.token is not None

    def issue(self, ttl_s: int = EPHEMERAL_TTL_S) -> tuple[str, int]:
        """A new ``ek_`` key and its expiry (unix seconds)."""
        ttl_s = max(10, min(int(ttl_s), MAX_EPHEMERAL_TTL_S))
        now = time.time()
        self._ephemeral = {k: t for k, t in self._ephemeral.items() if t > now}
        value = "ek_" + secrets.token_urlsafe(24)
        expires = now + ttl_s
        self._ephemeral[value] = expires
        return value, int(expires)

    def check(self, credential: str | None, *, allow_ephemeral: bool) -> bool:
        if self.token is None:
            return True
        if not credential:
            return False
        if hmac.compare_digest(credential.encode(), self.token.encode()):
            return True
        if allow_ephemeral and credential.startswith("ek_"):
            expires = self._ephemeral.get(credential)
            return expires is not None and expires > time.time()
        return False


def bearer(header: str | None) -> str | None:
    """The credential of an ``Authorization: Bearer ...`` header."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


#: Request and response headers whose values are (or may carry) credentials.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie",
                            "api-key", "openai-api-key"})
_SUBPROTOCOL_KEY = re.compile(r"(openai-insecure-api-key[.-])[^,\s]+")


class RedactingLogger(logging.LoggerAdapter):
    """A ``logger=`` for websockets, whose DEBUG handshake dump logs every header as
    ``("> %s: %s", name, value)``: credential values come out as ``[redacted]``."""

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], str):
            name = args[0].lower()
            if name in SECRET_HEADERS:
                args = (args[0], "[redacted]")
            elif name == "sec-websocket-protocol":  # a browser's key rides in here
                args = (args[0], _SUBPROTOCOL_KEY.sub(r"\1[redacted]", args[1]))
        super().log(level, msg, *args, **kwargs)

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return msg, kwargs  # keep the caller's ``extra`` (websockets adds its connection)


def redacting_logger(name: str) -> RedactingLogger:
    """The logger ``name``, with credential headers redacted."""
    return RedactingLogger(logging.getLogger(name), {})
