"""The simulated caller's audio: background noise at the asked SNR, repeatable."""

from __future__ import annotations

import numpy as np
import pytest

from rtnb.evals.caller import with_noise


def tone(seconds: float = 1.0) -> bytes:
    t = np.arange(int(24000 * seconds)) / 24000
    return (8000 * np.sin(2 * np.pi * 220 * t)).astype("<i2").tobytes()


@pytest.mark.parametrize("snr_db", [0, 10, 20, 30])
def test_noise_at_the_asked_snr(snr_db):
    clean = tone()
    noisy = with_noise(clean, snr_db, seed=1)
    x = np.frombuffer(clean, "<i2").astype(float)
    noise = np.frombuffer(noisy, "<i2").astype(float) - x
    measured = 10 * np.log10(np.mean(x ** 2) / np.mean(noise ** 2))
    assert measured == pytest.approx(snr_db, abs=0.3)
    assert len(noisy) == len(clean)


def test_noise_is_seeded():
    clean = tone(0.2)
    assert with_noise(clean, 20, seed=3) == with_noise(clean, 20, seed=3)
    assert with_noise(clean, 20, seed=3) != with_noise(clean, 20, seed=4)
