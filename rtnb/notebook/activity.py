"""What the conversation is doing now, derived from the session's event log alone.

A pure state machine: :func:`step` takes the current :class:`Activity` and one
logged event, and returns the next activity and its effects (a failure to show,
turn figures to refresh). :func:`shown` combines the phase with what only the
notebook knows: audio still queued at the speaker means the agent is speaking,
and a held talk button means the user is.

It reads only ``direction``, ``type``, ``event`` and ``t`` of each entry, so it
works the same on a live session (``session.on_event``) and on a replay.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from .. import events as ev

Phase = Literal["disconnected", "listening", "user_speaking", "thinking", "approval",
                "agent_speaking", "failed"]
PHASES: tuple[Phase, ...] = ("disconnected", "listening", "user_speaking", "thinking",
                             "approval", "agent_speaking", "failed")


@dataclass(frozen=True)
class Activity:
    phase: Phase = "disconnected"
    #: Session time of the last phase change.
    since: float = 0.0
    #: The server's message, while ``phase`` is ``"failed"`` (a failed response, an error).
    error: str | None = None
    #: Session time of the first connect: the panel's clock starts here.
    origin: float | None = None
    #: The response whose audio was last seen (its first chunk sets the turn's latency).
    audio_response: str | None = None


@dataclass(frozen=True)
class Failure:
    """Something failed on the server: show ``message`` in red."""

    t: float
    message: str


@dataclass(frozen=True)
class FiguresChanged:
    """The turns or their figures may have changed (a new turn, first audio, done, flush)."""


Effect = Failure | FiguresChanged


def step(state: Activity, entry: Any) -> tuple[Activity, tuple[Effect, ...]]:
    """The activity after ``entry`` (a logged event), and what the view should do."""
    direction, kind, event, t = entry.direction, entry.type, entry.event, entry.t
    phase = state.phase

    def to(new: Phase, *effects: Effect, **changes: Any) -> tuple[Activity, tuple[Effect, ...]]:
        since = state.since if new == phase and new != "failed" else t
        error = changes.pop("error", None) if new == "failed" else None
        return replace(state, phase=new, since=since, error=error, **changes), effects

    if direction == "local":
        if kind in (ev.Connected.TYPE, ev.Reconnected.TYPE):
            return to("listening", origin=t if state.origin is None else state.origin)
        if kind == ev.Disconnected.TYPE:
            return to("disconnected")
        if kind == ev.ToolApprovalRequested.TYPE:
            return to("approval")
        if kind in (ev.ToolApproved.TYPE, ev.ToolRejected.TYPE) and phase == "approval":
            return to("thinking")
        if kind in (ev.PlaybackFlushed.TYPE, ev.Handoff.TYPE):
            return state, (FiguresChanged(),)
        return state, ()
    if direction == "client":
        if kind == ev.INPUT_AUDIO_COMMIT:  # push-to-talk released: the input is complete
            return to("thinking")
        if kind == ev.INPUT_AUDIO_CLEAR and phase == "user_speaking":
            return to("listening")  # what was said is dropped (push-to-talk pressed)
        if kind == ev.RESPONSE_CREATE and phase != "user_speaking":
            return to("thinking")
        if kind == ev.ITEM_CREATE:  # perhaps a new turn
            return state, (FiguresChanged(),)
        return state, ()
    if kind == ev.COMMITTED:  # a new voice turn
        return state, (FiguresChanged(),)
    if kind == ev.SPEECH_STARTED:
        return to("user_speaking")
    if kind == ev.SPEECH_STOPPED:
        return to("thinking")
    if kind == ev.RESPONSE_CREATED and phase not in ("user_speaking", "agent_speaking",
                                                     "approval"):
        return to("thinking")
    if kind == ev.AUDIO_DELTA:
        rid = event.get("response_id")
        first = (FiguresChanged(),) if rid != state.audio_response else ()
        if phase == "user_speaking":  # the reply being interrupted: the user has the floor
            return replace(state, audio_response=rid), first
        return to("agent_speaking", *first, audio_response=rid)
    if kind == ev.RESPONSE_DONE:
        return _done(state, event.get("response") or {}, t, to)
    if kind == ev.ERROR:
        message = _message(event.get("error"), "the server reported an error")
        return to("failed", Failure(t, message), error=message)
    if kind == ev.TRANSCRIPTION_FAILED:
        message = "transcription failed: " + _message(event.get("error"), "no reason given")
        return state, (Failure(t, message),)
    return state, ()


def _done(state: Activity, response: dict[str, Any], t: float, to: Any
          ) -> tuple[Activity, tuple[Effect, ...]]:
    if response.get("status") == "failed":
        details = response.get("status_details") or {}
        message = "response failed: " + _message(details.get("error"), "no reason given")
        return to("failed", Failure(t, message), FiguresChanged(), error=message)
    if state.phase in ("user_speaking", "approval"):
        return state, (FiguresChanged(),)
    calls = any(item.get("type") == "function_call" for item in response.get("output") or [])
    # A tool call's answer follows in another response: still thinking.
    return to("thinking" if calls else "listening", FiguresChanged())


def _message(error: Any, default: str) -> str:
    if not isinstance(error, dict):
        return default
    text = str(error.get("message") or "").strip() or default
    code = error.get("code")
    return f"{text} ({code})" if code and str(code) not in text else text


def shown(state: Activity, *, playing: bool, talking: bool) -> Phase:
    """The phase to show: the speaker and the talk button refine the log's view."""
    if state.phase == "disconnected":
        return "disconnected"
    if talking or state.phase == "user_speaking":
        return "user_speaking"
    if state.phase == "failed":
        return "failed"
    if playing or state.phase == "agent_speaking":
        return "agent_speaking"
    return state.phase
