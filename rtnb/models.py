"""Every OpenAI model name rtnb uses, defined once.

Each role has a current default (none is listed under "Deprecated values" in the
installed ``openai`` SDK's types; ``tests/test_models.py`` checks that), which an
environment variable overrides:

- ``realtime``: ``gpt-realtime-2.1`` (``RTNB_REALTIME_MODEL``), for ``Session(backend="openai")``;
- ``transcription``: ``gpt-live-transcribe`` (``RTNB_TRANSCRIPTION_MODEL``), the user's audio on OpenAI;
- ``text``: ``gpt-5.5`` (``RTNB_TEXT_MODEL``), :func:`rtnb.supervisor.supervisor_tool`'s model;
- ``reasoning``: ``gpt-5.5`` (``RTNB_REASONING_MODEL``), the scenarios' deliberate checks;
- ``judge``: ``gpt-5.4-mini`` (``RTNB_JUDGE_MODEL``), grading conversations (evals).

Per session, ``Session(model=...)`` picks the realtime model and a
:class:`~rtnb.session.backend.Backend` carries the text and reasoning models;
``supervisor_tool(model=...)`` picks the supervisor's. The local engine answers to
any name (it reports the model the client asked for); offline, rtnb names its own
parts :data:`LOCAL` and :data:`LOCAL_TRANSCRIPTION`.

This module imports nothing of rtnb, so every layer (the engine included) may use it.
"""

from __future__ import annotations

import os

#: Current OpenAI defaults, per role.
DEFAULTS: dict[str, str] = {
    "realtime": "gpt-realtime-2.1",
    "transcription": "gpt-live-transcribe",
    "text": "gpt-5.5",
    "reasoning": "gpt-5.5",
    "judge": "gpt-5.4-mini",
}

#: The environment variable that overrides each role's default.
ENV: dict[str, str] = {role: f"RTNB_{role.upper()}_MODEL" for role in DEFAULTS}

#: What the local engine's realtime and text models are called.
LOCAL = "rtnb-local"
#: The local engine's transcription model (Whisper tiny.en through faster-whisper).
LOCAL_TRANSCRIPTION = "whisper-tiny.en"


def openai_model(role: str) -> str:
    """The OpenAI model for ``role`` (see :data:`DEFAULTS`): the environment's, else the default."""
    if role not in DEFAULTS:
        raise KeyError(f"unknown model role {role!r}; roles: {', '.join(DEFAULTS)}")
    return os.environ.get(ENV[role]) or DEFAULTS[role]
