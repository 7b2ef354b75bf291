"""End-of-turn prediction with Smart Turn v3.2 (BSD-2-Clause) run through onnxruntime.

The model file ``smart-turn-v3.2-cpu.onnx`` (int8, 8.7 MB) ships inside the ``pipecat-ai``
wheel; it is found on disk and never imported, so none of pipecat's own dependencies are
needed (``pip install --no-deps pipecat-ai==1.14.0`` is enough, ``rtnb[turn]`` installs it
the ordinary way).

What the model takes, read from the file (input ``input_features`` ``[batch, 80, 800]``,
output ``logits`` ``[batch, 1]``) and from its documentation: the last 8 s of 16 kHz mono
audio, zeros in front when shorter, normalised to zero mean and unit variance over the
whole 8 s window, as 80-bin Whisper log-mel features (25 ms window, 10 ms hop, 800 frames).
The output is already a probability (the sigmoid is in the graph) that the speaker has
finished the turn; the reference threshold is 0.5.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import threading
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILE = "smart-turn-v3.2-cpu.onnx"
DISTRIBUTION = "pipecat-ai"
#: ``pip install`` line that brings the model without pipecat's own dependencies.
INSTALL_HINT = "pip install 'rtnb[turn]' (or, lean: pip install --no-deps pipecat-ai==1.14.0)"
RATE = 16000
WINDOW_S = 8
_SAMPLES = RATE * WINDOW_S
_FRAMES = 800
_MELS = 80


def default_model_path() -> Path:
    """Where ``smart-turn-v3.2-cpu.onnx`` is inside the installed ``pipecat`` package.

    Found without importing pipecat. Raises ``FileNotFoundError`` with an install hint.
    """
    spec = importlib.util.find_spec("pipecat")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the Smart Turn model is not installed: {INSTALL_HINT}")
    root = Path(next(iter(spec.submodule_search_locations)))
    path = root / "audio" / "turn" / "smart_turn" / "data" / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{MODEL_FILE} not found in {path.parent}: {INSTALL_HINT}")
    return path


def available() -> bool:
    """True when the model file is installed."""
    try:
        default_model_path()
    except FileNotFoundError:
        return False
    return True


def license_path() -> Path:
    """The licence file the ``pipecat-ai`` distribution that holds the model ships with."""
    dist = importlib.metadata.distribution(DISTRIBUTION)
    for f in dist.files or []:
        if Path(str(f)).name.upper().startswith("LICENSE") and ".dist-info" in str(f):
            path = Path(dist.locate_file(f))
            if path.is_file():
                return path
    raise FileNotFoundError(f"{DISTRIBUTION} ships no licence file")


def _extractor() -> Any:
    # faster-whisper's numpy port of Whisper's log-mel front end (an rtnb dependency).
    from faster_whisper.feature_extractor import FeatureExtractor

    return FeatureExtractor(feature_size=_MELS, sampling_rate=RATE, hop_length=160,
                            chunk_length=WINDOW_S, n_fft=400)


def window(audio16: np.ndarray) -> np.ndarray:
    """The model's 8 s input window: the last 8 s, zeros in front, zero mean, unit variance."""
    x = np.asarray(audio16, np.float32).reshape(-1)[-_SAMPLES:]
    out = np.zeros(_SAMPLES, np.float32)
    out[_SAMPLES - x.size:] = x
    return (out - out.mean()) / np.sqrt(out.var() + 1e-7)


class SmartTurn:
    """Probability that the user finished speaking, from the audio of the user's turn.

    One instance serves every session; calls are serialised (the model is small and a
    call takes tens of milliseconds, see ``benchmarks/turn_model.py``).
    """

    name = "smart-turn-v3.2"

    def __init__(self, model_path: str | Path | None = None, threads: int = 1) -> None:
        import onnxruntime as ort

        path = Path(model_path) if model_path else default_model_path()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), sess_options=opts,
                                             providers=["CPUExecutionProvider"])
        (inp,), (out,) = self._session.get_inputs(), self._session.get_outputs()
        if inp.name != "input_features" or list(inp.shape[1:]) != [_MELS, _FRAMES]:
            raise ValueError(f"{path}: unexpected input {inp.name} {inp.shape}")
        self._input, self._output = inp.name, out.name
        self._mel = _extractor()
        self._lock = threading.Lock()

    def features(self, audio16: np.ndarray) -> np.ndarray:
        """``[80, 800]`` log-mel features of 16 kHz float audio (its last 8 s)."""
        mel = self._mel(window(audio16), padding=0)
        return mel[:, :_FRAMES].astype(np.float32, copy=False)

    def probability(self, audio: Any) -> float:
        """P(turn finished) for the user's audio so far.

        ``audio`` is 24 kHz PCM16 bytes, an ``(array, rate)`` pair or a 16 kHz float array.
        """
        from rtnb.audio import load_audio

        feats = self.features(load_audio(audio, rate=RATE))[None]
        with self._lock:
            (out,) = self._session.run([self._output], {self._input: feats})
        return float(np.asarray(out).reshape(-1)[0])

    def warmup(self) -> None:
        """One call on a short tone, so the first real call is not slowed by lazy set-up."""
        t = np.arange(RATE) / RATE
        self.probability((0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32))
