"""The notebook layer with the browser faked: widget messages are injected by hand.

JupyterLab delivers widget messages on another thread, so the tests do too.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import threading
from pathlib import Path

import numpy as np
import pytest

import rtnb
from rtnb import Agent, tool

pytest.importorskip("anywidget")
from rtnb.notebook.clips import decode_clip  # noqa: E402
from rtnb.notebook.live_audio import LiveAudio, bridge  # noqa: E402
from rtnb.notebook.panel import SessionPanel  # noqa: E402


class Sent(list):
    """Captures what Python sends to the (absent) browser."""

    def __call__(self, content, buffers=None):
        self.append((content, buffers))


@pytest.fixture
def widget():
    w = LiveAudio()
    w.send = Sent()
    return w


def frames_of(pcm: bytes, ms: int = 20):
    step = ms * 48
    return [pcm[i:i + step] for i in range(0, len(pcm), step)]


def from_browser(widget, frames):
    """Deliver mic frames the way JupyterLab does: on a thread of its own."""
    def run():
        for f in frames:
            widget._on_msg(widget, {"type": "audio", "level": 0.1}, [memoryview(f)])

    t = threading.Thread(target=run)
    t.start()
    t.join()


async def test_frames_cross_threads_in_order(widget):
    got = []

    async def append(frame):
        got.append(frame)

    task = bridge(widget, asyncio.get_running_loop(), append)
    frames = [bytes([i]) * 960 for i in range(50)]
    from_browser(widget, frames)
    for _ in range(100):
        if len(got) == 50:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    assert got == frames and widget.frames == 50


def test_player_protocol(widget):
    widget.feed("item_1", b"\x00" * 48_000)  # 1 s
    content, buffers = widget.send[-1]
    assert content["type"] == "play" and content["item_id"] == "item_1"
    assert len(buffers[0]) == 48_000
    item, ms = widget.position()  # no browser report yet: real-time playback assumed
    assert item == "item_1" and 0 <= ms < 100
    widget._on_msg(widget, {"type": "played", "item_id": "item_1", "ms": 400.0}, [])
    item, ms = widget.position()
    assert item == "item_1" and 400.0 <= ms < 450.0
    assert 0.5 < widget.remaining() <= 1.0
    where = widget.flush()
    assert widget.send[-1][0] == {"type": "flush"}
    assert where[0] == "item_1" and where[1] >= 400.0
    assert widget.remaining() == 0.0


def test_delays_are_reported(widget):
    import time

    widget._on_msg(widget, {"type": "audio", "t": time.time() * 1000 - 5}, [b"\x00" * 960])
    widget._on_msg(widget, {"type": "delay", "ms": 12.0}, [])
    d = widget.delays()
    assert 4 <= d["browser_to_kernel_ms"] < 100 and d["kernel_to_browser_ms"] == 12.0


def test_decode_webm_opus_clip():
    import av

    t = np.arange(24000) / 24000
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    buf = io.BytesIO()
    with av.open(buf, "w", format="webm") as out:
        stream = out.add_stream("libopus", rate=48000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(tone.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = 24000
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
        for f in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(f):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    samples = decode_clip(buf.getvalue())
    assert abs(len(samples) - 24000) < 2400  # about 1 s at 24 kHz
    assert np.abs(samples).max() > 0.1
    with pytest.raises(ValueError, match="empty"):
        decode_clip(b"")


# -- the panel on a scripted connection (the server's events written out by hand) ---------


class ScriptedServer:
    """A transport whose server events the test pushes; records what the client sent."""

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.inbox: asyncio.Queue = asyncio.Queue()

    async def connect(self) -> None:
        pass

    async def send(self, event: dict) -> None:
        self.sent.append(event)

    async def recv(self) -> dict:
        return await self.inbox.get()

    async def close(self) -> None:
        pass

    async def push(self, *events: dict) -> None:
        for i, event in enumerate(events):
            self.inbox.put_nowait({"event_id": f"evt_{i}", **event})
        for _ in range(20):
            await asyncio.sleep(0)


class Clock:
    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def scripted():
    server, clock = ScriptedServer(), Clock()
    session = rtnb.Session(Agent("Assistant", "Be brief."), backend="ws://127.0.0.1:9/v1",
                           transport=server, clock=clock)
    panel = SessionPanel(session)
    panel.audio.send = Sent()
    for view in (panel.transcript_view, panel.log_view):
        view.send = Sent()
    yield panel, server, clock
    await session.close()


def pill(panel) -> str:
    import re

    panel._render()
    return re.search(r"data-phase='(\w+)'", panel.status.value).group(1)


async def test_panel_counts_from_connect_and_shows_a_failed_response(scripted):
    panel, server, clock = scripted
    assert pill(panel) == "disconnected" and not panel.connect_button.disabled
    clock.t = 34.0  # the notebook sat open for a while before Connect
    await panel.session.connect()
    assert pill(panel) == "listening"
    assert panel.connect_button.disabled and panel.connect_button.button_style == ""
    assert not panel.disconnect_button.disabled
    clock.t = 35.5
    await panel.session.say("It costs $379, down from $449. Why?")
    assert pill(panel) == "thinking"
    clock.t = 36.0
    await server.push({"type": "response.created", "response": {"id": "r1"}},
                      {"type": "response.done", "response": {
                          "id": "r1", "status": "failed", "output": [], "status_details": {
                              "type": "failed", "error": {
                                  "type": "server_error", "code": "server_error",
                                  "message": "the brain at http://127.0.0.1:9/v1 is "
                                             "unreachable"}}}})
    assert pill(panel) == "failed"
    assert "127.0.0.1:9/v1 is unreachable" in panel.status.value
    crumb, user, failure = panel.transcript_view.rows
    assert (crumb.cls, user.cls, failure.cls) == ("crumb", "user", "err")
    assert "0.0s" in crumb.summary  # from the connect, not from the session's start
    assert "1.5s" in user.summary and "$379, down from $449" in user.summary
    assert "2.0s" in failure.summary
    assert "response failed: the brain at http://127.0.0.1:9/v1 is unreachable" in (
        failure.summary)
    failed = [r for r in panel.log_view.rows if "response.done" in r.summary]
    assert failed[0].cls == "err" and "unreachable" in failed[0].summary
    # The transcript went to the browser as rows; the hidden log waits for its tab.
    assert panel.transcript_view.send and not panel.log_view.send
    panel.views.selected_index = 1
    await asyncio.sleep(0.05)
    assert panel.log_view.send
    await panel.session.close()
    assert pill(panel) == "disconnected" and not panel.connect_button.disabled
    assert panel.connect_button.button_style == "success"


async def test_state_line_follows_a_spoken_turn(scripted):
    panel, server, clock = scripted
    await panel.session.connect()
    await server.push({"type": "input_audio_buffer.speech_started", "audio_start_ms": 0,
                       "item_id": "u1"})
    assert pill(panel) == "user_speaking"
    await server.push({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 900,
                       "item_id": "u1"},
                      {"type": "input_audio_buffer.committed", "item_id": "u1"},
                      {"type": "response.created", "response": {"id": "r1"}})
    assert pill(panel) == "thinking"
    await server.push({"type": "response.output_audio.delta", "response_id": "r1",
                       "item_id": "a1", "delta": base64.b64encode(b"\0" * 48_000).decode()},
                      {"type": "response.done", "response": {"id": "r1",
                                                             "status": "completed"}})
    assert panel.audio.remaining() > 0.5
    assert pill(panel) == "agent_speaking"  # done, but the speaker still plays 1 s
    panel.audio.flush()
    assert pill(panel) == "listening"
    assert "last turn:" in panel.status.value and "1 turn" in panel.status.value


async def test_hold_to_talk_commits_on_release(scripted):
    panel, server, _clock = scripted
    await panel.session.connect()
    panel.ptt.value = True
    await asyncio.sleep(0.05)
    assert not panel.talk_button.disabled
    sent = len(server.sent)
    # The browser sets `pressed` while the button is held (on the widget thread).
    threading.Thread(target=setattr, args=(panel.talk_button, "pressed", True)).start()
    await asyncio.sleep(0.1)
    assert pill(panel) == "user_speaking"
    assert "mic is off" in panel.status.value  # held, but the browser's mic is not on
    threading.Thread(target=setattr, args=(panel.talk_button, "pressed", False)).start()
    await asyncio.sleep(0.1)
    kinds = [e["type"] for e in server.sent[sent:]]
    assert kinds == ["input_audio_buffer.clear", "input_audio_buffer.commit", "response.create"]
    assert pill(panel) == "thinking"


async def test_panel_html_is_kept_from_math_typesetting():
    session = rtnb.Session(Agent("Assistant", "Be brief."), backend="ws://127.0.0.1:9/v1")
    panel = SessionPanel(session)
    assert {"rtnb-panel", "tex2jax_ignore", "mathjax_ignore"} <= set(panel._dom_classes)
    assert "tex2jax_ignore mathjax_ignore" in panel.status.value
    js = (Path(rtnb.notebook.__file__).parent / "row_list.js").read_text()
    assert "tex2jax_ignore mathjax_ignore" in js
    panel._pump.cancel()


# -- the panel on the real engine -------------------------------------------------------------


@tool
def get_weather(city: str) -> dict:
    """Get the current weather for a city."""
    return {"city": city, "temperature_c": 18, "conditions": "sunny"}


@pytest.mark.slow
async def test_panel_drives_a_session(engine, speech):
    agent = Agent("Assistant", "Use tools for weather.", tools=[get_weather])
    session = rtnb.Session(agent, backend=engine)
    panel = SessionPanel(session)
    panel.audio.send = Sent()
    assert session.player is panel.audio
    # Buttons fire on the widget thread in JupyterLab.
    threading.Thread(target=panel.connect_button.click).start()
    for _ in range(200):
        if session.connected:
            break
        await asyncio.sleep(0.02)
    assert session.connected
    pcm = speech.with_silence(speech.utterance("What's the weather in Paris?"), 300, 900)
    from_browser(panel.audio, frames_of(pcm))
    for _ in range(300):  # a live mic turn exists once the server commits it
        if len(session.turns):
            break
        await asyncio.sleep(0.02)
    await session.wait(30)
    panel._render()
    html = panel.transcript_view.value
    assert "Paris" in html and "sunny" in html and "get_weather" in html
    # The mic's frames are one counted row for the turn, not one row each.
    appends = [r for r in panel.log_view.rows if r.key.startswith("input_audio_buffer.append")]
    assert len(appends) == 1 and f"×{len(frames_of(pcm))}" in appends[0].summary
    plays = [c for c, _ in panel.audio.send if c["type"] == "play"]
    assert plays, "the reply's audio went to the speaker widget"
    assert "Assistant" in panel.status.value
    assert f"data-frames='{len(frames_of(pcm))}'" in panel.status.value
    assert "data-metric='e2e'" in panel.status.value  # the reply's latency, coloured
    # Codec selector: G.711 both ways.
    panel.codec.value = "audio/pcmu"
    await asyncio.sleep(0.3)
    updated = [e for e in session.log if e.type == "session.updated"][-1]
    assert updated.event["session"]["audio"]["output"]["format"]["type"] == "audio/pcmu"
    # Typed text.
    panel.text.value = "What's the weather in Rome?"
    panel._send_text()
    await asyncio.sleep(0.1)
    reply = await session.wait(30)
    assert "Rome" in reply
    # Muting the speaker does not mute the mic.
    panel.playback.value = False
    assert panel.audio.playback is False
    before = panel.audio.frames
    from_browser(panel.audio, frames_of(b"\x00" * 4800))
    assert panel.audio.frames == before + 5
    await session.close()


class DeadBrain:
    """A brain whose endpoint is down."""

    name = "dead"

    async def respond(self, request):
        raise ConnectionError("the brain at http://127.0.0.1:9/v1 is unreachable")


@pytest.mark.slow
async def test_panel_shows_the_engines_failed_response_in_red(engine):
    from rtnb.engine.background import start_engine

    with start_engine(port=0, brain=DeadBrain()) as dead:
        session = rtnb.Session(Agent("Assistant", "Be brief."), backend=dead)
        panel = SessionPanel(session)
        panel.audio.send = Sent()
        async with session:
            await session.say("hello")
            with contextlib.suppress(Exception):  # wait() may raise for the failure
                await session.wait(30)
            panel._render()
    failures = [r for r in panel.transcript_view.rows if r.cls == "err"]
    assert len(failures) == 1 and "127.0.0.1:9/v1 is unreachable" in failures[0].summary
    assert "rtnb-state-failed" in panel.status.value
    assert "unreachable" in panel.status.value
