"""OpenAI-shaped protocol errors.

Each error becomes one ``error`` server event that echoes the client's
``event_id``; the connection and the session stay open.
"""

from __future__ import annotations

from typing import Any

#: The codes the engine uses, with the error type each one carries.
CODES: dict[str, str] = {
    "invalid_json": "invalid_request_error",
    "invalid_event": "invalid_request_error",
    "unknown_event_type": "invalid_request_error",
    "missing_required_parameter": "invalid_request_error",
    "invalid_type": "invalid_request_error",
    "invalid_value": "invalid_request_error",
    "item_not_found": "invalid_request_error",
    "duplicate_item_id": "invalid_request_error",
    "input_audio_buffer_commit_empty": "invalid_request_error",
    "conversation_already_has_active_response": "invalid_request_error",
    "response_cancel_not_active": "invalid_request_error",
    "unsupported_event": "invalid_request_error",
    "mcp_list_tools_failed": "invalid_request_error",
    "server_error": "server_error",
}


class ProtocolError(Exception):
    """A client event the engine refuses, with OpenAI's error fields."""

    def __init__(self, code: str, message: str, param: str | None = None):
        super().__init__(message)
        if code not in CODES:
            raise ValueError(f"unknown error code {code!r}")
        self.code = code
        self.message = message
        self.param = param

    @property
    def type(self) -> str:
        return CODES[self.code]

    def payload(self, client_event_id: str | None) -> dict[str, Any]:
        """The ``error`` object of the wire event."""
        return {
            "type": self.type,
            "code": self.code,
            "message": self.message,
            "param": self.param,
            "event_id": client_event_id,
        }


def from_validation(exc: Any, prefix: str = "") -> ProtocolError:
    """Map a pydantic ``ValidationError`` to the closest OpenAI error."""
    err = _most_specific(exc.errors())
    loc = [str(p) for p in err["loc"] if not _is_union_tag(p)]
    param = ".".join(x for x in [prefix, *loc] if x) or None
    kind = err["type"]
    if kind == "missing":
        return ProtocolError("missing_required_parameter",
                             f"Missing required parameter: '{param}'.", param)
    if kind.endswith("_type") or kind in {"model_type", "dict_type", "list_type"}:
        return ProtocolError("invalid_type", f"Invalid type for '{param}': {err['msg']}.", param)
    return ProtocolError("invalid_value", f"Invalid value for '{param}': {err['msg']}.", param)


def _most_specific(errors: list[dict]) -> dict:
    # A union reports one error per member; the deepest one names the real problem.
    return max(errors, key=lambda e: len(e["loc"]))


def _is_union_tag(part: Any) -> bool:
    # pydantic names union members by class (e.g. "RealtimeConversationItemUserMessage").
    return isinstance(part, str) and part[:1].isupper()
