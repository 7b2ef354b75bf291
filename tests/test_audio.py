"""Wire audio helpers: G.711, streaming conversion, resampling, WAV and load_audio (no models)."""

from __future__ import annotations

import warnings
import wave

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtnb import audio

ALL = np.arange(-32768, 32768, dtype=np.int16)


def tone(freq: float = 440.0, seconds: float = 1.0, rate: int = 24000, amp: float = 0.3):
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


# --- G.711 ------------------------------------------------------------------------------------


def test_g711_reference_values():
    assert audio.ulaw_encode(np.array([0], np.int16)) == b"\xff"
    assert audio.alaw_encode(np.array([0], np.int16)) == b"\xd5"
    assert audio.ulaw_encode(np.array([32767, -32768], np.int16)) == b"\x80\x00"
    assert audio.alaw_encode(np.array([32767, -32768], np.int16)) == b"\xaa\x2a"
    assert audio.ulaw_decode(b"\xff\x7f\x80\x00").tolist() == [0, 0, 32124, -32124]
    assert audio.alaw_decode(b"\xd5\x55\xaa\x2a").tolist() == [8, -8, 32256, -32256]


def test_g711_decode_tables_are_monotonic_and_symmetric():
    u = audio.ulaw_decode(bytes(range(256))).astype(int)
    a = audio.alaw_decode(bytes(range(256))).astype(int)
    assert sorted(u) == sorted(-u) and sorted(a) == sorted(-a)
    # Codes 0x80..0xFF are the positive half; within it the magnitude falls with the code.
    assert np.all(np.diff(u[0x80:]) < 0) and np.all(np.diff(u[:0x80]) > 0)
    assert len(set(a.tolist())) == 256


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_g711_roundtrip_error_bounds(law):
    enc, dec = getattr(audio, f"{law}_encode"), getattr(audio, f"{law}_decode")
    x = ALL.astype(np.int64)
    err = np.abs(dec(enc(ALL)).astype(np.int64) - x)
    mid = (np.abs(x) >= 1024) & (np.abs(x) <= 32000)
    assert err[np.abs(x) < 64].max() <= 8
    assert (err[mid] / np.abs(x[mid])).max() <= 0.036  # ~5 bits of relative precision
    assert err.max() <= 644  # µ-law clips at 32124
    codes = bytes(c for c in range(256) if not (law == "ulaw" and c == 0x7F))  # -0 -> +0
    assert enc(dec(codes)) == codes


def test_g711_matches_audioop_when_available():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")
    pcm = ALL.tobytes()
    assert audio.ulaw_encode(ALL) == audioop.lin2ulaw(pcm, 2)
    assert audio.alaw_encode(ALL) == audioop.lin2alaw(pcm, 2)
    codes = bytes(range(256))
    assert audio.ulaw_decode(codes).tobytes() == audioop.ulaw2lin(codes, 2)
    assert audio.alaw_decode(codes).tobytes() == audioop.alaw2lin(codes, 2)


# --- formats and streaming ----------------------------------------------------------------------


def test_format_constants():
    assert audio.RATE == 24000
    assert audio.FORMATS == ("audio/pcm", "audio/pcmu", "audio/pcma")
    assert [audio.bytes_per_ms(f) for f in audio.FORMATS] == [48, 8, 8]
    assert audio.duration_ms(4800) == 100.0
    assert audio.duration_ms(160, "audio/pcmu") == 20.0
    with pytest.raises(ValueError, match="unknown audio format"):
        audio.bytes_per_ms("audio/mp3")
    with pytest.raises(ValueError, match="unknown audio format"):
        audio.StreamDecoder("g711_ulaw")


def test_pcm_is_passthrough_and_odd_length_raises():
    pcm = audio.to_pcm16(tone())
    assert audio.decode(pcm, "audio/pcm") == pcm
    assert audio.encode(pcm, "audio/pcm") == pcm
    with pytest.raises(ValueError, match="odd-length PCM16 audio"):
        audio.StreamDecoder("audio/pcm").decode(b"\x00\x01\x02")
    with pytest.raises(ValueError, match="odd-length PCM16 audio"):
        audio.StreamEncoder("audio/pcmu").encode(b"\x00")


@pytest.mark.parametrize("fmt", ["audio/pcmu", "audio/pcma"])
def test_g711_stream_rates_and_fidelity(fmt):
    x = tone(1000.0)
    wire = audio.encode(audio.to_pcm16(x), fmt)
    assert len(wire) == 8000  # 1 s at 8 kHz, one byte per sample
    back = audio.to_float(audio.decode(wire, fmt))
    assert len(back) == 24000
    core = slice(2400, 21600)  # away from the resampler's edge transients
    assert np.sqrt(np.mean((back[core] - x[core]) ** 2)) < 0.01
    spectrum = np.abs(np.fft.rfft(back))
    assert abs(np.argmax(spectrum) - 1000) <= 1  # 1 Hz bins


@settings(max_examples=30, deadline=None)
@given(
    fmt=st.sampled_from(audio.FORMATS),
    cuts=st.lists(st.integers(0, 4000), max_size=12),
)
def test_stream_chunking_is_invisible(fmt, cuts):
    pcm = audio.to_pcm16(tone(700.0, 0.2))
    step = 2 if fmt == "audio/pcm" else 1
    wire = audio.encode(pcm, fmt)
    enc = audio.StreamEncoder(fmt)
    parts = split(pcm, [c - c % 2 for c in cuts])
    assert b"".join(enc.encode(p) for p in parts) + enc.flush() == wire
    dec = audio.StreamDecoder(fmt)
    parts = split(wire, [c - c % step for c in cuts])
    assert b"".join(dec.decode(p) for p in parts) + dec.flush() == audio.decode(wire, fmt)


