"""The response lifecycle as a pure transition function.

A response starts ``in_progress``, opens and closes output items, and ends in
exactly one terminal phase. Anything else is an :class:`InvalidTransition`, so
the engine can never emit a second ``response.done`` or leave one out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Phase = Literal["in_progress", "completed", "cancelled", "incomplete", "failed"]
TERMINAL: frozenset[str] = frozenset({"completed", "cancelled", "incomplete", "failed"})


class InvalidTransition(ValueError):
    """An event that the response's current phase does not allow."""


@dataclass(frozen=True)
class ResponseState:
    phase: Phase = "in_progress"
    reason: str | None = None
    open_items: tuple[str, ...] = ()
    n_items: int = 0


@dataclass(frozen=True)
class Open:
    item_id: str


@dataclass(frozen=True)
class Close:
    item_id: str


@dataclass(frozen=True)
class Finish:
    """Normal end: every output item must be closed."""


@dataclass(frozen=True)
class Cancel:
    reason: Literal["turn_detected", "client_cancelled"]


@dataclass(frozen=True)
class Stop:
    """Early end that is not a cancel: ``incomplete`` or ``failed``."""

    phase: Literal["incomplete", "failed"]
    reason: str


ResponseEvent = Open | Close | Finish | Cancel | Stop


def transition(state: ResponseState, event: ResponseEvent) -> ResponseState:
    """The next state, or :class:`InvalidTransition`."""
    if state.phase in TERMINAL:
        raise InvalidTransition(f"response already {state.phase}")
    if isinstance(event, Open):
        if event.item_id in state.open_items:
            raise InvalidTransition(f"item {event.item_id} already open")
        return replace(state, open_items=(*state.open_items, event.item_id),
                       n_items=state.n_items + 1)
    if isinstance(event, Close):
        if event.item_id not in state.open_items:
            raise InvalidTransition(f"item {event.item_id} is not open")
        return replace(state, open_items=tuple(i for i in state.open_items if i != event.item_id))
    if isinstance(event, Finish):
        if state.open_items:
            raise InvalidTransition("cannot complete with open items")
        return replace(state, phase="completed")
    if isinstance(event, Cancel):
        return replace(state, phase="cancelled", reason=event.reason, open_items=())
    if isinstance(event, Stop):
        return replace(state, phase=event.phase, reason=event.reason, open_items=())
    raise InvalidTransition(f"unknown event {event!r}")
