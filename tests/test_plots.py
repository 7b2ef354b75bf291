"""Latency and VAD plots, and the VAD explorer: synthetic logs on a virtual clock, real VAD."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pytest

import rtnb
from rtnb import audio
from rtnb.analysis import MetricsTable, compute_turns, vad_source
from rtnb.engine.turns import TurnConfig
from rtnb.explorer import vad_explorer
from rtnb.plots import plot_latency, plot_latency_summary, plot_vad
from rtnb.session.eventlog import EventLog
from tests import speechgen
from tests.logscript import Script, three_turns

matplotlib.use("Agg")

def lines_by_label(fig) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for ax in fig.axes:
        for line in ax.get_lines():
            if not line.get_label().startswith("_"):
                out.setdefault(line.get_label(), []).extend(np.ravel(line.get_xdata()))
    return out


def values(fig, gid) -> list[float]:
    """x of every marker drawn for a metric (markers carry the metric as gid)."""
    return [float(x) for ax in fig.axes for line in ax.get_lines() if line.get_gid() == gid
            for x in np.ravel(line.get_xdata())]


def texts(fig) -> str:
    return "\n".join(t.get_text() for ax in fig.axes for t in ax.texts)


# -- latency -------------------------------------------------------------------------------


def test_plot_latency_rows_and_targets():
    fig = plot_latency(three_turns())
    main = fig.axes[0]
    labels = [t.get_text() for t in main.get_yticklabels()]
    assert len(labels) == 3 and "hello there" in labels[0] and labels[1].startswith("1 text")
    lines = lines_by_label(fig)
    assert lines["response target 1 s"] == [1000, 1000]
    assert lines["interruption target 300 ms"] == [300, 300]
    assert lines["handoff target 2 s"] == [2000, 2000]
    assert values(fig, "e2e") == pytest.approx([640.0, 450.0, 700.0])
    assert values(fig, "barge_in") == pytest.approx([150.0])
    assert values(fig, "handoff_time") == pytest.approx([250.0])
    assert "get_weather 75 ms · → billing 250 ms" in texts(fig)
    fig.savefig(io.BytesIO(), format="png")
    assert "response target 1 s" not in lines_by_label(plot_latency(three_turns(),
                                                                    targets=False))


def test_plot_latency_into_given_axes_and_from_table():
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    fig = plot_latency(three_turns(), ax=ax)
    assert fig is ax.figure and len(fig.axes) == 2
    table = MetricsTable(compute_turns(three_turns().entries))
    fig = plot_latency(table)
    assert "approximate" in fig.axes[0].get_title("left")
    assert values(fig, "e2e") == pytest.approx([640.0, 450.0, 700.0])


async def test_session_and_recording_give_the_same_plots(tmp_path):
    three_turns().save(tmp_path / "rec")
    rec = rtnb.load(tmp_path / "rec")
    session = rec.replay(speed=None)
    await session.connect()
    await session._reader
    for source in (rec, session):
        assert values(plot_latency(source), "e2e") == pytest.approx([640.0, 450.0, 700.0])
        summary = lines_by_label(plot_latency_summary(source))
        assert summary["response target 1 s"] == [1000, 1000]


def test_summary_rows_and_no_turns():
    fig = plot_latency_summary(three_turns())
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == "e2e (voice to voice)" and "barge-in" in labels
    assert "interruption target 300 ms" in lines_by_label(fig)
    for plot in (plot_latency, plot_latency_summary):
        assert "No turns" in texts(plot(EventLog()))
    with pytest.raises(TypeError):
        plot_latency(42)


# -- VAD -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def one_utterance():
    return speechgen.with_silence(speechgen.trim(speechgen.utterance(speechgen.PHRASES[0])),
                                  1000, 1200)


def spans(fig, label):
    from matplotlib.patches import Rectangle

    out = []
    for p in fig.axes[0].patches:
        if p.get_label() == label:
            xs = ([p.get_x(), p.get_x() + p.get_width()] if isinstance(p, Rectangle)
                  else np.asarray(p.get_xy())[:, 0])
            out.append((min(xs), max(xs)))
    return out


def test_plot_vad_finds_the_speech(one_utterance, tmp_path):
    speech_ms = len(one_utterance) / 48 - 2200
    fig = plot_vad(one_utterance)
    (start, end), = spans(fig, "detected speech")
    assert 0.9 <= start <= 1.15 and 1.0 + speech_ms / 1000 - 0.15 <= end <= (
        1.0 + speech_ms / 1000 + 0.25)
    (pad,) = spans(fig, "prefix padding 300 ms")
    assert pad == pytest.approx((start - 0.3, start))
    (window,) = spans(fig, "silence window 500 ms → speech_stopped")
    assert 0.5 <= window[1] - window[0] < 0.5 + 0.032
    assert "1 turn(s)" in fig.axes[0].get_title("left")
    # the same from a WAV file and from float samples; settings can be overridden
    audio.write_wav(tmp_path / "u.wav", one_utterance)
    assert spans(plot_vad(tmp_path / "u.wav"), "detected speech") == [(start, end)]
    fig = plot_vad(audio.to_float(one_utterance), threshold=0.7, silence_duration_ms=800)
    assert spans(fig, "silence window 800 ms → speech_stopped")
    assert "No input audio" in texts(plot_vad(b""))


def test_plot_vad_shows_server_marks_from_the_log(one_utterance):
    s = Script()
    s.at(0.0, "server", "session.updated", session={"audio": {"input": {"turn_detection": {
        "type": "server_vad", "threshold": 0.6, "prefix_padding_ms": 200,
        "silence_duration_ms": 400}}}})
    server = {1.32: ("input_audio_buffer.speech_started", {"audio_start_ms": 800}),
              2.92: ("input_audio_buffer.speech_stopped", {"audio_end_ms": 2400})}
    for i in range(0, len(one_utterance), 1920):  # 40 ms appends, paced
        t = (i + 1920) / 48000
        s.at(t, "client", "input_audio_buffer.append", pcm=one_utterance[i:i + 1920])
        if round(t, 3) in server:
            kind, fields = server[round(t, 3)]
            s.at(t, "server", kind, item_id="u", **fields)
    src = vad_source(s.log)
    assert src.config == TurnConfig(threshold=0.6, prefix_padding_ms=200,
                                    silence_duration_ms=400)
    assert [(m.kind, m.audio_ms) for m in src.marks] == [("speech_started", 800),
                                                         ("speech_stopped", 2400)]
    assert [m.received_ms for m in src.marks] == [1320, 2920]
    lines = lines_by_label(plot_vad(s.log))
    assert lines["server speech_started (audio_start_ms)"] == pytest.approx([0.8, 0.8])
    assert lines["server speech_stopped (audio_end_ms)"] == pytest.approx([2.4, 2.4])
    received = lines["server event received (audio appended so far)"]
    assert received == pytest.approx([1.32])  # labelled once
    assert "threshold 0.60" in lines


# -- explorer ------------------------------------------------------------------------------


def test_vad_explorer_widget_updates(two_utterances):
    pytest.importorskip("ipywidgets")
    box = vad_explorer(two_utterances[0], silence_duration_ms=800)
    assert box.result.count == 1
    image, summary = box.image.value, box.summary.value
    assert image[:8] == b"\x89PNG\r\n\x1a\n" and "1 turn(s)" in summary
    box.silence_duration_ms.value = 300
    assert box.result.count == 2 and box.result.config.silence_duration_ms == 300
    assert box.image.value != image and "splits an utterance" in box.summary.value
    box.threshold.value = 0.9
    assert box.result.config.threshold == 0.9
    assert type(box).__name__ == "VBox" and box.children
    with pytest.raises(ValueError, match="no input audio"):
        vad_explorer(b"")


def test_public_names_are_the_functions():
    import rtnb.plots  # noqa: F401 - importing the submodule must not shadow the function

    for name in ("plot_latency", "plot_latency_summary", "plot_vad", "vad_explorer", "speak"):
        assert callable(getattr(rtnb, name)), name
