"""Shared fixtures: one real engine (real models, real sockets) per test session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def engine():
    """The local engine with its default offline speech parts, on a free loopback port."""
    from rtnb.engine.background import start_engine

    with start_engine(port=0) as running:
        yield running


@pytest.fixture(scope="session")
def speech():
    """Synthetic user speech (24 kHz PCM16), generated once and cached."""
    from tests import speechgen

    return speechgen


@pytest.fixture(scope="session")
def two_utterances():
    """Two utterances with a 400 ms pause between them, and the first one's length (ms)."""
    from tests import speechgen

    return speechgen.two_utterances()
