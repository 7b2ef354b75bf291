"""Silero VAD (v6 ONNX, shipped in faster-whisper's assets) run through onnxruntime.

The model takes 16 kHz audio as rows of 64 context samples + a 512-sample window, with an LSTM
state ``(h, c)`` that is carried from row to row, so a batch of rows is the same as running them
one by one. Input here is 24 kHz PCM16: each 32 ms frame (768 samples) is resampled to 512
samples by a causal 3:2 polyphase FIR, so frame ``k`` is computed only from input samples
``< 768 (k + 1)`` (group delay ~1 ms) and results do not depend on how the input is chunked.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

FRAME_MS = 32
FRAME_BYTES = 1536  # 32 ms of 24 kHz PCM16
_FRAME_IN = 768  # 24 kHz samples per frame
_WINDOW = 512  # 16 kHz samples per frame
_CONTEXT = 64
_TAPS = 48  # taps per polyphase branch (96-tap low-pass at the 48 kHz intermediate rate)

_sessions: dict[str, Any] = {}
_sessions_lock = threading.Lock()


def default_model_path() -> Path:
    """Path of ``silero_vad_v6.onnx`` inside faster-whisper, found without importing it."""
    spec = importlib.util.find_spec("faster_whisper")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("faster-whisper is not installed; pass model_path explicitly")
    path = Path(next(iter(spec.submodule_search_locations))) / "assets" / "silero_vad_v6.onnx"
    if not path.is_file():
        raise FileNotFoundError(f"Silero VAD model not found at {path}")
    return path


def _session(path: Path) -> Any:
    """One InferenceSession per model file per process (single thread, sequential)."""
    key = str(path.resolve())
    with _sessions_lock:
        if key not in _sessions:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            opts.log_severity_level = 3
            sess = ort.InferenceSession(key, sess_options=opts, providers=["CPUExecutionProvider"])
            names = sorted(i.name for i in sess.get_inputs())
            if names != ["c", "h", "input"]:
                raise ValueError(f"{path}: unexpected VAD model inputs {names}")
            _sessions[key] = sess
        return _sessions[key]


def _polyphase_filter() -> np.ndarray:
    """Kaiser-windowed sinc low-pass (7.2 kHz at 48 kHz) split into a (taps + 1, 2) matrix.

    Upsampling 24 -> 48 kHz by zero stuffing, low-pass and keeping every third sample gives
    16 kHz output pairs: ``y[2p] = x[3p - T + 1 : 3p + 1] . h0`` and
    ``y[2p + 1] = x[3p - T + 2 : 3p + 2] . h1``, i.e. one window of ``T + 1`` inputs times
    this matrix.
    """
    n = np.arange(2 * _TAPS) - (2 * _TAPS - 1) / 2
    cut = 2 * 7200 / 48000
    h = cut * np.sinc(cut * n) * np.kaiser(2 * _TAPS, 7.0)
    h0, h1 = h[0::2] / h[0::2].sum(), h[1::2] / h[1::2].sum()  # unit DC gain per branch
    m = np.zeros((_TAPS + 1, 2), np.float32)
    m[:_TAPS, 0] = h0[::-1]
    m[1:, 1] = h1[::-1]
    return m


_FILTER = _polyphase_filter()
_EMPTY = np.zeros(0, np.float32)


class SileroVad:
    """Streaming speech probabilities, one per 32 ms frame. One instance per audio stream."""

    def __init__(self, model_path: str | Path | None = None) -> None:
        self._session = _session(Path(model_path) if model_path else default_model_path())
        self.reset()

    def reset(self) -> None:
        """Forget all audio and recurrent state."""
        self._pending = b""
        self._history = np.zeros(_TAPS - 1, np.float32)  # resampler input history
        self._context = np.zeros(_CONTEXT, np.float32)  # last 64 samples at 16 kHz
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)

    def process(self, pcm24: bytes) -> np.ndarray:
        """Append 24 kHz PCM16 audio; return the probabilities of the frames it completes."""
        data = self._pending + bytes(pcm24) if self._pending else bytes(pcm24)
        n = len(data) // FRAME_BYTES
        if n == 0:
            self._pending = data
            return _EMPTY
        self._pending = data[n * FRAME_BYTES :]
        hist = _TAPS - 1
        buf = np.empty(hist + n * _FRAME_IN, np.float32)
        buf[:hist] = self._history
        pcm = np.frombuffer(data, "<i2", n * _FRAME_IN)
        np.multiply(pcm, np.float32(1 / 32768), out=buf[hist:], casting="unsafe")
        self._history = buf[-hist:].copy()
        # (frames, 256, T + 1) sliding windows with hop 3; a batched matmul keeps each frame's
        # arithmetic identical however many frames arrive together.
        s = buf.strides[0]
        windows = as_strided(buf, (n, _WINDOW // 2, _TAPS + 1), (_FRAME_IN * s, 3 * s, s))
        rows = np.empty((n, _CONTEXT + _WINDOW), np.float32)
        rows[:, _CONTEXT:] = np.matmul(windows, _FILTER).reshape(n, _WINDOW)
        rows[0, :_CONTEXT] = self._context
        rows[1:, :_CONTEXT] = rows[:-1, -_CONTEXT:]
        self._context = rows[-1, -_CONTEXT:].copy()
        probs, self._h, self._c = self._session.run(
            None, {"input": rows, "h": self._h, "c": self._c}
        )
        return probs.reshape(n)


def trace(audio: bytes | np.ndarray, rate: int = 24000) -> np.ndarray:
    """Speech probability per 32 ms frame of a whole recording, from fresh state.

    ``audio`` is PCM16 bytes at 24 kHz or a float array at ``rate`` (quantised to PCM16 first,
    so the result equals streaming the same bytes through :class:`SileroVad`).
    """
    if isinstance(audio, (bytes, bytearray, memoryview)):
        if rate != 24000:
            raise ValueError("PCM16 bytes must be 24 kHz")
    else:
        from rtnb.audio import RATE, resample, to_pcm16

        audio = to_pcm16(resample(np.asarray(audio, np.float32).reshape(-1), rate, RATE))
    return SileroVad().process(bytes(audio))
