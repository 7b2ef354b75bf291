"""Threads of the speech models: one per decode and per synthesis, and no spinning.

Idle OpenBLAS and onnxruntime threads spin for work and take CPU from other sessions'
speech; ``benchmarks/speech_threads.py`` measures the cost.
"""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info


@pytest.fixture(scope="module")
def asr():
    from rtnb.engine.speech.asr import CPU_THREADS, WhisperAsr

    model = WhisperAsr()
    assert model.cpu_threads == CPU_THREADS == 1
    return model


def blas_threads() -> list[int]:
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_the_log_mel_runs_on_one_blas_thread_and_the_limit_is_lifted_after(asr, monkeypatch):
    before = blas_threads()
    assert before, "numpy has a BLAS"
    seen: list[list[int]] = []
    inner = asr._model.feature_extractor

    class Spy:
        def __getattr__(self, name):
            return getattr(inner, name)

        def __call__(self, *args, **kwargs):
            seen.append(blas_threads())
            return inner(*args, **kwargs)

    monkeypatch.setattr(asr._model, "feature_extractor", Spy())
    tone = (0.1 * np.sin(2 * np.pi * 220 * np.arange(24000) / 24000)).astype(np.float32)
    asr.transcribe(tone)  # sized windows
    asr.transcribe_full(tone)  # the full window (faster-whisper's own loop)
    assert len(seen) >= 2 and all(threads == [1] * len(threads) for threads in seen)
    assert blas_threads() == before


def test_piper_runs_one_thread_without_spinning():
    from rtnb.engine.speech.tts import THREADS, PiperTts

    tts = PiperTts()
    options = tts._voice.session.get_session_options()
    assert THREADS == 1 and options.intra_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
