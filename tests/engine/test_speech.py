"""Offline speech models: Silero VAD, whisper tiny.en ASR and piper TTS (real models)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtnb import audio
from rtnb.engine import speech
from rtnb.engine.speech import FRAME_BYTES, SileroVad, trace
from rtnb.engine.speech import tts as tts_mod
from rtnb.wer import word_error_rate
from tests import speechgen

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tts():
    return speechgen.engine()


@pytest.fixture(scope="module")
def asr():
    model = speech.WhisperAsr()
    model.warmup()
    return model


@pytest.fixture(scope="module")
def speech_pcm(tts):
    return speechgen.with_silence(speechgen.utterance(speechgen.PHRASES[1]), 500, 500)


# --- VAD ------------------------------------------------------------------------------------


def test_vad_frame_constants():
    assert speech.FRAME_MS == 32 and FRAME_BYTES == 32 * 48


def test_vad_low_on_silence_and_noise():
    assert trace(bytes(3 * 48000)).max() < 0.1
    noise = np.random.default_rng(0).standard_normal(3 * 24000) * 0.05
    probs = trace(noise)
    assert len(probs) == 3 * 24000 // 768
    assert probs.max() < 0.2 and probs.mean() < 0.05


def test_vad_high_on_speech(speech_pcm):
    probs = trace(speech_pcm)
    lead = 500 // 32
    assert probs[: lead - 1].max() < 0.1  # the leading silence
    assert probs.max() > 0.95
    assert np.mean(probs[lead:-lead] > 0.5) > 0.7


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cuts=st.lists(st.integers(0, 80000), max_size=20))
def test_vad_is_invariant_to_chunking(speech_pcm, cuts):
    pcm = speech_pcm[:80000]
    vad = SileroVad()
    points = sorted(set(cuts))
    chunks = [pcm[a:b] for a, b in zip([0, *points], [*points, len(pcm)], strict=True)]
    probs = np.concatenate([vad.process(c) for c in chunks])
    assert probs.dtype == np.float32 and len(probs) == len(pcm) // FRAME_BYTES
    assert np.array_equal(probs, trace(pcm))


def test_vad_reset_and_incremental_counts(speech_pcm):
    vad = SileroVad()
    assert vad.process(speech_pcm[: FRAME_BYTES - 1]).size == 0
    assert vad.process(speech_pcm[FRAME_BYTES - 1 : FRAME_BYTES]).size == 1
    vad.process(speech_pcm[FRAME_BYTES:])
    vad.reset()
    assert np.array_equal(vad.process(speech_pcm), trace(speech_pcm))


def test_vad_trace_accepts_float_at_other_rates(speech_pcm):
    x16 = audio.load_audio(speech_pcm, rate=16000)
    probs = trace(x16, rate=16000)
    ref = trace(speech_pcm)
    assert abs(len(probs) - len(ref)) <= 1
    n = min(len(probs), len(ref))
    assert np.mean(np.abs(probs[:n] - ref[:n])) < 0.05


# --- ASR ------------------------------------------------------------------------------------

ASR_CASES = [
    (speechgen.PHRASES[1], "alloy"),
    (speechgen.PHRASES[3], "echo"),
    (speechgen.PHRASES[2], "shimmer"),
]


def test_asr_transcribes_synthetic_speech(asr, tts):
    assert asr.name == "whisper-tiny.en"
    errors = []
    for text, voice in ASR_CASES:
        heard = asr.transcribe(speechgen.with_silence(speechgen.utterance(text, voice), 200, 300))
        errors.append(word_error_rate(text, heard))
    # Measured: 0.0 on these three (mean 3.5 % over 12 phrases x 4 voices).
    assert np.mean(errors) <= 0.15, errors


def test_asr_accepts_float_arrays_and_prompt(asr, tts):
    pcm = speechgen.utterance(speechgen.PHRASES[3])
    text = asr.transcribe(audio.to_float(pcm), prompt="Snowboard returns.")
    assert word_error_rate(speechgen.PHRASES[3], text) <= 0.2
    assert asr.transcribe(b"") == ""


def test_wer_helper():
    assert word_error_rate("My number is 555 123 4567.", "my number is five five five 1234567") == 0
    assert word_error_rate("a b c d", "a x c") == 0.5
    assert word_error_rate("", "") == 0


# --- TTS ------------------------------------------------------------------------------------


def test_tts_output_is_24khz_and_audible(tts):
    assert tts.name == "piper-joe-medium" and tts.sample_rate == 24000
    [(sentence, pcm)] = list(tts.synthesize("Hello there, how are you?"))
    assert sentence == "Hello there, how are you?"
    x = audio.to_float(pcm)
    assert 0.8 < len(x) / 24000 < 3.5
    assert np.sqrt(np.mean(x**2)) > 0.03
    spectrum = np.abs(np.fft.rfft(x))
    freqs = np.fft.rfftfreq(len(x), 1 / 24000)
    assert freqs[np.argmax(spectrum)] < 4000  # voiced energy, not resampling noise


def test_tts_streams_sentences_in_order(tts):
    text = "Sure. I can help you with that today.  Your order ships tomorrow morning, by noon!"
    gen = tts.synthesize(text)
    start = time.perf_counter()
    first_sentence, first_pcm = next(gen)
    first = time.perf_counter() - start
    rest = list(gen)
    total = time.perf_counter() - start
    sentences = [first_sentence] + [s for s, _ in rest]
    assert sentences == [
        "Sure.",
        "I can help you with that today.",
        "Your order ships tomorrow morning, by noon!",
    ]
    assert " ".join(sentences).split() == text.split()
    assert first_pcm and all(pcm for _, pcm in rest)
    assert first < total / 2


def _quiet_ms(pcm: bytes) -> tuple[int, int]:
    """Milliseconds of quiet (10 ms frames under -50 dBFS) before the first sound and
    after the last."""
    x = audio.to_float(pcm)
    n = x.size // 240
    loud = np.flatnonzero(np.sqrt(np.mean(x[: n * 240].reshape(n, 240) ** 2, axis=1)) > 10 ** -2.5)
    return int(loud[0]) * 10, (n - 1 - int(loud[-1])) * 10


def test_trim_silence_keeps_the_sound_and_the_asked_margins():
    rate = 24000
    tone = 0.3 * np.sin(np.arange(rate // 5) * 2 * np.pi * 220 / rate)  # 200 ms
    x = np.concatenate([np.zeros(rate * 3 // 10), tone, np.zeros(rate * 3 // 10)])
    kept = tts_mod.trim_silence(x, rate, lead_ms=20)
    assert kept.size == x.size - rate * 28 // 100  # 280 ms of the lead gone, the end kept
    both = tts_mod.trim_silence(x, rate, lead_ms=20, tail_ms=40)
    assert both.size == rate * 26 // 100  # 20 + 200 + 40 ms
    assert np.array_equal(both[rate // 50: rate // 50 + tone.size], tone)
    quiet = np.zeros(rate // 10)
    assert tts_mod.trim_silence(quiet, rate, 20, 40) is quiet  # nothing to find: unchanged


def test_a_sentence_cut_for_a_fast_start_joins_like_the_next_word(tts):
    """The first chunk of a long sentence ends mid-sentence: Piper's end-of-sentence pause
    (0.1-0.3 s) and the next chunk's lead-in (up to ~0.4 s) would sound like a stop. A
    whole sentence keeps its final pause."""
    first, rest = tts.plan("I'm a simple offline engine, so I can't answer that myself.")
    assert (first, rest) == ("I'm a simple", "offline engine, so I can't answer that myself.")
    _, tail = _quiet_ms(tts.synthesize_sentence(first))
    lead, end = _quiet_ms(tts.synthesize_sentence(rest))
    assert tail + lead <= 80
    assert end >= 80
    assert _quiet_ms(tts.synthesize_sentence("Okay."))[0] <= 30


def test_tts_speed_changes_duration(tts):
    text = "I want to return my snowboard."
    slow = sum(len(p) for _, p in tts.synthesize(text, speed=0.7))
    fast = sum(len(p) for _, p in tts.synthesize(text, speed=1.5))
    assert 1.5 < slow / fast < 2.8


def test_tts_voices_and_errors(tts):
    names = [
        "alloy",
        "ash",
        "ballad",
        "coral",
        "echo",
        "sage",
        "shimmer",
        "verse",
        "marin",
        "cedar",
    ]
    assert sorted(speech.VOICES) == sorted(names)
    for name in names:
        [(_, pcm)] = list(tts.synthesize("Okay.", voice=name))
        assert len(pcm) > 0.2 * 48000
    with pytest.raises(ValueError, match="valid voices: alloy"):
        tts.synthesize("Hi.", voice="nova")
    for speed in (0.2, 4.5):
        with pytest.raises(ValueError, match="speed"):
            tts.synthesize("Hi.", speed=speed)
    assert list(tts.synthesize("")) == [] and list(tts.synthesize("  \n ")) == []


# --- packaging ------------------------------------------------------------------------------


def test_importing_speech_loads_no_runtime():
    code = (
        "import sys, rtnb.audio, rtnb.engine.speech; "
        "heavy = {'onnxruntime', 'faster_whisper', 'piper', 'ctranslate2', 'soxr'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.network_isolation
def test_models_load_without_network():
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-n", "true"]).returncode:
        pytest.skip("unshare -n is not available")
    code = textwrap.dedent(
        """
        from rtnb.engine.speech import PiperTts, SileroVad, WhisperAsr
        pcm = b"".join(p for _, p in PiperTts().synthesize("What's the weather in Paris?"))
        assert SileroVad().process(pcm).max() > 0.5
        print(WhisperAsr(cpu_threads=1).transcribe(bytes(4800) + pcm + bytes(9600)))
        """
    )
    out = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    # Piper's synthesis is stochastic, so one word may be misheard ("Paris" → "pairs").
    assert word_error_rate("What's the weather in Paris?", out.stdout) <= 0.25, out.stdout
