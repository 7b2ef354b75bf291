"""Strict validation of server events, the way openai-agents does it."""

from __future__ import annotations

import functools
from typing import Any


@functools.lru_cache(maxsize=1)
def _adapter():
    from agents.realtime.openai_realtime import get_server_event_type_adapter

    return get_server_event_type_adapter()


def validate_server_event(event: dict[str, Any]) -> Any:
    """Parse with openai-agents' discriminated union; raises on any malformed event."""
    assert isinstance(event.get("event_id"), str) and event["event_id"], event
    return _adapter().validate_python(event)
