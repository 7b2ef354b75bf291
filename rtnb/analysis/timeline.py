"""User turns as found in the event log: their stretch of the log, marks and spans.

This is the one derivation of turns that the metrics, the plots and the benchmarks
share. A turn starts at a user input (a typed or image message the client sent, or a
user audio item the server committed; a corrective message after a guardrail trip is
not one) and runs until the next.

**Anchor**: when the user's input ended, which every "from the end of speech" figure
counts from. Voice: ``speech_stopped.audio_end_ms`` mapped to session time through the
appends; push-to-talk: the client's commit; typed: the send.

**Marks** (session seconds): ``end_of_turn`` (``speech_stopped`` received),
``committed``, ``transcribed`` (the item's transcription completed, *wherever in the
log it lands*: on a loaded machine it comes after the next turn's commit),
``created`` (the first ``response.created``) and ``first_audio``.

**Spans** (session seconds, in this order):

- ``tool``: a call's ``function_call_arguments.done`` → its output sent. For a call
  that waited for the user's approval, from the approval instead (a rejected call
  never ran: no tool span).
- ``approval``: a call waiting for the user: ``function_call_arguments.done`` →
  approved or rejected (label: the tool; mark ``approved`` or ``rejected``).
- ``handoff``: a transfer call's ``arguments.done`` → the next audio (the new agent's);
  its marks split it: ``response_done``, ``create_sent``, ``created``.
- ``supervisor``: supervisor request → answer.
- ``filler_gap``: the end of the filler's audio (assumed played in real time from its
  first chunk) → the first audio of the supervisor's answer. Negative when the answer
  came first; marks ``filler_start`` and ``request``.
- ``barge_in``: the user's speech onset (``audio_start_ms`` plus the prefix padding in
  force, mapped to time) → playback flushed or the response cancelled; mark
  ``speech_started``.
- ``stall``: a reply's playback ran dry: the audio received of an output item so far
  (played in real time from its first chunk, as a client without a jitter buffer plays
  it) ran out → its next chunk arrived. Gaps under :data:`STALL_MIN_MS` (what a
  playback buffer absorbs) are not stalls; label: the item id.

Audio durations assume the default output format, PCM16 at 24 kHz.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import events as ev
from ..audio import duration_ms
from ..engine.turns import TurnConfig
from .clock import AudioClock
from .settings import at as settings_at
from .settings import changes as settings_changes

if TYPE_CHECKING:
    from ..session.eventlog import LoggedEvent

TOOL, APPROVAL, HANDOFF, SUPERVISOR, FILLER_GAP, BARGE_IN, STALL = (
    "tool", "approval", "handoff", "supervisor", "filler_gap", "barge_in", "stall")
#: A gap in a reply's audio shorter than this is not a stall (a player's buffer).
STALL_MIN_MS = 20.0


def ms_between(a: float | None, b: float | None) -> float | None:
    """``b - a`` in milliseconds (rounded to the µs), or None if either is unknown."""
    return None if a is None or b is None else round((b - a) * 1000, 3)


@dataclass(frozen=True)
class Span:
    """Something that took time within a turn, in session seconds."""

    kind: str
    label: str
    start: float
    end: float
    marks: Mapping[str, float] = field(default_factory=dict, hash=False)

    @property
    def ms(self) -> float:
        return round((self.end - self.start) * 1000, 3)


@dataclass
class TurnTimeline:
    """One user turn: entries ``[start, end)`` of the log, its anchor, marks and spans."""

    index: int
    kind: str
    agent: str
    t: float
    start: int
    end: int
    item_id: str | None
    user_text: str
    #: The turn detection in force when the turn began (None: off).
    settings: TurnConfig | None
    anchor: float | None
    marks: dict[str, float] = field(default_factory=dict)
    spans: list[Span] = field(default_factory=list)

    def spans_of(self, kind: str) -> list[Span]:
        return [s for s in self.spans if s.kind == kind]

    def span(self, kind: str) -> Span | None:
        """The first span of ``kind``, if any."""
        return next((s for s in self.spans if s.kind == kind), None)


def is_turn_start(e: LoggedEvent) -> bool:
    """True for the entry that starts a user turn."""
    if e.direction == "server" and e.type == ev.COMMITTED:
        return True
    if e.direction == "client" and e.type == ev.ITEM_CREATE:
        item = e.event.get("item") or {}
        return (item.get("type") == "message" and item.get("role") == "user"
                and not ev.is_correction(item))
    return False


class _Index:
    """What the turns look up across the whole log, found in one pass."""

    def __init__(self, entries: Sequence[LoggedEvent]) -> None:
        self.clock = AudioClock(entries)
        self.settings = settings_changes(entries)
        self.starts: list[int] = []
        self.commits: list[int] = []
        self.stopped: dict[Any, list[int]] = {}
        self.transcribed: dict[Any, LoggedEvent] = {}
        for i, e in enumerate(entries):
            if is_turn_start(e):
                self.starts.append(i)
            if e.direction == "client" and e.type == ev.INPUT_AUDIO_COMMIT:
                self.commits.append(i)
            elif e.direction == "server" and e.type == ev.SPEECH_STOPPED:
                self.stopped.setdefault(e.event.get("item_id"), []).append(i)
            elif e.type == ev.TRANSCRIPTION_COMPLETED:
                self.transcribed.setdefault(e.event.get("item_id"), e)


def input_anchor(entries: Sequence[LoggedEvent], start: int, clock: AudioClock | None = None
                 ) -> tuple[float | None, LoggedEvent | None]:
    """When the user's input ended, for the turn starting at ``entries[start]``, and the
    ``speech_stopped`` entry it came from (voice only)."""
    index = _Index(entries)
    if clock is not None:
        index.clock = clock
    return _anchor(entries, start, index)


def _anchor(entries: Sequence[LoggedEvent], start: int, index: _Index
            ) -> tuple[float | None, LoggedEvent | None]:
    head = entries[start]
    if head.direction != "server":
        return head.t, None
    before = [i for i in index.stopped.get(head.event.get("item_id"), []) if i < start]
    if before:
        stopped = entries[before[-1]]
        return index.clock.time_of(stopped.event["audio_end_ms"]), stopped
    k = bisect.bisect_left(index.commits, start)
    commit = entries[index.commits[k - 1]] if k else head
    return commit.t, None  # push-to-talk: the user let go of the button


def timelines(entries: Sequence[LoggedEvent]) -> list[TurnTimeline]:
    """Every user turn in the log, oldest first."""
    index = _Index(entries)
    starts = index.starts
    return [_timeline(n, entries, start, starts[n + 1] if n + 1 < len(starts) else len(entries),
                      index)
            for n, start in enumerate(starts)]


def _timeline(n: int, entries: Sequence[LoggedEvent], start: int, end: int,
              index: _Index) -> TurnTimeline:
    head = entries[start]
    window = entries[start:end]
    anchor, stopped = _anchor(entries, start, index)
    marks: dict[str, float] = {}
    if head.direction == "server":
        kind, item_id = "voice", head.event.get("item_id")
        if stopped is not None:
            marks["end_of_turn"] = stopped.t
        marks["committed"] = head.t
        done = index.transcribed.get(item_id)
        user_text = done.event.get("transcript", "") if done is not None else ""
        if done is not None:
            marks["transcribed"] = done.t
    else:
        item = head.event.get("item") or {}
        parts = item.get("content") or []
        kind = "image" if any(p.get("type") == "input_image" for p in parts) else "text"
        item_id = item.get("id")
        user_text = " ".join(p.get("text", "") for p in parts if p.get("type") == "input_text")
    audio = [e for e in window if e.direction == "server" and e.type == ev.AUDIO_DELTA]
    created = next((e for e in window if e.type == ev.RESPONSE_CREATED), None)
    if created is not None:
        marks["created"] = created.t
    if audio:
        marks["first_audio"] = audio[0].t
    cfg = settings_at(index.settings, start)
    spans = [*_calls(window, audio), *_supervisor(window), *_filler(window),
             *_barge_in(window, index.clock, cfg), *_stalls(audio)]
    return TurnTimeline(n, kind, head.agent, head.t, start, end, item_id, user_text, cfg,
                        anchor, marks, spans)


def _calls(window: Sequence[LoggedEvent], audio: list[LoggedEvent]) -> list[Span]:
    outputs = {(e.event.get("item") or {}).get("call_id"): e for e in window
               if e.direction == "client" and e.type == ev.ITEM_CREATE
               and (e.event.get("item") or {}).get("type") == "function_call_output"}
    asked = {e.event.get("call_id"): e for e in window
             if e.type == ev.ToolApprovalRequested.TYPE}
    decided = {e.event.get("call_id"): e for e in window
               if e.type in (ev.ToolApproved.TYPE, ev.ToolRejected.TYPE)}
    spans = []
    for i, e in enumerate(window):
        if e.type != ev.CALL_ARGUMENTS_DONE:
            continue
        call_id = e.event.get("call_id")
        start = e
        if call_id in asked:  # the user's time is not the tool's
            decision = decided.get(call_id)
            if decision is None:
                continue
            verdict = "approved" if decision.type == ev.ToolApproved.TYPE else "rejected"
            spans.append(Span(APPROVAL, e.event.get("name", ""), e.t, decision.t,
                              {verdict: decision.t}))
            if verdict == "rejected":
                continue
            start = decision
        name = e.event.get("name", "")
        if ev.is_handoff(name):
            after = next((a for a in audio if a.t >= e.t), None)
            if after is not None:
                spans.append(Span(HANDOFF, ev.handoff_target(name), e.t, after.t,
                                  _handoff_marks(window[i + 1:], e)))
        elif (out := outputs.get(call_id)) is not None:
            spans.append(Span(TOOL, name, start.t, out.t))
    return spans


def _handoff_marks(later: Sequence[LoggedEvent], call: LoggedEvent) -> dict[str, float]:
    """Where a handoff's time goes: the old response ends, the client asks the new agent
    for a response, the server creates it."""
    rid = call.event.get("response_id")
    done = next((x for x in later if x.type == ev.RESPONSE_DONE
                 and (x.event.get("response") or {}).get("id") == rid), None)
    create = next((x for x in later if x.direction == "client"
                   and x.type == ev.RESPONSE_CREATE), None)
    created = next((x for x in later if x.type == ev.RESPONSE_CREATED
                    and (create is None or x.t >= create.t)), None)
    found = {"response_done": done, "create_sent": create, "created": created}
    return {k: x.t for k, x in found.items() if x is not None}


def _supervisor(window: Sequence[LoggedEvent]) -> list[Span]:
    requests = {e.event.get("call_id"): e for e in window if e.type == ev.SupervisorRequest.TYPE}
    return [Span(SUPERVISOR, "supervisor", requests[e.event.get("call_id")].t, e.t)
            for e in window if e.type == ev.SupervisorResponse.TYPE
            and e.event.get("call_id") in requests]


def _audio_ms(e: LoggedEvent) -> float:
    """Playing time of one logged audio delta (the log keeps ``{"$audio": [start, bytes]}``)."""
    return duration_ms(e.event["delta"]["$audio"][1])


def _stalls(audio: list[LoggedEvent]) -> list[Span]:
    items: dict[Any, list[LoggedEvent]] = {}
    for e in audio:
        items.setdefault(e.event.get("item_id"), []).append(e)
    spans = []
    for item_id, deltas in items.items():
        played_out = deltas[0].t
        for e in deltas:
            if (e.t - played_out) * 1000 >= STALL_MIN_MS:
                spans.append(Span(STALL, str(item_id), played_out, e.t))
            played_out = max(played_out, e.t) + _audio_ms(e) / 1000
    return spans


def _filler(window: Sequence[LoggedEvent]) -> list[Span]:
    request = next((e for e in window if e.type == ev.SupervisorRequest.TYPE), None)
    if request is None:
        return []
    deltas = [e for e in window if e.type == ev.AUDIO_DELTA]
    before = [e for e in deltas if e.t <= request.t]
    if not before:
        return []
    item_id = before[-1].event.get("item_id")
    filler = [e for e in deltas if e.event.get("item_id") == item_id]
    filler_ms = sum(_audio_ms(e) for e in filler)
    answer = next((e for e in deltas if e.t > request.t
                   and e.event.get("item_id") != item_id), None)
    if answer is None:
        return []
    return [Span(FILLER_GAP, "filler gap", filler[0].t + filler_ms / 1000, answer.t,
                 {"filler_start": filler[0].t, "request": request.t})]


def _barge_in(window: Sequence[LoggedEvent], clock: AudioClock,
              cfg: TurnConfig | None) -> list[Span]:
    first_audio = next((i for i, e in enumerate(window) if e.type == ev.AUDIO_DELTA), None)
    if first_audio is None:
        return []
    for i in range(first_audio, len(window)):
        e = window[i]
        if e.direction != "server" or e.type != ev.SPEECH_STARTED:
            continue
        pad = cfg.prefix_padding_ms if cfg is not None else 0
        if e.event["audio_start_ms"] == 0 and pad:
            return []  # the padded start was clipped at 0: the true onset is unknown
        onset = clock.time_of(e.event["audio_start_ms"] + pad)
        stop = next((x for x in window[i:] if _stops_playback(x)), None)
        if onset is None or stop is None:
            return []
        how = "playback flushed" if stop.type == ev.PlaybackFlushed.TYPE else "cancelled"
        return [Span(BARGE_IN, how, min(onset, e.t), stop.t, {"speech_started": e.t})]
    return []


def _stops_playback(e: LoggedEvent) -> bool:
    if e.type == ev.PlaybackFlushed.TYPE:
        return bool(e.event.get("item_id"))  # something was playing
    return (e.type == ev.RESPONSE_DONE
            and (e.event.get("response") or {}).get("status") == "cancelled")
