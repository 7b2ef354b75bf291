"""The notebook layer with the browser faked: widget messages are injected by hand.

JupyterLab delivers widget messages on another thread, so the tests do too.
"""

from __future__ import annotations

import asyncio
import io
import threading

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
    assert panel.log_view.value == ""  # the log renders only while its tab is open
    panel.views.selected_index = 1
    panel._render()
    html = panel.transcript_view.value
    assert "Paris" in html and "sunny" in html and "get_weather" in html
    assert "▲ input_audio_buffer.append" in panel.log_view.value
    plays = [c for c, _ in panel.audio.send if c["type"] == "play"]
    assert plays, "the reply's audio went to the speaker widget"
    assert "Assistant" in panel.status.value and "mic frames" in panel.status.value
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
