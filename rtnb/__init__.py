"""rtnb: realtime voice agents in Jupyter, with an offline OpenAI-Realtime-compatible engine.

Everything is imported lazily so that ``import rtnb`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "start_engine": "rtnb.engine.background",
    "RunningEngine": "rtnb.engine.background",
    "Session": "rtnb.session",
    "SessionError": "rtnb.session",
    "CredentialRefused": "rtnb.session",
    "ScriptedTransport": "rtnb.session",
    "SyncSession": "rtnb.session",
    "Recording": "rtnb.session",
    "Transcriber": "rtnb.transcriber",
    "Transcript": "rtnb.transcriber",
    "load": "rtnb.session",
    "Agent": "rtnb.agents",
    "tool": "rtnb.agents",
    "ToolContext": "rtnb.agents",
    "FunctionTool": "rtnb.agents",
    "supervisor_tool": "rtnb.supervisor",
    "MCPServer": "rtnb.mcp",
    "output_guardrail": "rtnb.guardrails",
    "moderation_guardrail": "rtnb.guardrails",
    "GuardrailResult": "rtnb.guardrails",
    "OutputGuardrail": "rtnb.guardrails",
    "ToolOutputGuardrail": "rtnb.guardrails",
    "tool_output_guardrail": "rtnb.guardrails",
    "scenarios": "rtnb.scenarios",
    "evals": "rtnb.evals",
    "plot_latency": "rtnb.plots",
    "plot_latency_summary": "rtnb.plots",
    "plot_vad": "rtnb.plots",
    "vad_explorer": "rtnb.explorer",
    "speak": "rtnb.speech_samples",
    "SAMPLE_WAV": "rtnb.speech_samples",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rtnb' has no attribute {name!r}")
    mod = importlib.import_module(module)
    value = mod if module == f"rtnb.{name}" else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
