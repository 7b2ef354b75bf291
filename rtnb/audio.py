"""Wire audio helpers: PCM16 at 24 kHz, G.711 µ-law/A-law at 8 kHz, WAV files, resampling.

The realtime wire formats are ``audio/pcm`` (24 kHz mono PCM16 little-endian) and
``audio/pcmu`` / ``audio/pcma`` (G.711 µ-law / A-law at 8 kHz, one byte per sample).
"""

from __future__ import annotations

import wave
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

RATE = 24000
FORMATS = ("audio/pcm", "audio/pcmu", "audio/pcma")
G711_RATE = 8000

_INT16 = np.dtype("<i2")


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown audio format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return fmt


def to_float(pcm: bytes) -> np.ndarray:
    """PCM16 little-endian bytes -> float32 samples in [-1, 1]."""
    if len(pcm) % 2:
        raise ValueError("odd-length PCM16 audio")
    return np.frombuffer(pcm, dtype=_INT16).astype(np.float32) / 32768.0


def _to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(x, dtype=np.float32) * 32768.0), -32768, 32767).astype(_INT16)


def to_pcm16(x: np.ndarray) -> bytes:
    """Float samples in [-1, 1] -> PCM16 little-endian bytes (clipped and rounded)."""
    return _to_int16(x).tobytes()


def resample(x: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Resample a mono float signal with soxr (HQ); returns float32."""
    x = np.asarray(x, dtype=np.float32)
    if src_rate == dst_rate or x.size == 0:
        return x
    import soxr

    return soxr.resample(x, src_rate, dst_rate).astype(np.float32, copy=False)


def bytes_per_ms(fmt: str) -> int:
    """Bytes per millisecond of audio in a wire format (48 for PCM16, 8 for G.711)."""
    return 48 if _check_format(fmt) == "audio/pcm" else 8


def duration_ms(n_bytes: int, fmt: str = "audio/pcm") -> float:
    """Duration in milliseconds of ``n_bytes`` of audio in wire format ``fmt``."""
    return n_bytes / bytes_per_ms(fmt)


# --- G.711 (ITU-T), vectorised through lookup tables --------------------------------------------


def _bit_length(v: np.ndarray) -> np.ndarray:
    """Number of significant bits of non-negative integers (0 -> 0)."""
    out = np.zeros(v.shape, dtype=np.int32)
    v = v.astype(np.int32)
    for shift in (8, 4, 2, 1):
        big = v >= (1 << shift)
        out += np.where(big, shift, 0)
        v = np.where(big, v >> shift, v)
    return out + (v > 0)


@cache
def _tables() -> dict[str, np.ndarray]:
    """Encode tables (indexed by the uint16 view of a sample) and 256-entry decode tables."""
    x = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.int16).astype(np.int32)
    # µ-law: 14-bit biased magnitude, 3-bit segment, 4-bit mantissa, bits inverted.
    v = x >> 2
    mag = np.minimum(np.abs(v), 8158) + 33  # 8159 saturates to the top code
    exp = _bit_length(mag) - 6
    mant = (mag >> (exp + 1)) & 0x0F
    ulaw = ((exp << 4) | mant) ^ np.where(v < 0, 0x7F, 0xFF)
    # A-law: 12-bit magnitude (ones' complement for negatives), even bits toggled.
    mag = np.where(x >= 0, x, ~x) >> 3
    seg = np.maximum(_bit_length(mag) - 5, 0)
    mant = (mag >> np.maximum(seg, 1)) & 0x0F
    alaw = ((seg << 4) | mant) ^ np.where(x >= 0, 0xD5, 0x55)
    b = np.arange(256, dtype=np.int32)
    u = ~b & 0xFF
    e = (u >> 4) & 7
    uval = ((((u & 0x0F) << 3) + 0x84) << e) - 0x84
    a = b ^ 0x55
    seg = (a >> 4) & 7
    aval = ((a & 0x0F) << 4) + np.where(seg == 0, 8, 0x108)
    aval = np.where(seg > 1, aval << np.maximum(seg - 1, 0), aval)
    return {
        "enc_u": ulaw.astype(np.uint8),
        "enc_a": alaw.astype(np.uint8),
        "dec_u": np.where(u & 0x80, -uval, uval).astype(_INT16),
        "dec_a": np.where(a & 0x80, aval, -aval).astype(_INT16),
    }


def _as_int16(x: np.ndarray | bytes) -> np.ndarray:
    if isinstance(x, (bytes, bytearray, memoryview)):
        if len(x) % 2:
            raise ValueError("odd-length PCM16 audio")
        return np.frombuffer(x, dtype=_INT16)
    return np.asarray(x, dtype=np.int16)


def ulaw_encode(x: np.ndarray | bytes) -> bytes:
    """PCM16 samples (int16 array or bytes) -> G.711 µ-law bytes."""
    return _tables()["enc_u"][_as_int16(x).view(np.uint16)].tobytes()


def alaw_encode(x: np.ndarray | bytes) -> bytes:
    """PCM16 samples (int16 array or bytes) -> G.711 A-law bytes."""
    return _tables()["enc_a"][_as_int16(x).view(np.uint16)].tobytes()


def ulaw_decode(data: bytes) -> np.ndarray:
    """G.711 µ-law bytes -> int16 samples."""
    return _tables()["dec_u"][np.frombuffer(data, dtype=np.uint8)]


def alaw_decode(data: bytes) -> np.ndarray:
    """G.711 A-law bytes -> int16 samples."""
    return _tables()["dec_a"][np.frombuffer(data, dtype=np.uint8)]


# --- streaming conversion between the wire and 24 kHz PCM16 -----------------------------------


class _Stream:
    def __init__(self, fmt: str, src: int, dst: int) -> None:
        self.fmt = _check_format(fmt)
        self._rs: Any = None
        if fmt != "audio/pcm":
            import soxr

            # float32 rather than int16 I/O: soxr dithers int16 output, which would make the
            # result depend on how the stream is chunked.
            self._rs = soxr.ResampleStream(src, dst, 1, dtype="float32", quality="HQ")

    def _run(self, x: np.ndarray) -> np.ndarray:
        return _to_int16(self._rs.resample_chunk(x.astype(np.float32) / 32768.0))

    def _flush(self) -> np.ndarray:
        if self._rs is None:
            return np.zeros(0, _INT16)
        out = _to_int16(self._rs.resample_chunk(np.zeros(0, np.float32), last=True))
        self._rs.clear()
        return out


class StreamDecoder(_Stream):
    """Decode wire audio chunks to 24 kHz PCM16 bytes, keeping resampler state across calls."""

    def __init__(self, fmt: str) -> None:
        super().__init__(fmt, G711_RATE, RATE)
        self._table = None if self._rs is None else _tables()["dec_u" if "pcmu" in fmt else "dec_a"]

    def decode(self, data: bytes) -> bytes:
        if self._rs is None:
            if len(data) % 2:
                raise ValueError("odd-length PCM16 audio")
            return bytes(data)
        pcm8 = self._table[np.frombuffer(data, dtype=np.uint8)]
        return self._run(pcm8).tobytes()

    def flush(self) -> bytes:
        """Return audio still held by the resampler and reset for a new stream."""
        return self._flush().tobytes()


class StreamEncoder(_Stream):
    """Encode 24 kHz PCM16 chunks to a wire format, keeping resampler state across calls."""

    def __init__(self, fmt: str) -> None:
        super().__init__(fmt, RATE, G711_RATE)
        self._encode = ulaw_encode if fmt == "audio/pcmu" else alaw_encode

    def encode(self, pcm24: bytes) -> bytes:
        x = _as_int16(pcm24)
        if self._rs is None:
            return bytes(pcm24)
        return self._encode(self._run(x))

    def flush(self) -> bytes:
        """Return audio still held by the resampler and reset for a new stream."""
        return b"" if self._rs is None else self._encode(self._flush())


def encode(pcm24: bytes, fmt: str) -> bytes:
    """One-shot 24 kHz PCM16 -> wire format."""
    enc = StreamEncoder(fmt)
    return enc.encode(pcm24) + enc.flush()


def decode(data: bytes, fmt: str) -> bytes:
    """One-shot wire format -> 24 kHz PCM16."""
    dec = StreamDecoder(fmt)
    return dec.decode(data) + dec.flush()


# --- files and generic input --------------------------------------------------------------------


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a PCM WAV file (8/16/32-bit) as float32 mono (channels averaged) and its rate."""
    try:
        with wave.open(str(path), "rb") as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except wave.Error as e:
        raise ValueError(f"{path}: unsupported WAV file ({e})") from e
    if width == 1:
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        x = np.frombuffer(raw, dtype=_INT16).astype(np.float32) / 32768.0
    elif width == 4:
        x = (np.frombuffer(raw, dtype="<i4") / 2147483648.0).astype(np.float32)
    else:
        raise ValueError(f"{path}: unsupported WAV sample width {8 * width} bits")
    if channels > 1:
        x = x.reshape(-1, channels).mean(axis=1, dtype=np.float32)
    return x, rate


def write_wav(path: str | Path, audio: np.ndarray | bytes, rate: int = RATE) -> None:
    """Write mono PCM16 WAV from a float array in [-1, 1] or PCM16 bytes."""
    if isinstance(audio, (bytes, bytearray, memoryview)):
        data = bytes(audio)
        if len(data) % 2:
            raise ValueError("odd-length PCM16 audio")
    else:
        data = to_pcm16(np.asarray(audio).reshape(-1))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data)


