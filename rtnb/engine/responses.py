"""The response lifecycle as pure transition functions.

A response starts ``in_progress``, opens and closes output items, and ends in
exactly one terminal phase (:func:`transition`). Anything else is an
:class:`InvalidTransition`, so the engine can never emit a second ``response.done``
or leave one out.

:class:`InProgress` is every response still in progress, and the conversation's one
*active* response: an in-band response may only begin while none is active
(:func:`begin`), and it stops being active when it ends (:func:`advance`).
Out-of-band responses (``conversation: "none"``) run beside it.
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


# -- the responses of a session ----------------------------------------------------------------


class ActiveResponseExists(InvalidTransition):
    """An in-band response may not begin while another one is active."""

    def __init__(self, active: str) -> None:
        super().__init__(f"response {active} is active")
        self.active = active


@dataclass(frozen=True)
class InProgress:
    """The responses in progress (oldest first, with their states) and the active one."""

    states: tuple[tuple[str, ResponseState], ...] = ()
    #: The in-band response in progress, if any: the conversation's active response.
    active: str | None = None

    def state(self, response_id: str) -> ResponseState | None:
        """The state of a response in progress (None once it has ended, or if unknown)."""
        return next((st for rid, st in self.states if rid == response_id), None)

    @property
    def ids(self) -> list[str]:
        return [rid for rid, _ in self.states]


def blocking(responses: InProgress, in_band: bool) -> str | None:
    """The active response that stops a new one from beginning (None: it may begin)."""
    return responses.active if in_band else None


def begin(responses: InProgress, response_id: str, in_band: bool) -> InProgress:
    """A new response, in progress; in-band, it becomes the active one."""
    active = blocking(responses, in_band)
    if active is not None:
        raise ActiveResponseExists(active)
    if responses.state(response_id) is not None:
        raise InvalidTransition(f"response {response_id} already in progress")
    return InProgress((*responses.states, (response_id, ResponseState())),
                      response_id if in_band else responses.active)


def advance(responses: InProgress, response_id: str, event: ResponseEvent
            ) -> tuple[InProgress, ResponseState]:
    """Apply ``event`` to a response in progress; returns the registry and its new state.

    A response that ends leaves the registry (and stops being the active one).
    """
    state = responses.state(response_id)
    if state is None:
        raise InvalidTransition(f"response {response_id} is not in progress")
    new = transition(state, event)
    if new.phase in TERMINAL:
        states = tuple((rid, st) for rid, st in responses.states if rid != response_id)
        active = None if responses.active == response_id else responses.active
        return InProgress(states, active), new
    return InProgress(tuple((rid, new if rid == response_id else st)
                            for rid, st in responses.states), responses.active), new


def cancel_target(responses: InProgress, requested: str | None) -> str | None:
    """The response a ``response.cancel`` means: the one named, else the active one, else
    the newest in progress; None when that one is not in progress."""
    rid = requested or responses.active or (responses.ids[-1] if responses.states else None)
    return rid if rid is not None and responses.state(rid) is not None else None
