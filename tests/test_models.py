"""rtnb's OpenAI model defaults are current: known to the installed SDK, never deprecated."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import openai
import pytest
from openai.types.realtime import AudioTranscription, RealtimeSessionCreateRequest
from openai.types.shared import ResponsesModel

from rtnb import models
from rtnb.session.backend import resolve_backend

TYPES = Path(openai.__file__).parent / "types"
#: The modules whose docstrings list deprecated model names for rtnb's roles.
SOURCES = [*sorted((TYPES / "realtime").glob("*.py")), TYPES / "shared" / "chat_model.py",
           TYPES / "shared" / "responses_model.py"]


def deprecated_names() -> set[str]:
    """Every quoted name in a "Deprecated values:" paragraph of the SDK's type sources."""
    names: set[str] = set()
    for path in SOURCES:
        text = path.read_text()
        for block in re.findall(r'Deprecated values:(.*?)"""', text, re.S):
            names.update(re.findall(r'"([^"\s]+)"', block))
    return names


def literals(annotation: object) -> set[str]:
    """The string literals anywhere inside a type annotation."""
    if typing.get_origin(annotation) is typing.Literal:
        return {a for a in typing.get_args(annotation) if isinstance(a, str)}
    return set().union(*(literals(a) for a in typing.get_args(annotation)))


KNOWN = {
    "realtime": literals(RealtimeSessionCreateRequest.model_fields["model"].annotation),
    "transcription": literals(AudioTranscription.model_fields["model"].annotation),
    "text": literals(ResponsesModel),
    "reasoning": literals(ResponsesModel),
    "judge": literals(ResponsesModel),
}


def test_the_sdk_lists_deprecations_where_we_read_them():
    deprecated = deprecated_names()
    # The parse is live: the SDK's known retirements are found (gpt-realtime, whisper-1).
    assert {"gpt-realtime", "whisper-1", "gpt-4.1", "o4-mini"} <= deprecated
    assert all(KNOWN.values())


@pytest.mark.parametrize("role", sorted(models.DEFAULTS))
def test_default_is_a_current_model_of_the_sdk(role):
    name = models.DEFAULTS[role]
    assert name in KNOWN[role], f"{role} default {name!r} is not a model the SDK knows"
    assert name not in deprecated_names(), f"{role} default {name!r} is deprecated"


def test_every_role_has_its_environment_variable(monkeypatch):
    for role, var in models.ENV.items():
        monkeypatch.delenv(var, raising=False)
        assert models.openai_model(role) == models.DEFAULTS[role]
        monkeypatch.setenv(var, f"my-{role}")
        assert models.openai_model(role) == f"my-{role}"
    with pytest.raises(KeyError):
        models.openai_model("vision")


def test_openai_backend_takes_the_defaults_and_the_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    for var in models.ENV.values():
        monkeypatch.delenv(var, raising=False)
    backend = resolve_backend("openai")
    assert (backend.model, backend.text_model, backend.reasoning_model) == (
        models.DEFAULTS["realtime"], models.DEFAULTS["text"], models.DEFAULTS["reasoning"])
    monkeypatch.setenv("RTNB_REALTIME_MODEL", "gpt-realtime-2")
    monkeypatch.setenv("RTNB_TEXT_MODEL", "gpt-5.4")
    backend = resolve_backend("openai")
    assert (backend.model, backend.text_model) == ("gpt-realtime-2", "gpt-5.4")
    assert resolve_backend("openai", model="gpt-realtime-2.1-mini").model == \
        "gpt-realtime-2.1-mini"


def test_session_transcribes_with_the_current_model_on_openai(monkeypatch):
    import rtnb

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.delenv("RTNB_TRANSCRIPTION_MODEL", raising=False)
    session = rtnb.Session(rtnb.Agent("a", "Be brief."), backend="openai")
    assert session.transcription_model == models.DEFAULTS["transcription"]
    session.transcription_model = "gpt-realtime-whisper"
    config = rtnb.session.config.realtime_config(session.agent, session.state.settings)
    assert config["audio"]["input"]["transcription"] == {"model": "gpt-realtime-whisper"}


def test_no_source_names_a_deprecated_model_outside_rtnb_models():
    deprecated = deprecated_names()
    root = Path(models.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for name in re.findall(r'"([\w.-]+)"', path.read_text()):
            if name in deprecated:
                offenders.append(f"{path.relative_to(root)}: {name}")
    assert not offenders


def test_a_transcriber_on_openai_asks_for_the_current_transcription_model(monkeypatch):
    import rtnb

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.delenv("RTNB_TRANSCRIPTION_MODEL", raising=False)
    t = rtnb.Transcriber(backend="openai", language="en", turn_detection="semantic_vad")
    config = t.session_config()
    assert config["audio"]["input"]["transcription"] == {
        "model": models.DEFAULTS["transcription"], "language": "en"}
    assert config["audio"]["input"]["turn_detection"] == {"type": "semantic_vad"}
    assert "include" not in config and "sk-test" not in repr(t)
