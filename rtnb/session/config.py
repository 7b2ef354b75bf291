"""A session's settings, and the wire ``session`` object they become.

"Session" means three things in rtnb; this module names them apart:

- :class:`Settings`: how an ``rtnb.Session`` runs (turn detection, transcription,
  codec, how often guardrails run). Plain data, held by the session's state machine.
- :func:`realtime_config`: the ``session`` object of a ``session.update`` client
  event (the Realtime API's per-connection configuration), built from an agent and
  the settings.
- The engine's own per-connection state lives in :mod:`rtnb.engine` and is not
  touched here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..agents import Agent

from ..models import LOCAL_TRANSCRIPTION as LOCAL_TRANSCRIPTION_MODEL


@dataclass(frozen=True)
class Settings:
    """How a session runs. ``turn_detection``: ``"server_vad"``, ``"semantic_vad"``,
    a full wire dict, or None for push-to-talk."""

    turn_detection: str | dict[str, Any] | None = "server_vad"
    transcription: bool = True
    transcription_model: str = LOCAL_TRANSCRIPTION_MODEL
    codec: str = "audio/pcm"
    #: Output guardrails run each time a response's text crosses a multiple of this.
    guardrail_chars: int = 100

    @property
    def server_responds(self) -> bool:
        """Does the server answer a detected turn by itself (server VAD ``create_response``)?"""
        td = self.turn_detection
        return td is not None and not (isinstance(td, dict)
                                       and td.get("create_response") is False)


def turn_detection_config(turn_detection: str | dict[str, Any] | None) -> dict[str, Any] | None:
    """The wire ``turn_detection`` object for a setting (``"server_vad"`` → ``{"type": ...}``)."""
    if isinstance(turn_detection, str):
        return {"type": turn_detection}
    return turn_detection


def realtime_config(agent: Agent, settings: Settings) -> dict[str, Any]:
    """The wire ``session`` object that configures ``agent`` (for ``session.update``)."""
    audio_in: dict[str, Any] = {"turn_detection": turn_detection_config(settings.turn_detection),
                                "format": {"type": settings.codec}}
    if settings.transcription:
        audio_in["transcription"] = {"model": settings.transcription_model}
    audio_out: dict[str, Any] = {"format": {"type": settings.codec}}
    if agent.voice:
        audio_out["voice"] = agent.voice
    return {"type": "realtime", "instructions": agent.instructions,
            "tools": agent.wire_tools(), "tool_choice": "auto",
            "audio": {"input": audio_in, "output": audio_out}}


def codec_config(codec: str) -> dict[str, Any]:
    """The wire ``session`` object that switches both audio directions to ``codec``."""
    return {"type": "realtime", "audio": {"input": {"format": {"type": codec}},
                                          "output": {"format": {"type": codec}}}}