def test_stream_reusable_after_flush():
    wire = audio.encode(audio.to_pcm16(tone(300.0, 0.1)), "audio/pcma")
    dec = audio.StreamDecoder("audio/pcma")
    first = dec.decode(wire) + dec.flush()
    assert dec.decode(wire) + dec.flush() == first


# --- samples, resampling, files -------------------------------------------------------------


def test_float_pcm16_conversion():
    assert audio.to_float(b"\x00\x80\xff\x7f").tolist() == [-1.0, 32767 / 32768]
    assert (
        audio.to_pcm16(np.array([2.0, -2.0, 0.5, 1e-5]))
        == np.array([32767, -32768, 16384, 0], "<i2").tobytes()
    )
    x = tone()
    assert np.abs(audio.to_float(audio.to_pcm16(x)) - x).max() <= 0.5 / 32768 + 1e-9
    assert audio.to_float(audio.to_pcm16(x)).dtype == np.float32
    with pytest.raises(ValueError, match="odd-length"):
        audio.to_float(b"\x00")


@pytest.mark.parametrize(("src", "dst"), [(24000, 16000), (8000, 24000), (22050, 24000)])
def test_resample_length_and_dtype(src, dst):
    y = audio.resample(tone(440.0, 1.0, src), src, dst)
    assert y.dtype == np.float32 and len(y) == dst
    assert abs(np.argmax(np.abs(np.fft.rfft(y))) - 440) <= 1


def test_resample_same_rate_is_noop():
    x = tone()
    assert np.array_equal(audio.resample(x, 24000, 24000), x)
    assert audio.resample(np.zeros(0), 24000, 16000).size == 0


def test_wav_roundtrip(tmp_path):
    x = tone(seconds=0.25, rate=16000)
    audio.write_wav(tmp_path / "f.wav", x, 16000)
    y, rate = audio.read_wav(tmp_path / "f.wav")
    assert rate == 16000 and y.dtype == np.float32
    assert np.abs(y - x).max() <= 1 / 32768
    pcm = audio.to_pcm16(x)
    audio.write_wav(str(tmp_path / "b.wav"), pcm)
    y, rate = audio.read_wav(str(tmp_path / "b.wav"))
    assert rate == 24000 and audio.to_pcm16(y) == pcm


def test_read_wav_mixes_stereo_and_reads_8bit(tmp_path):
    left = np.full(100, 8000, np.int16)
    right = np.full(100, -4000, np.int16)
    with wave.open(str(tmp_path / "s.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(np.stack([left, right], 1).tobytes())
    y, rate = audio.read_wav(tmp_path / "s.wav")
    assert rate == 8000 and y.shape == (100,) and np.allclose(y, 2000 / 32768)
    with wave.open(str(tmp_path / "u8.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(bytes([128, 192, 64]))
    y, _ = audio.read_wav(tmp_path / "u8.wav")
    assert y.tolist() == [0.0, 0.5, -0.5]


def test_read_wav_rejects_non_wav(tmp_path):
    (tmp_path / "x.wav").write_bytes(b"not a wav file at all")
    with pytest.raises(ValueError, match="unsupported WAV"):
        audio.read_wav(tmp_path / "x.wav")


# --- load_audio -----------------------------------------------------------------------------


def test_load_audio_inputs(tmp_path):
    x = tone()
    assert np.array_equal(audio.load_audio(x), x)
    assert len(audio.load_audio(x, rate=16000)) == 24000  # arrays are assumed at `rate`
    assert len(audio.load_audio((x, 24000), rate=16000)) == 16000
    assert len(audio.load_audio((tone(rate=8000), 8000))) == 24000
    stereo = np.stack([x, x], 1)
    assert np.allclose(audio.load_audio(stereo), x)
    ints = (x * 32768).astype(np.int16)
    assert np.allclose(audio.load_audio(ints), x, atol=1 / 32768)
    pcm = audio.to_pcm16(x)
    assert np.array_equal(audio.load_audio(pcm), audio.to_float(pcm))
    assert len(audio.load_audio(bytearray(pcm), rate=16000)) == 16000
    audio.write_wav(tmp_path / "a.wav", tone(rate=16000), 16000)
    for src in (tmp_path / "a.wav", str(tmp_path / "a.wav")):
        y = audio.load_audio(src)
        assert y.dtype == np.float32 and len(y) == 24000


@pytest.mark.parametrize(
    ("source", "error", "match"),
    [
        (None, TypeError, "cannot load audio from NoneType"),
        ([0.0, 0.1], TypeError, "cannot load audio from list"),
        (np.zeros(10, np.int32), TypeError, "unsupported audio dtype"),
        (np.zeros((2, 2, 2)), ValueError, "expected 1-D audio"),
        (b"\x00\x01\x02", ValueError, "odd-length"),
        ((np.zeros(10),), TypeError, "tuple audio"),
        ((np.zeros(10), 0), ValueError, "invalid sample rate"),
        ("/nonexistent/file.wav", ValueError, "no such audio file"),
    ],
)
def test_load_audio_errors(source, error, match):
    with pytest.raises(error, match=match):
        audio.load_audio(source)
