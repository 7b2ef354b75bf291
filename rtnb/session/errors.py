"""The session's exceptions."""

from __future__ import annotations

from typing import Any


class SessionError(RuntimeError):
    """The session cannot go on (not connected, connection lost, server refused).

    ``server_errors`` holds the server's error objects behind it, if any
    (``{"message", "code", "type", "event_id"}``, as the server sent them).
    """

    def __init__(self, message: str, server_errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.server_errors = server_errors or []


class CredentialRefused(SessionError):
    """The server refused the API key or engine token (HTTP 401 or 403 on connect)."""

    def __init__(self, message: str, status: int, body: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
