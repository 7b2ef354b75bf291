"""Turn detection as a pure transition function over VAD frames.

The engine, the VAD plots and the VAD explorer all run this same code: feed one
speech probability per 32 ms frame to :func:`step` and collect the events. The
audio clock is the only clock (milliseconds of audio appended so far), so a
replay gives the same turns as the live session.

``semantic_vad`` adds one input: whether to keep waiting (``extend``). The engine
asks an end-of-turn model (Smart Turn v3.2, :mod:`rtnb.engine.speech.smart_turn`)
once per pause, on the user's audio up to the last voiced frame. While the answer is
pending, or when it says the words sound unfinished, the engine passes
``extend=True`` and the turn ends only after ``max_wait_ms`` of silence; when the
words sound finished, the normal window applies. Without the model installed the
window alone decides, as in ``server_vad``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

FRAME_MS = 32

#: semantic_vad eagerness → (silence window ms, longest wait ms, finished threshold).
#: The window ends a turn whose words sound finished (and every turn when the
#: end-of-turn model is not installed); the longest wait (OpenAI's 8 s, 4 s, 2 s) ends
#: one that sounds unfinished. The threshold is the model's probability at or above
#: which the words count as finished. Chosen with ``benchmarks/turn_model.py``.
EAGERNESS = {
    "low": (1000, 8000, 0.5),
    "medium": (500, 4000, 0.3),
    "auto": (500, 4000, 0.3),
    "high": (300, 2000, 0.2),
}
#: semantic_vad asks the end-of-turn model once a pause has lasted this long. Most gaps
#: between words are shorter (on the project's synthetic speech, 33 of 57 were under
#: 160 ms) and cost no model call; the answer (~0.1 of a full-window Whisper decode) still
#: comes before even eagerness high's 300 ms window on an idle machine.
PREDICT_AFTER_MS = 160


@dataclass(frozen=True)
class TurnConfig:
    """The server_vad knobs, in the wire's units."""

    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500
    idle_timeout_ms: int | None = None
    #: Offset hysteresis: speech continues while p >= threshold - hysteresis.
    hysteresis: float = 0.15
    #: semantic_vad: the longest silence before a turn that sounds unfinished ends.
    max_wait_ms: int | None = None
    #: semantic_vad: the end-of-turn probability at or above which words sound finished.
    finished_threshold: float | None = None

    @classmethod
    def from_wire(cls, td: dict) -> TurnConfig:
        """Build from a wire ``turn_detection`` object (server_vad or semantic_vad)."""
        if td.get("type") == "semantic_vad":
            window, longest, threshold = EAGERNESS[td.get("eagerness") or "auto"]
            return cls(silence_duration_ms=window, max_wait_ms=longest,
                       finished_threshold=threshold)
        return cls(
            threshold=_or(td.get("threshold"), 0.5),
            prefix_padding_ms=int(_or(td.get("prefix_padding_ms"), 300)),
            silence_duration_ms=int(_or(td.get("silence_duration_ms"), 500)),
            idle_timeout_ms=td.get("idle_timeout_ms"),
        )


def _or(value, default):
    return default if value is None else value


@dataclass(frozen=True)
class DetectorState:
    """Where the turn detector is. ``t_ms`` is the audio clock at the end of the last frame."""

    phase: Literal["idle", "speech", "trailing"] = "idle"
    t_ms: int = 0
    speech_start_ms: int = 0
    last_voice_ms: int = 0
    #: Audio clock when the detector was last (re)armed for the idle timeout.
    idle_since_ms: int = 0
    idle_armed: bool = False


#: The old name of :class:`DetectorState` (not to be confused with a conversation's turns).
TurnState = DetectorState


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
    state: DetectorState, prob: float, cfg: TurnConfig, *, extend: bool = False
) -> tuple[DetectorState, list[TurnEvent]]:
    """Advance one 32 ms frame with speech probability ``prob``.

    ``extend`` asks to keep waiting (semantic_vad: the end-of-turn model has not
    answered yet, or says the words sound unfinished); the wait never exceeds
    ``cfg.max_wait_ms`` after speech ends.
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
    trailing, stop = settle(replace(state, phase="trailing", t_ms=t1), cfg, extend=extend)
    return trailing, events + stop


def settle(state: DetectorState, cfg: TurnConfig, *, extend: bool = False
           ) -> tuple[DetectorState, list[TurnEvent]]:
    """End a pause now if its silence already fills the window; no audio is consumed.

    :func:`step` ends each frame with this. The engine also calls it when the
    end-of-turn model answers between two frames.
    """
    if state.phase != "trailing":
        return state, []
    window = cfg.silence_duration_ms
    if extend and cfg.max_wait_ms is not None:
        window = cfg.max_wait_ms
    if state.t_ms - state.last_voice_ms < window:
        return state, []
    stop = TurnEvent("speech_stopped", state.t_ms, audio_start_ms=state.last_voice_ms)
    return replace(state, phase="idle", idle_since_ms=state.t_ms), [stop]


def arm_idle_timeout(state: DetectorState, delay_ms: int = 0) -> DetectorState:
    """Start counting idle time ``delay_ms`` from now (when the reply's audio ends)."""
    return replace(state, idle_since_ms=state.t_ms + delay_ms, idle_armed=True)


def detect(probs, cfg: TurnConfig) -> list[TurnEvent]:
    """Run :func:`step` over a whole probability trace (plots and the explorer)."""
    state = DetectorState()
    events: list[TurnEvent] = []
    for p in probs:
        state, evs = step(state, float(p), cfg)
        events.extend(evs)
    return events
