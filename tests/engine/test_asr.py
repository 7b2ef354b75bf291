"""Sized Whisper windows and their guard, on the real model and on real degenerate output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rtnb.engine.speech.asr import (
    MARGIN_S,
    Try,
    WhisperAsr,
    cut_restart,
    degenerate,
    judge,
    token_budget,
)
from rtnb.wer import word_error_rate
from tests import speechgen

DATA = Path(__file__).resolve().parents[1] / "data"
#: Piper speech with 300 ms before and 100 ms after, 16 kHz PCM16, that short windows loop on
#: (found by benchmarks/asr_windows.py). Without timestamps, every window from +0.25 s to
#: +2 s hears "Hello? Can you hear me? Hello? Can you hear me?".
LOOP_TEXT_MODE = ("Hello, can you hear me?", DATA / "asr_loop_hello.pcm")
#: With timestamps, +0.5 s and +1 s hear "I'd like to speak to a real person. I".
LOOP = ("I'd like to speak to a real person.", DATA / "asr_loop_person.pcm")


@pytest.fixture(scope="module")
def asr():
    model = WhisperAsr()
    model.warmup()
    return model


def load(path: Path) -> np.ndarray:
    return np.frombuffer(path.read_bytes(), "<i2").astype(np.float32) / 32767


# Real outputs of short-window decodes of the speech set (benchmarks/asr_windows.py).
LOOPED = [
    ("Hello? Can you hear me? Hello? Can you hear me?", "Hello? Can you hear me?"),
    ("Place transfer me to Bill and. Place transfer me to Bill and. Place",
     "Place transfer me to Bill and."),
    ("Yes, that's correct. Yes, that's correct. Yes,", "Yes, that's correct."),
    ("It was 19 degrees on the 21st. It was 19 degrees on the 21st. It was",
     "It was 19 degrees on the 21st."),
    ("My phone number is 555-123-4,567. My phone number is 555-123-4567. My phone number is "
     "555-123-4567", "My phone number is 555-123-4,567."),
]
FINE = ["Hello, can you hear me?", "My phone number is 555-123-4567.", "No, no, no.",
        "I want to return my snowboard.", "Two.", "the cat saw the"]


def decoded(text: str, tokens: int = 10, budget: int = 60, logprob: float = -0.2) -> Try:
    return Try(text, tokens, budget, logprob, text)


@pytest.mark.parametrize("looped, first", LOOPED)
def test_restarts_are_cut_at_the_first_repeat(looped, first):
    assert degenerate(looped, 10, 60) is not None
    assert judge(decoded(looped)) == (first, None, True)


@pytest.mark.parametrize("text", FINE)
def test_ordinary_text_passes_the_guard_untouched(text):
    assert cut_restart(text) == text
    assert judge(decoded(text, budget=token_budget(2.0))) == (text, None, False)


def test_short_loops_are_cut_when_they_run_out_of_tokens():
    assert judge(decoded("Yes. Yes. Yes.", tokens=14, budget=14)) == ("Yes.", None, True)
    assert judge(decoded("No, no, no", tokens=8, budget=14))[0] == "No, no, no"
    assert judge(decoded("No, no, no", tokens=14, budget=14))[0] == "No"


def test_unsure_decodes_are_redone_below_the_floor():
    assert judge(decoded("Can I bow a table", logprob=-0.9), -0.5)[1] == "unsure"
    assert judge(decoded("Can I book a table", logprob=-0.3), -0.5)[1] is None


def test_guard_rejects_run_on_and_repetitive_output():
    assert degenerate("and so on " * 3, token_budget(1.0), token_budget(1.0)) == "length"
    assert degenerate("la la la la la la la la la la la la la la la la", 16, 60) == \
        "compression"
    assert degenerate("do you have any news, do you have any", 11, 60) == \
        "repeat"


@pytest.mark.parametrize("timestamps, case", [(True, LOOP), (False, LOOP_TEXT_MODE)])
def test_the_guard_catches_a_real_short_window_loop(asr, timestamps, case):
    said, path = case
    x = load(path)
    # Without the silence filled into the decoder's memory, this audio loops.
    model = asr.variant(timestamps=timestamps, memory_positions=0, silence="audio",
                        margins=(0.5, 3.0, None))
    got = model.decode_once(x, x.size / 16000 + 0.5)
    assert word_error_rate(said, got.raw) > 0, got  # the fixture really loops
    unguarded = model.variant(guard=False)
    assert word_error_rate(said, unguarded.transcribe_many([(x, None)])[0].text) > 0
    decoded = model.transcribe_many([(x, None)])[0]
    assert decoded.cut or decoded.rejected
    assert word_error_rate(said, decoded.text) == 0, decoded
    assert decoded.window_s < 30  # repaired without the full window


@pytest.mark.parametrize("case", [LOOP, LOOP_TEXT_MODE])
def test_the_engines_guarded_decode_does_not_loop(asr, case):
    said, path = case
    x = load(path)
    got = asr.decode_once(x, x.size / 16000 + MARGIN_S)
    assert got.raw == got.text and word_error_rate(said, got.raw) == 0, got
    decoded = asr.transcribe_many([(x, None)])[0]
    assert not decoded.rejected and not decoded.cut, decoded
    assert degenerate(decoded.text, 0, token_budget(decoded.seconds)) is None
    assert word_error_rate(said, decoded.text) == 0, decoded


def test_mel_silence_is_what_faster_whisper_pads_the_full_window_with(asr):
    from faster_whisper.audio import pad_or_trim

    x = load(LOOP[1])
    with asr._one_blas_thread():  # as transcribe_full computes it (the sum's order is fixed)
        mel = asr._model.feature_extractor(x)  # what transcribe computes, then pads
    full = pad_or_trim(mel[:, :mel.shape[1] - 1])
    assert np.array_equal(asr._features(x, 3000, "mel"), full)
    assert np.array_equal(asr._features(x, 400, "mel"), full[:, :400])
    floor = asr._features(x, 400, "audio")[:, -50:]  # zeros in the waveform: the floor
    assert np.allclose(floor, floor.min()) and floor.min() < 0


def test_memory_is_filled_with_encoded_silence_up_to_its_positions(asr):
    x = load(LOOP[1])
    encoded = asr.encode_window([x, x], x.size / 16000 + MARGIN_S)
    n = encoded.shape[1]
    assert n == int(np.ceil((x.size / 16000 + MARGIN_S) * 50))  # 2 mel frames a position
    for silence in ("audio", "mel"):
        for positions in (0, n, 1000, 1500):
            memory = asr.variant(silence=silence, memory_positions=positions).memory(encoded)
            assert memory.shape == (2, max(n, positions), encoded.shape[2])
            assert np.array_equal(memory[:, :n], encoded)
    audio = asr.variant(silence="audio", memory_positions=1500).memory(encoded)[0, n:]
    mel = asr.variant(silence="mel", memory_positions=1500).memory(encoded)[0, n:]
    assert not np.allclose(audio, mel)  # two different silences
    assert np.array_equal(audio, asr.variant(silence="audio")._fill()[0, n:])
    with pytest.raises(ValueError):
        asr.variant(silence="noise")
    with pytest.raises(TypeError):
        asr.variant(beam_size=5)


def test_sized_windows_batch_and_match_the_full_window(asr):
    said = [speechgen.PHRASES[2], speechgen.NUMBER_PHRASES[0], speechgen.SHORT_PHRASES[0],
            speechgen.PHRASES[5]]
    clips = [speechgen.with_silence(speechgen.utterance(p, "echo"), 300, 100) for p in said]
    batched = asr.transcribe_batch([(pcm, None) for pcm in clips])
    for text, heard, pcm in zip(said, batched, clips, strict=True):
        full = asr.transcribe_full(pcm)
        assert word_error_rate(text, heard) <= word_error_rate(text, full) + 0.1, (heard, full)
    many = asr.transcribe_many([(asr.to_16k(pcm), None) for pcm in clips])
    assert all(d.window_s < 30 for d in many)  # none needed the full window
    assert [d.text for d in many] == batched


def test_prompts_of_different_lengths_share_a_call(asr):
    pcm = speechgen.utterance(speechgen.PHRASES[3], "alloy")
    texts = asr.transcribe_batch([(pcm, None), (pcm, "Snowboard returns."),
                                  (pcm, "Hi. I bought a snowboard last week from your shop.")])
    assert all(word_error_rate(speechgen.PHRASES[3], t) <= 0.2 for t in texts), texts


def test_silence_and_long_audio(asr):
    assert asr.transcribe(np.zeros(24000, np.float32)) == ""
    long = b"".join(speechgen.utterance(p) + bytes(48000) for p in speechgen.PHRASES)
    assert len(long) / 48 > 30_000  # longer than one window: the full path takes it
    heard = asr.transcribe(long)
    assert word_error_rate(" ".join(speechgen.PHRASES), heard) <= 0.15, heard
