"""The VAD analysis: where server_vad cuts turns in the input audio, and what it costs.

The speech probabilities are computed once with the engine's VAD
(:func:`rtnb.engine.speech.vad.trace`); each setting then re-runs the engine's own turn
detection (:func:`rtnb.engine.turns.detect`) over them, which is cheap. :func:`explore`
is the pure part; :func:`vad_source` finds the audio, the settings in force and the
server's logged marks of a Session, Recording, event log or plain audio.
``rtnb.plot_vad`` and ``rtnb.vad_explorer`` draw what this finds.

End-of-turn latency: ``speech_stopped`` fires on the first 32 ms frame boundary at
least ``silence_duration_ms`` after the last voiced frame, so every turn waits the
silence window plus a decision lag of up to one frame before the reply can start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .. import events as ev
from ..engine.turns import FRAME_MS, TurnConfig, TurnEvent, detect
from .settings import DEFAULT, at, changes, in_force
from .sources import event_log

if TYPE_CHECKING:
    import numpy as np


#: A gap between two turns shorter than this probably split one utterance.
MAX_PAUSE_MS = 1000


@dataclass(frozen=True)
class Segment:
    """One detected turn, in milliseconds of input audio."""

    #: Start of the first voiced frame (where ``speech_started`` is decided).
    start_ms: int
    #: ``start_ms`` minus the prefix padding: the wire's ``speech_started.audio_start_ms``.
    padded_start_ms: int
    #: End of the last voiced frame: the wire's ``speech_stopped.audio_end_ms``.
    end_ms: int
    #: Where ``speech_stopped`` is decided; ``None`` if the audio ended first.
    decided_ms: int | None

    @property
    def eot_latency_ms(self) -> int | None:
        """End of speech → ``speech_stopped``: the silence window plus the decision lag."""
        return None if self.decided_ms is None else self.decided_ms - self.end_ms


@dataclass(frozen=True)
class Pause:
    """Silence inside speech (``splits``: it ended a turn)."""

    start_ms: int
    end_ms: int
    splits: bool
    #: A short pause that splits: probably one utterance cut in two.
    flagged: bool = False

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True)
class ExplorerResult:
    """Turns that server_vad would detect with ``config`` over a probability trace."""

    config: TurnConfig
    duration_ms: int
    events: tuple[TurnEvent, ...]
    segments: tuple[Segment, ...]
    pauses: tuple[Pause, ...]

    @property
    def count(self) -> int:
        """Number of turns (including one still open when the audio ends)."""
        return len(self.segments)

    @property
    def eot_latency_ms(self) -> list[int | None]:
        """Per turn: end of speech → ``speech_stopped`` (None while still open)."""
        return [s.eot_latency_ms for s in self.segments]

    @property
    def decision_lag_ms(self) -> list[int | None]:
        """Per turn: end-of-turn latency beyond the silence window (frame rounding)."""
        window = self.config.silence_duration_ms
        return [None if v is None else v - window for v in self.eot_latency_ms]

    @property
    def flagged_pauses(self) -> list[Pause]:
        return [p for p in self.pauses if p.flagged]

    def describe(self) -> str:
        """A plain-text summary, one line per turn and per flagged pause."""
        return "\n".join(_lines(self))


def explore(probs: Sequence[float], threshold: float = 0.5, prefix_padding_ms: int = 300,
            silence_duration_ms: int = 500, *, max_pause_ms: int = MAX_PAUSE_MS) -> ExplorerResult:
    """Run the engine's server_vad turn detection over ``probs`` (one per 32 ms frame).

    Pauses between turns shorter than ``max_pause_ms`` are flagged as likely splits.
    """
    cfg = TurnConfig(threshold=float(threshold), prefix_padding_ms=int(prefix_padding_ms),
                     silence_duration_ms=int(silence_duration_ms))
    events = detect(probs, cfg)
    duration = len(probs) * FRAME_MS
    segments: list[Segment] = []
    pauses: list[Pause] = []
    open_seg: tuple[int, int] | None = None  # (start, padded start)
    silence_from: int | None = None  # last voice, while in the silence window
    last_end: int | None = None  # end of the previous turn
    for e in events:
        if e.kind == "speech_started":
            if last_end is not None:
                short = e.audio_ms - last_end < max_pause_ms
                pauses.append(Pause(last_end, e.audio_ms, True, short))
            open_seg, silence_from = (e.audio_ms, e.audio_start_ms), None
        elif e.kind == "silence_began":
            silence_from = e.audio_start_ms
        elif e.kind == "speech_resumed" and silence_from is not None:
            pauses.append(Pause(silence_from, e.audio_ms, False))
            silence_from = None
        elif e.kind == "speech_stopped" and open_seg is not None:
            segments.append(Segment(open_seg[0], open_seg[1], e.audio_start_ms, e.audio_ms))
            last_end, open_seg, silence_from = e.audio_start_ms, None, None
    if open_seg is not None:
        end = silence_from if silence_from is not None else duration
        segments.append(Segment(open_seg[0], open_seg[1], end, None))
    return ExplorerResult(cfg, duration, tuple(events), tuple(segments), tuple(pauses))


def _lines(result: ExplorerResult) -> list[str]:
    cfg = result.config
    lines = [f"{result.count} turn(s) at threshold {cfg.threshold:.2f}, prefix padding "
             f"{cfg.prefix_padding_ms} ms, silence window {cfg.silence_duration_ms} ms"]
    pairs = zip(result.segments, result.decision_lag_ms, strict=True)
    for i, (seg, lag) in enumerate(pairs):
        span = f"turn {i}: speech {seg.start_ms / 1000:.2f}–{seg.end_ms / 1000:.2f} s"
        if seg.decided_ms is None:
            lines.append(f"{span}, still open when the audio ends")
        else:
            lines.append(f"{span}, end of turn +{seg.eot_latency_ms} ms "
                         f"= {cfg.silence_duration_ms} ms window + {lag} ms decision lag")
    for p in result.flagged_pauses:
        lines.append(f"pause {p.duration_ms} ms at {p.start_ms / 1000:.2f} s splits a turn "
                     f"(window {cfg.silence_duration_ms} ms)")
    return lines


@dataclass(frozen=True)
class ServerMark:
    """A logged ``speech_started``/``speech_stopped``: its audio position, the audio
    appended when the client received it (where the decision showed up), and the turn
    detection in force when the server made it (``None``: reported off)."""

    kind: str
    audio_ms: float
    received_ms: float
    config: TurnConfig | None = DEFAULT


def server_marks(entries: Sequence[Any]) -> list[ServerMark]:
    """The server's ``speech_started``/``speech_stopped`` in a log, in order, each with
    the settings that produced it (:func:`rtnb.analysis.settings.in_force` at that entry)."""
    fields = {ev.SPEECH_STARTED: ("speech_started", "audio_start_ms"),
              ev.SPEECH_STOPPED: ("speech_stopped", "audio_end_ms")}
    history = changes(entries)
    return [ServerMark(fields[e.type][0], e.event[fields[e.type][1]], e.input_ms,
                       at(history, i))
            for i, e in enumerate(entries) if e.direction == "server" and e.type in fields]


@dataclass
class VadSource:
    """Input audio (24 kHz PCM16), its log entries (none for raw audio) and the turn
    detection settings in force (logged; server_vad's defaults when off or unlogged)."""

    pcm: bytes
    entries: list[Any]
    config: TurnConfig

    @property
    def marks(self) -> list[ServerMark]:
        return server_marks(self.entries)

    @property
    def server_segments(self) -> list[Segment]:
        """The turns the server cut, as :class:`Segment` s in audio ms: ``padded_start_ms``
        is ``speech_started.audio_start_ms``; ``start_ms`` adds the prefix padding in force
        (the onset; unknown, so equal, when the padded start was clipped at 0);
        ``end_ms`` is ``speech_stopped.audio_end_ms``; ``decided_ms`` is the audio
        appended when the client received it (``None``: no ``speech_stopped``)."""
        out: list[Segment] = []
        started: ServerMark | None = None
        for mark in self.marks:
            if mark.kind == "speech_started":
                if started is not None:  # never stopped: cut where the next one starts
                    out.append(_server_segment(started, None, mark.audio_ms))
                started = mark
            elif started is not None:
                out.append(_server_segment(started, mark))
                started = None
        if started is not None:
            out.append(_server_segment(started, None, len(self.pcm) // 48))
        return out

    @property
    def logged_turns(self) -> int | None:
        """How many turns the server ended in the logged session (None: raw audio)."""
        return sum(m.kind == "speech_stopped" for m in self.marks) if self.entries else None

    @cached_property
    def probs(self) -> np.ndarray:
        """The engine VAD's speech probability per 32 ms frame (computed once)."""
        from ..engine.speech.vad import trace

        return trace(self.pcm)

    def settings(self, threshold: float | None = None, prefix_padding_ms: int | None = None,
                 silence_duration_ms: int | None = None) -> TurnConfig:
        """The settings in force, with the given ones replaced."""
        given = {"threshold": threshold, "prefix_padding_ms": prefix_padding_ms,
                 "silence_duration_ms": silence_duration_ms}
        return replace(self.config, **{k: v for k, v in given.items() if v is not None})

    def explore(self, threshold: float | None = None, prefix_padding_ms: int | None = None,
                silence_duration_ms: int | None = None, *,
                max_pause_ms: int = MAX_PAUSE_MS) -> ExplorerResult:
        """:func:`explore` over this audio, with the settings in force unless given."""
        cfg = self.settings(threshold, prefix_padding_ms, silence_duration_ms)
        return explore(self.probs, cfg.threshold, cfg.prefix_padding_ms,
                       cfg.silence_duration_ms, max_pause_ms=max_pause_ms)


def _server_segment(started: ServerMark, stopped: ServerMark | None,
                    end_ms: float = 0) -> Segment:
    pad = started.config.prefix_padding_ms if started.config is not None else 0
    padded = int(started.audio_ms)
    onset = padded + pad if padded > 0 else padded
    if stopped is None:
        end = max(int(end_ms), padded)
        return Segment(min(onset, end), padded, end, None)
    return Segment(min(onset, int(stopped.audio_ms)), padded, int(stopped.audio_ms),
                   int(stopped.received_ms))


def vad_source(source: Any) -> VadSource:
    """Resolve a Session, Recording, EventLog, or audio (float array at 24 kHz, PCM16
    bytes, WAV path, ``(array, rate)``)."""
    from .. import audio

    log = event_log(source)
    if log is not None:
        return VadSource(bytes(log.input_audio), list(log.entries),
                         in_force(log.entries) or DEFAULT)
    return VadSource(audio.to_pcm16(audio.load_audio(source)), [], DEFAULT)
