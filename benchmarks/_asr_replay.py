"""ASR CPU per turn, replayed side by side: this engine, one full-window decode, and the
engine before issue 9.

During a benchmark run, :class:`VadRecorder` keeps the audio each session's VAD saw and the
speech probability of every 32 ms frame, and the stage trace keeps each ASR batch the engine
ran. After the run, on the idle engine, :func:`replay` measures per turn the process CPU of

- **this engine**: its recorded batches, decoded again (guard and fallbacks included);
- **(a) one full-window decode** of the turn's speech (faster-whisper pads it to 30 s);
- **(b) the engine before issue 9** (commit 5ede894) on the same audio and the same VAD
  frames: :func:`decodes_before` replays its speculation rule, and each decode it made is
  timed as the full-window decode it was.
"""

from __future__ import annotations

from typing import Any

from _bench import cpu_timer
from _realtime import stats

from rtnb.engine import turns


class VadRecorder:
    """Wraps an engine's ``vad_factory``: each VAD it makes records what it saw."""

    def __init__(self) -> None:
        #: One per VAD made: ``pcm`` (every byte given to it), ``probs`` (one per frame since
        #: the last reset) and ``start`` (bytes of ``pcm`` before that reset).
        self.streams: list[dict[str, Any]] = []

    def install(self, engine: Any) -> None:
        factory = engine.vad_factory
        streams = self.streams

        class RecordingVad:
            def __init__(self) -> None:
                self._inner = factory()
                self.rec: dict[str, Any] = {"pcm": bytearray(), "probs": [], "start": 0}
                streams.append(self.rec)

            def process(self, pcm: bytes) -> Any:
                probs = self._inner.process(pcm)
                self.rec["pcm"] += pcm
                self.rec["probs"].extend(float(p) for p in probs)
                return probs

            def reset(self) -> None:
                self._inner.reset()
                self.rec["start"] = len(self.rec["pcm"])
                self.rec["probs"] = []

        engine.vad_factory = RecordingVad


def decodes_before(rec: dict[str, Any], cfg: turns.TurnConfig) -> dict[int, list[bytes]]:
    """The ASR calls the engine before issue 9 made, per turn (keyed by the turn's
    ``speech_stopped.audio_end_ms``), on a recorded VAD stream.

    Its rule (``rtnb/engine/core.py`` and ``realtime.py`` at 5ede894): every first silent frame
    after speech (``silence_began``) started a full-window decode of the speech so far, from
    its padded start to the last voiced frame, and replaced the previous guess; at
    ``speech_stopped`` the item reused the guess whose span matched, else decoded the buffer
    from the speech's start. Its buffer began where the previous item was committed.
    """
    pcm, start_ms = rec["pcm"], rec["start"] / 48
    floor_ms = start_ms  # the buffer's start: the last commit
    state = turns.TurnState(t_ms=int(start_ms))
    out: dict[int, list[bytes]] = {}
    calls: list[bytes] = []
    guess: tuple[int, int] | None = None

    def cut(a_ms: float, b_ms: float) -> bytes:
        a = int(max(a_ms, floor_ms) * 48)
        b = max(a, int(b_ms * 48))
        return bytes(pcm[a - a % 2:b - b % 2])

    for p in rec["probs"]:
        state, events = turns.step(state, p, cfg)
        for ev in events:
            span = (state.speech_start_ms, ev.audio_start_ms + turns.FRAME_MS)
            if ev.kind == "speech_started":
                calls, guess = [], None
            elif ev.kind == "silence_began":
                calls.append(cut(*span))
                guess = span
            elif ev.kind == "speech_stopped":
                if span != guess:
                    calls.append(cut(span[0], ev.audio_ms))
                out[ev.audio_start_ms] = calls
                floor_ms = ev.audio_ms
                calls, guess = [], None
    return out


