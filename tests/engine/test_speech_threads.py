"""Threads of the speech models: one per decode and per synthesis, and no spinning.

Idle OpenMP and onnxruntime threads spin for work and take CPU from other sessions'
speech; ``benchmarks/README.md`` ("Threads") measures the cost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = r'''
import json, os
import numpy as np
from rtnb.engine.speech.asr import WhisperAsr
asr = WhisperAsr()
tone = (0.1 * np.sin(2 * np.pi * 220 * np.arange(24000) / 24000)).astype(np.float32)
asr.transcribe(tone)
print(json.dumps({"omp": os.environ.get("OMP_NUM_THREADS")}))
'''


def asr_child(**env: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, text=True,
                         capture_output=True, timeout=300, check=True,
                         env={k: v for k, v in {**os.environ, **env}.items()
                              if not (k == "OMP_NUM_THREADS" and k not in env)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_openmp_setting_is_only_for_the_import_and_a_users_own_is_kept():
    assert asr_child()["omp"] is None  # set only while CTranslate2 loads
    assert asr_child(OMP_NUM_THREADS="4")["omp"] == "4"


def test_piper_runs_one_thread_without_spinning():
    from rtnb.engine.speech.tts import THREADS, PiperTts

    tts = PiperTts()
    options = tts._voice.session.get_session_options()
    assert THREADS == 1 and options.intra_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