def _array_to_float(x: np.ndarray) -> np.ndarray:
    if x.dtype == np.int16:
        x = x.astype(np.float32) / 32768.0
    elif x.dtype.kind != "f":
        raise TypeError(f"unsupported audio dtype {x.dtype}; use float or int16 samples")
    if x.ndim == 2:
        x = x.mean(axis=1)
    elif x.ndim != 1:
        raise ValueError(f"expected 1-D audio or 2-D (samples, channels), got shape {x.shape}")
    return x.astype(np.float32, copy=False)


def load_audio(source: Any, rate: int = RATE) -> np.ndarray:
    """Load audio as float32 mono at ``rate``.

    ``source`` may be a float/int16 array (assumed at ``rate``), an ``(array, sample_rate)``
    tuple, PCM16 bytes at 24 kHz, or the path of a WAV file at any rate.
    """
    if isinstance(source, tuple):
        if len(source) != 2 or not isinstance(source[0], np.ndarray):
            raise TypeError("tuple audio must be (numpy array, sample_rate)")
        array, src = source
        if not isinstance(src, (int, np.integer)) or src <= 0:
            raise ValueError(f"invalid sample rate {src!r}")
        return resample(_array_to_float(array), int(src), rate)
    if isinstance(source, np.ndarray):
        return _array_to_float(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return resample(to_float(bytes(source)), RATE, rate)
    if isinstance(source, (str, Path)):
        if not Path(source).is_file():
            raise ValueError(f"no such audio file: {source}")
        x, src = read_wav(source)
        return resample(x, src, rate)
    raise TypeError(
        f"cannot load audio from {type(source).__name__}; "
        "expected numpy array, (array, rate), PCM16 bytes or WAV path"
    )
