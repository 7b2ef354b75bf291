"""Secrets never leak (issue "hardening").

With a recognisable fake ``OPENAI_API_KEY`` and an engine token set, a session runs
against a token-protected local engine (and an OpenAI backend is built, never
connected). Then every place a key could surface is scanned: reprs and strs, the event
log, a saved recording (every byte of every file), everything logged at DEBUG by any
logger (``rtnb``, ``openai``, and the libraries under them: websockets, httpx), and the
notebook widgets' state.
"""

from __future__ import annotations

import base64
import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest

import rtnb
from rtnb import Agent, moderation_guardrail, tool
from rtnb.engine.background import start_engine
from rtnb.session.transport import Backend, SDKTransport

pytestmark = pytest.mark.slow

OPENAI_KEY = "sk-test-DO-NOT-LEAK-1234"
ENGINE_TOKEN = "rtnb-tok-DO-NOT-LEAK-5678"
#: Any of these in any output is a leak (the shared core catches truncated copies too).
NEEDLES = [OPENAI_KEY, ENGINE_TOKEN, "DO-NOT-LEAK",
           *(base64.b64encode(s.encode()).decode()[:16] for s in (OPENAI_KEY, ENGINE_TOKEN))]


def assert_clean(label: str, data: str | bytes) -> None:
    for needle in NEEDLES:
        probe: str | bytes = needle.encode() if isinstance(data, bytes) else needle
        assert probe not in data, f"{label} leaks {needle!r}"


@tool
def get_weather(city: str) -> dict:
    """Get the current weather for a city."""
    return {"city": city, "temperature_c": 18, "conditions": "sunny"}


def _agent() -> Agent:
    return Agent("Assistant", "You are helpful. Use tools.", tools=[get_weather],
                 output_guardrails=[moderation_guardrail()])


@pytest.fixture(scope="module")
def guarded(engine):
    """The shared engine's models behind a server that requires ENGINE_TOKEN."""
    with start_engine(port=0, engine=engine.server.engine, token=ENGINE_TOKEN) as running:
        yield running


@pytest.fixture
def debug_logs():
    """Everything logged at DEBUG, by every logger, while the test runs."""
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    names = ["", "rtnb", "rtnb.engine", "rtnb.session", "openai", "websockets",
             "websockets.client", "websockets.server", "httpx", "httpcore"]
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    try:
        yield buf
    finally:
        logging.getLogger().removeHandler(handler)
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


@pytest.fixture
def secrets_env(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("RTNB_TOKEN", ENGINE_TOKEN)


def _scan_session(label: str, s: Any, tmp_path: Path) -> None:
    for name, text in (("repr", repr(s)), ("str", str(s)), ("backend", repr(s.backend)),
                       ("backend str", str(s.backend)), ("transport", repr(s._transport)),
                       ("transcript", repr(s.transcript)),
                       ("transcript html", s.transcript._repr_html_()),
                       ("metrics", repr(s.metrics())),
                       ("metrics html", s.metrics()._repr_html_())):
        assert_clean(f"{label} {name}", text)
    for entry in s.log:
        assert_clean(f"{label} log entry {entry.type}", json.dumps(entry.to_json()))
    folder = s.save(tmp_path / label)
    files = list(folder.iterdir())
    assert {f.name for f in files} >= {"events.jsonl", "meta.json"}
    for f in files:
        assert_clean(f"{label} recording {f.name}", f.read_bytes())
    assert_clean(f"{label} loaded recording", repr(rtnb.load(folder)))


async def test_keys_never_leak(guarded, secrets_env, debug_logs, tmp_path):
    # OpenAI: resolved from the environment, transport and HTTP client built, not connected.
    remote = rtnb.Session(_agent())
    assert remote.backend.kind == "openai"
    remote_transport = SDKTransport(remote.backend)
    remote_http = remote.http
    # The local engine through a ws:// URL: the token comes from RTNB_TOKEN.
    s = rtnb.Session(_agent(), backend=guarded.url)
    assert s.backend.kind == "url"
    async with s:
        await s.say("What's the weather in Paris?")
        reply = await s.wait(30)
        assert "Paris" in reply
        models = await s.http.models.list()  # the HTTP API, with the same token
        assert models.data
        await s.say("Thanks, bye!")
        await s.wait(30)
    assert [e for e in s.log if e.type == "local.guardrail"], "the guardrail used HTTP"
    # A wrong credential is refused without being echoed.
    wrong = "sk-test-DO-NOT-LEAK-wrong"
    bad = rtnb.Session(_agent(), backend=Backend("url", guarded.url, guarded.http_url,
                                                 _key=wrong))
    with pytest.raises(Exception) as refused:
        await bad.connect()
    assert "401" in str(refused.value)
    assert_clean("refusal", str(refused.value) + repr(refused.value))

    for name, obj in (("remote transport", remote_transport), ("remote http", remote_http),
                      ("running engine", guarded), ("auth", guarded.server.engine.auth),
                      ("engine parts", guarded.server.engine), ("server", guarded.server)):
        assert_clean(f"{name} repr", repr(obj))
        assert_clean(f"{name} str", str(obj))
    _scan_session("local", s, tmp_path)
    _scan_session("openai", remote, tmp_path)
    _scan_session("refused", bad, tmp_path)
    logs = debug_logs.getvalue()
    assert "websockets.client" in logs and "websockets.server" in logs, "DEBUG was captured"
    assert "Authorization: [redacted]" in logs
    assert_clean("DEBUG logs", logs)


async def test_widget_state_holds_no_keys(guarded, secrets_env, debug_logs):
    try:
        import anywidget  # noqa: F401
        import ipywidgets

        from rtnb.notebook.panel import SessionPanel
    except ModuleNotFoundError as exc:
        pytest.skip(f"no notebook widgets to scan ({exc.name} is not importable)")

    sent: list[Any] = []
    s = rtnb.Session(_agent(), backend=guarded.url)
    panel = SessionPanel(s)
    panel.audio.send = lambda content, buffers=None: sent.append((content, buffers))
    async with s:
        await s.say("What's the weather in Oslo?")
        await s.wait(30)
        panel._render()
    widgets: list[Any] = []
    stack: list[Any] = [panel]
    while stack:
        w = stack.pop()
        if isinstance(w, ipywidgets.Widget) and not any(w is x for x in widgets):
            widgets.append(w)
            stack.extend(getattr(w, "children", ()))
            stack.extend(v for v in vars(w).values() if isinstance(v, ipywidgets.Widget))
    assert len(widgets) > 10
    for w in widgets:
        state = w.get_state()
        assert_clean(f"{type(w).__name__} state",
                     json.dumps(state, default=lambda v: bytes(v).hex()))
    assert sent, "the speaker widget was sent the reply's audio"
    for content, buffers in sent:
        assert_clean("widget message", json.dumps(content, default=str))
        for b in buffers or []:
            assert_clean("widget buffer", bytes(b))
    assert "Oslo" in panel.transcript_view.value
    assert_clean("DEBUG logs", debug_logs.getvalue())
