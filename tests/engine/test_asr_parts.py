"""Incremental transcription in the sans-I/O core: speculative parts, kept at pauses.

No models: a scripted VAD says which 32 ms frames are speech.
"""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rtnb.engine import turns
from rtnb.engine.core import PAUSE_MS, Discard, RealtimeCore, Speculate, Transcribe

FRAME_BYTES = turns.FRAME_MS * 48


class ScriptedVad:
    """Speech probability per frame from a script (1.0 speech, 0.0 silence)."""

    def __init__(self, script: list[float]) -> None:
        self.script = script
        self.frame = 0
        self._rest = 0

    def process(self, pcm: bytes):
        n = (self._rest + len(pcm)) // FRAME_BYTES
        self._rest = (self._rest + len(pcm)) % FRAME_BYTES
        out = [self.script[i] if i < len(self.script) else 0.0
               for i in range(self.frame, self.frame + n)]
        self.frame += n
        return np.asarray(out, dtype=np.float32)

    def reset(self) -> None:
        pass


def stream(script: list[float]) -> bytes:
    """Audio whose every byte says where it is (so a slice is recognisable)."""
    ramp = np.arange(len(script) * FRAME_BYTES // 2, dtype=np.int64) % 30011
    return ramp.astype("<i2").tobytes()


def run(script: list[float], chunk_frames: int = 3, **td) -> tuple[bytes, list]:
    core = RealtimeCore(vad_factory=lambda: ScriptedVad(script))
    if td:
        core.receive(json.dumps({"type": "session.update", "session": {
            "type": "realtime", "audio": {"input": {"turn_detection": {
                "type": "server_vad", **td}}}}}))
    pcm = stream(script)
    out: list = []
    step = chunk_frames * FRAME_BYTES
    for i in range(0, len(pcm), step):
        out += core.feed_audio(pcm[i:i + step])
    return pcm, out


def frames(*segments: tuple[int, int]) -> list[float]:
    """``(speech frames, silence frames)`` pairs as a script."""
    out: list[float] = []
    for speech, silence in segments:
        out += [1.0] * speech + [0.0] * silence
    return out


def clip(pcm: bytes, span: tuple[int, int]) -> bytes:
    return pcm[span[0] * 48:span[1] * 48]


def test_a_long_pause_keeps_the_words_before_it():
    # speech, a 320 ms pause (longer than PAUSE_MS), speech, then the 500 ms window.
    pcm, out = run(frames((20, 10), (15, 30)))
    specs = [o for o in out if isinstance(o, Speculate)]
    job = next(o for o in out if isinstance(o, Transcribe))
    assert len(specs) == 2
    assert [k for k, _ in job.parts] == [s.key for s in specs]  # both decodes are used
    assert specs[1].context == (specs[0].key,)
    assert specs[0].key[1] == specs[1].key[0]  # contiguous
    assert job.key == specs[1].key
    for key, audio in job.parts:
        assert audio == clip(pcm, key)  # each part's text comes from exactly its audio


def test_a_short_pause_starts_no_decode():
    gap = PAUSE_MS // turns.FRAME_MS - 1
    _, out = run(frames((20, gap), (15, 30)))
    specs = [o for o in out if isinstance(o, Speculate)]
    job = next(o for o in out if isinstance(o, Transcribe))
    assert len(specs) == 1 and len(job.parts) == 1 and job.parts[0][0] == specs[0].key


def test_clear_and_manual_commit_discard_speculative_parts():
    core = RealtimeCore(vad_factory=lambda: ScriptedVad(frames((20, 8), (20, 100))))
    pcm = stream(frames((20, 8), (20, 8)))
    out = core.feed_audio(pcm[:28 * FRAME_BYTES])
    spec = next(o for o in out if isinstance(o, Speculate))
    out = core.feed_audio(pcm[28 * FRAME_BYTES:])
    out = core.receive(json.dumps({"type": "input_audio_buffer.commit"}))
    discard = next(o for o in out if isinstance(o, Discard))
    assert spec.key in discard.keys
    job = next(o for o in out if isinstance(o, Transcribe))
    assert job.parts == ()  # decoded whole


def test_silence_window_shorter_than_the_pause_still_speculates():
    _, out = run(frames((20, 20)), silence_duration_ms=200)
    kinds = [type(o).__name__ for o in out if not isinstance(o, dict)]
    assert kinds[:2] == ["Speculate", "Transcribe"]


segments = st.lists(st.tuples(st.integers(1, 40), st.integers(1, 25)), min_size=1, max_size=8)


@settings(max_examples=80, deadline=None)
@given(segments, st.integers(1, 7), st.sampled_from([200, 500, 800]))
def test_parts_cover_each_turn_and_no_decode_is_wasted(segs, chunk, window):
    script = frames(*segs) + [0.0] * 40
    pcm, out = run(script, chunk, silence_duration_ms=window)
    events = [o for o in out if isinstance(o, dict)]
    starts = [e["audio_start_ms"] for e in events
              if e["type"] == "input_audio_buffer.speech_started"]
    stops = [e["audio_end_ms"] for e in events
             if e["type"] == "input_audio_buffer.speech_stopped"]
    jobs = [o for o in out if isinstance(o, Transcribe)]
    specs = [o for o in out if isinstance(o, Speculate)]
    assert len(jobs) == len(stops) == len(starts)
    used = set()
    previous_stop = 0
    for job, start, stop in zip(jobs, starts, stops, strict=True):
        keys = [k for k, _ in job.parts]
        assert keys[0][0] >= start  # (the padding may reach into the previous item's audio)
        assert keys[-1][1] == stop + turns.FRAME_MS  # up to the last voiced frame, no further
        assert all(a[1] == b[0] for a, b in zip(keys, keys[1:], strict=False))
        assert all(audio == clip(pcm, k) for k, audio in job.parts)
        # Every voiced frame of the turn is inside the parts.
        voiced = [i * turns.FRAME_MS for i, p in enumerate(script) if p >= 0.5
                  and max(start, previous_stop) <= i * turns.FRAME_MS < stop]
        assert voiced and all(keys[0][0] <= t and t + turns.FRAME_MS <= keys[-1][1]
                              for t in voiced)
        previous_stop = stop
        used.update(keys)
    for spec in specs:
        assert spec.audio == clip(pcm, spec.key)
        assert spec.key in used  # no speculative decode is thrown away
