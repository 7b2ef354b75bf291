"""Piper's onnxruntime memory arena: the modes, and that "shrink" gives memory back.

The memory test runs each mode in a fresh subprocess (RSS is per process) on one long,
slow sentence, the kind that grew the default arena by gigabytes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rtnb.engine.speech.tts import ARENA_MODES, PiperTts

ROOT = Path(__file__).resolve().parents[2]
LONG = ("Thanks for waiting, I have looked at your account and I can see that the premium "
        "plan renews on the first of every month and that you can cancel it at any time.")

CHILD = r'''
import json, sys
from rtnb.engine.speech.tts import PiperTts


def rss_mb():
    with open("/proc/self/status") as f:
        return next(int(ln.split()[1]) for ln in f if ln.startswith("VmRSS:")) / 1024


tts = PiperTts(arena=sys.argv[1])
tts.warmup()
before = rss_mb()
seconds = sum(len(pcm) for _, pcm in tts.synthesize(sys.argv[2], "alloy", 0.25)) / 48000
print(json.dumps({"growth_mb": rss_mb() - before, "audio_s": seconds}))
'''


def test_arena_mode_is_checked():
    with pytest.raises(ValueError, match="arena"):
        PiperTts(arena="huge")
    assert ARENA_MODES == ("off", "grow", "shrink")


def test_default_is_the_shrinking_arena():
    import inspect

    assert inspect.signature(PiperTts).parameters["arena"].default == "shrink"


def growth_mb(arena: str) -> float:
    out = subprocess.run([sys.executable, "-c", CHILD, arena, LONG], cwd=ROOT, text=True,
                         capture_output=True, timeout=600, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["audio_s"] > 20  # a long tensor: 30 words at a quarter of the speed
    return result["growth_mb"]


@pytest.mark.slow
def test_shrinking_arena_gives_back_what_a_long_sentence_took():
    grow, shrink = growth_mb("grow"), growth_mb("shrink")
    assert grow > 200, grow  # the default arena keeps the long sentence's tensors
    assert shrink < 60, shrink  # the shrinking one hands them back after the sentence