def replay(asr: Any, rows: list[dict[str, Any]], recorder: VadRecorder | None,
           cfg: turns.TurnConfig, issue_asr: Any = None) -> dict[str, Any]:
    """Per turn of ``rows`` (each with its ``asr_jobs`` batches, which are removed): the CPU and
    wall of this engine's ASR, of (a) one full-window decode of the turn's speech, and of
    (b) the engine before issue 9, all measured here, one after another, per turn.

    ``issue_asr``: also (a0), the full-window decode with the threads the engine had when
    issue 9 was filed (a model loaded with those settings).
    """
    before: dict[int, list[bytes]] = {}
    for rec in (recorder.streams if recorder else []):
        before.update(decodes_before(rec, cfg))
    per = []
    for r in rows:
        jobs = r.pop("asr_jobs", None) or []
        if not jobs:
            continue
        with cpu_timer() as ours:
            for batch in jobs:
                asr.transcribe_batch(batch)
        audio = b"".join(pcm for batch in jobs for pcm, _ in batch)
        with cpu_timer() as full:
            asr.transcribe_full(audio)
        if issue_asr is not None:
            with cpu_timer() as then_full:
                issue_asr.transcribe_full(audio)
        row = {"turn": r["turn"], "requests": sum(len(b) for b in jobs),
               "audio_ms": len(audio) / 48, "cpu_ms": 1000 * ours["cpu"],
               "wall_ms": 1000 * ours["wall"], "full_cpu_ms": 1000 * full["cpu"],
               "full_wall_ms": 1000 * full["wall"]}
        if issue_asr is not None:
            row.update(issue_full_cpu_ms=1000 * then_full["cpu"],
                       issue_full_wall_ms=1000 * then_full["wall"])
        old = before.get(r["speech_stopped_audio_end_ms"])
        if old is not None:
            with cpu_timer() as then:
                for pcm in old:
                    asr.transcribe_full(pcm)
            row.update(before_calls=len(old), before_cpu_ms=1000 * then["cpu"],
                       before_wall_ms=1000 * then["wall"])
        per.append(row)
    if not per:
        return {"turns": []}

    def ratio(key: str) -> float | None:
        both = [p for p in per if p.get(key) is not None]
        den = sum(p[key] for p in both)
        return round(sum(p["cpu_ms"] for p in both) / den, 3) if den else None

    matched = [p for p in per if "before_calls" in p]
    return {"turns": per,
            "cpu_ms": stats([p["cpu_ms"] for p in per]),
            "wall_ms": stats([p["wall_ms"] for p in per]),
            "full_cpu_ms": stats([p["full_cpu_ms"] for p in per]),
            "full_wall_ms": stats([p["full_wall_ms"] for p in per]),
            "before_cpu_ms": stats([p.get("before_cpu_ms") for p in per]),
            "requests_per_turn": round(sum(p["requests"] for p in per) / len(per), 2),
            "before_calls_per_turn": round(sum(p["before_calls"] for p in matched)
                                           / len(matched), 2) if matched else None,
            "before_matched": len(matched),
            "issue_full_cpu_ms": stats([p.get("issue_full_cpu_ms") for p in per]),
            "ratio_full": ratio("full_cpu_ms"), "ratio_before": ratio("before_cpu_ms"),
            "ratio_issue_full": ratio("issue_full_cpu_ms"),
            # the name earlier results used for ratio_full
            "cpu_ratio": ratio("full_cpu_ms")}


def report(replay: dict[str, Any]) -> str:
    c, f, b = replay["cpu_ms"], replay["full_cpu_ms"], replay["before_cpu_ms"]
    n = len(replay["turns"])
    lines = [
        f"ASR CPU per turn, replayed on the idle engine, side by side ({n} turns):",
        f"  this engine: {replay['requests_per_turn']} requests per turn, CPU p50 {c['p50']} ms, "
        f"mean {c['mean']} ms (wall p50 {replay['wall_ms']['p50']} ms)",
        f"  (a) one full-window decode of the turn's speech: CPU p50 {f['p50']} ms, mean "
        f"{f['mean']} ms (wall p50 {replay['full_wall_ms']['p50']} ms: this machine's baseline)",
    ]
    if replay.get("ratio_issue_full") is not None:
        a0 = replay["issue_full_cpu_ms"]
        lines.append(f"  (a0) the same, with the threads of the engine when issue 9 was filed "
                     f"(CPUs up to 4, BLAS threads): CPU p50 {a0['p50']} ms, mean {a0['mean']} ms")
    if replay["before_matched"]:
        lines.append(
            f"  (b) the engine before issue 9 (5ede894's speculation, full windows) on "
            f"{replay['before_matched']} of these turns: {replay['before_calls_per_turn']} "
            f"decodes per turn, CPU p50 {b['p50']} ms, mean {b['mean']} ms")
    lines.append(f"  this engine / (a): {replay['ratio_full']}   "
                 f"/ (a0): {replay.get('ratio_issue_full')}   "
                 f"/ (b): {replay['ratio_before']}   (total CPU; target <= 0.2)")
    return "\n".join(lines)
