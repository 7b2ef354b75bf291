"""Turn detection as a pure transition function over VAD frames.

The engine, the VAD plots and the VAD explorer all run this same code: feed one
speech probability per 32 ms frame to :func:`step` and collect the events. The
audio clock is the only clock (milliseconds of audio appended so far), so a
replay gives the same turns as the live session.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

FRAME_MS = 32

#: semantic_vad eagerness → (silence window ms, longest wait ms). The longest waits
#: are OpenAI's (8 s, 4 s, 2 s); the window is extended toward it when the
#: speculative transcript looks unfinished.
EAGERNESS = {
    "low": (1000, 8000),
    "medium": (600, 4000),
    "auto": (600, 4000),
    "high": (300, 2000),
}


@dataclass(frozen=True)
class TurnConfig:
    """The server_vad knobs, in the wire's units."""

    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500
    idle_timeout_ms: int | None = None
    #: Offset hysteresis: speech continues while p >= threshold - hysteresis.
    hysteresis: float = 0.15
    max_wait_ms: int | None = None

    @classmethod
    def from_wire(cls, td: dict) -> TurnConfig:
        """Build from a wire ``turn_detection`` object (server_vad or semantic_vad)."""
        if td.get("type") == "semantic_vad":
            window, longest = EAGERNESS[td.get("eagerness") or "auto"]
            return cls(silence_duration_ms=window, max_wait_ms=longest)
        return cls(
            threshold=_or(td.get("threshold"), 0.5),
            prefix_padding_ms=int(_or(td.get("prefix_padding_ms"), 300)),
            silence_duration_ms=int(_or(td.get("silence_duration_ms"), 500)),
            idle_timeout_ms=td.get("idle_timeout_ms"),
        )


def _or(value, default):
    return default if value is None else value


@dataclass(frozen=True)
class TurnState:
    """Where the detector is. ``t_ms`` is the audio clock at the end of the last frame."""

    phase: Literal["idle", "speech", "trailing"] = "idle"
    t_ms: int = 0
    speech_start_ms: int = 0
    last_voice_ms: int = 0
    #: Audio clock when the detector was last (re)armed for the idle timeout.
    idle_since_ms: int = 0
    idle_armed: bool = False


@dataclass(frozen=True)
class TurnEvent:
    """An event for the wire or the engine.

    ``speech_started``/``speech_stopped``/``timeout`` go on the wire;
    ``silence_began``/``speech_resumed`` are internal hints that let the engine
    start transcribing speculatively during the silence window.
    """

    kind: Literal["speech_started", "speech_stopped", "silence_began", "speech_resumed", "timeout"]
    audio_ms: int
    #: For speech_started: the padded start. For speech_stopped: the end of speech.
    audio_start_ms: int = 0


def step(
    state: TurnState, prob: float, cfg: TurnConfig, *, extend: bool = False
) -> tuple[TurnState, list[TurnEvent]]:
    """Advance one 32 ms frame with speech probability ``prob``.

    ``extend`` asks to keep waiting (semantic_vad: the words so far look
    unfinished); the wait never exceeds ``cfg.max_wait_ms`` after speech ends.
    """
    t0 = state.t_ms
    t1 = t0 + FRAME_MS
    voiced_on = prob >= cfg.threshold
    voiced_keep = prob >= cfg.threshold - cfg.hysteresis
    events: list[TurnEvent] = []

    if state.phase == "idle":
        if voiced_on:
            start = max(0, t0 - cfg.prefix_padding_ms)
            events.append(TurnEvent("speech_started", t0, audio_start_ms=start))
            return replace(state, phase="speech", t_ms=t1, speech_start_ms=start,
                           last_voice_ms=t1, idle_armed=False), events
        if (state.idle_armed and cfg.idle_timeout_ms is not None
                and t1 - max(state.idle_since_ms, 0) >= cfg.idle_timeout_ms):
            start = min(state.idle_since_ms, t1)
            events.append(TurnEvent("timeout", t1, audio_start_ms=start))
            return replace(state, t_ms=t1, idle_armed=False), events
        return replace(state, t_ms=t1), events

    if voiced_keep and (state.phase == "speech" or voiced_on):
        if state.phase == "trailing":
            events.append(TurnEvent("speech_resumed", t0))
        return replace(state, phase="speech", t_ms=t1, last_voice_ms=t1), events

    # Not voiced: enter or stay in the silence window.
    if state.phase == "speech":
        events.append(TurnEvent("silence_began", t0, audio_start_ms=state.last_voice_ms))
    silence = t1 - state.last_voice_ms
    window = cfg.silence_duration_ms
    if extend and cfg.max_wait_ms is not None:
        window = cfg.max_wait_ms
    if silence >= window:
        events.append(TurnEvent("speech_stopped", t1, audio_start_ms=state.last_voice_ms))
        return replace(state, phase="idle", t_ms=t1, idle_since_ms=t1), events
    return replace(state, phase="trailing", t_ms=t1), events


def arm_idle_timeout(state: TurnState, delay_ms: int = 0) -> TurnState:
    """Start counting idle time ``delay_ms`` from now (when the reply's audio ends)."""
    return replace(state, idle_since_ms=state.t_ms + delay_ms, idle_armed=True)


def detect(probs, cfg: TurnConfig) -> list[TurnEvent]:
    """Run :func:`step` over a whole probability trace (plots and the explorer)."""
    state = TurnState()
    events: list[TurnEvent] = []
    for p in probs:
        state, evs = step(state, float(p), cfg)
        events.extend(evs)
    return events
