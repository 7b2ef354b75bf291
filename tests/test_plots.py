"""Latency and VAD plots, and the VAD explorer: synthetic logs on a virtual clock, real VAD."""

from __future__ import annotations

import io
import json

import matplotlib
import numpy as np
import pytest

import rtnb
from rtnb import audio
from rtnb.engine.core import RealtimeCore
from rtnb.engine.speech.vad import SileroVad, trace
from rtnb.engine.turns import TurnConfig, detect
from rtnb.explorer import explore, vad_explorer
from rtnb.plots import (
    plot_latency,
    plot_latency_summary,
    plot_vad,
    turn_times,
    vad_source,
)
from rtnb.session.eventlog import EventLog
from rtnb.session.metrics import MetricsTable, compute_turns
from tests import speechgen
from tests.logscript import Script

matplotlib.use("Agg")

SESSION = {"audio": {"input": {"turn_detection": {
    "type": "server_vad", "threshold": 0.5, "silence_duration_ms": 500,
    "prefix_padding_ms": 300}}}}


def three_turns() -> EventLog:
    """Voice turn; typed turn with a tool and a handoff; voice turn with supervisor + barge-in."""
    s = Script()
    s.at(0.0, "server", "session.updated", session=SESSION)
    s.mic(0.0, 1600)  # audio 0..1600 ms at t 0..1.6
    s.at(0.2, "server", "input_audio_buffer.speech_started", audio_start_ms=0, item_id="u1")
    s.at(1.530, "server", "input_audio_buffer.speech_stopped", audio_end_ms=1000, item_id="u1")
    s.at(1.531, "server", "input_audio_buffer.committed", item_id="u1")
    s.at(1.531, "server", "response.created", response={"id": "r1"})
    s.at(1.560, "server", "conversation.item.input_audio_transcription.completed",
         item_id="u1", transcript="hello there")
    s.audio(1.640, 100, "a1")
    s.at(1.700, "server", "response.done", response={"id": "r1", "status": "completed"})
    # turn 1, typed, at t=3.0
    s.text(3.0, "what's the weather, then billing please")
    s.at(3.010, "server", "response.created", response={"id": "r2"})
    s.at(3.050, "server", "response.function_call_arguments.done", call_id="c1",
         name="get_weather", arguments="{}", response_id="r2")
    s.at(3.125, "client", "conversation.item.create",
         item={"type": "function_call_output", "call_id": "c1", "output": "{}"})
    s.at(3.200, "server", "response.function_call_arguments.done", call_id="c2",
         name="transfer_to_billing", arguments="{}", response_id="r2")
    s.agent = "Billing"
    s.at(3.201, "local", "local.handoff", call_id="c2", to="Billing", **{"from": "Assistant"})
    s.audio(3.450, 100, "a2")
    # turn 2, voice: audio 1600..4600 ms at t 5.0..8.0; speech ends at audio 2600 (t 6.0)
    s.mic(5.0, 3000)
    s.at(5.3, "server", "input_audio_buffer.speech_started", audio_start_ms=1600, item_id="u2")
    s.at(6.630, "server", "input_audio_buffer.speech_stopped", audio_end_ms=2600, item_id="u2")
    s.at(6.631, "server", "input_audio_buffer.committed", item_id="u2")
    s.at(6.632, "server", "response.created", response={"id": "r3"})
    s.audio(6.700, 600, "filler", "r3")
    s.at(6.720, "server", "response.function_call_arguments.done", call_id="c3",
         name="getNextResponseFromSupervisor", arguments="{}", response_id="r3")
    s.at(6.730, "local", "local.supervisor.request", call_id="c3")
    s.at(7.530, "local", "local.supervisor.response", call_id="c3", text="ok")
    s.at(7.531, "client", "conversation.item.create",
         item={"type": "function_call_output", "call_id": "c3", "output": "{}"})
    s.audio(7.650, 400, "answer", "r4")
    # the user barges in: onset at audio 4100 + 300 padding = 4400 ms (t 7.8)
    s.at(7.85, "server", "input_audio_buffer.speech_started", audio_start_ms=4100, item_id="u3")
    s.at(7.95, "local", "local.playback.flushed", item_id="answer", played_ms=250.0,
         reason="barge_in")
    return s.log


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


def test_turn_times_match_metrics():
    log = three_turns()
    rows = turn_times(log)
    turns = compute_turns(log.entries)
    assert len(rows) == len(turns) == 3
    for row, turn in zip(rows, turns, strict=True):
        assert row.marks["first_audio"] == pytest.approx(turn.e2e)
    assert rows[0].marks == pytest.approx({"end_of_turn": 530.0, "committed": 531.0,
                                           "transcribed": 560.0, "created": 531.0,
                                           "first_audio": 640.0})
    assert rows[1].spans == [("tool", "get_weather", pytest.approx(50.0), pytest.approx(125.0)),
                             ("handoff", "billing", pytest.approx(200.0), pytest.approx(450.0))]
    spans = {kind: (a, b) for kind, _, a, b in rows[2].spans}
    assert spans["supervisor"] == pytest.approx((730.0, 1530.0))
    assert spans["tool"] == pytest.approx((720.0, 1531.0))
    assert spans["filler_gap"] == pytest.approx((1300.0, 1650.0))  # filler ends 7.3 → 7.65
    assert turns[2].barge_in == pytest.approx(150.0)


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


def trim(pcm: bytes, level: float = 0.01) -> bytes:
    """Cut the synthesizer's own leading and trailing silence."""
    x = np.abs(audio.to_float(pcm))
    idx = np.flatnonzero(x > level)
    return pcm[2 * idx[0]:2 * (idx[-1] + 1)]


@pytest.fixture(scope="module")
def one_utterance():
    return speechgen.with_silence(trim(speechgen.utterance(speechgen.PHRASES[0])), 1000, 1200)


@pytest.fixture(scope="module")
def two_utterances():
    """Two utterances with a 400 ms pause between them."""
    a = trim(speechgen.utterance("I want to return my snowboard."))
    b = trim(speechgen.utterance("What time does the store close?"))
    return speechgen.with_silence(a, 600, 400) + speechgen.with_silence(b, 0, 1500), len(a) / 48


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


def test_explore_silence_window_merges_or_splits(two_utterances):
    pcm, first_ms = two_utterances
    probs = trace(pcm)
    merged = explore(probs, 0.5, 300, 800)
    split = explore(probs, 0.5, 300, 300)
    assert merged.count == 1 and split.count == 2
    assert not merged.flagged_pauses
    (pause,) = split.flagged_pauses  # the 400 ms pause cut one utterance in two
    assert 600 + first_ms - 100 <= pause.start_ms and pause.end_ms <= 600 + first_ms + 500
    assert all(300 <= v < 332 for v in split.eot_latency_ms)
    assert split.decision_lag_ms == [v - 300 for v in split.eot_latency_ms]
    assert all(800 <= v < 832 for v in merged.eot_latency_ms)
    assert "window" in split.describe()


def test_explore_higher_threshold_gives_less_speech(two_utterances):
    probs = trace(two_utterances[0])

    def speech(th):
        r = explore(probs, th, 300, 300)
        return r.count, sum(s.end_ms - s.start_ms for s in r.segments)

    (n_low, ms_low), (n_high, ms_high) = speech(0.3), speech(0.95)
    assert n_high <= n_low and ms_high < ms_low
    assert explore(probs, 0.5, 0, 300).segments[0].padded_start_ms == explore(
        probs, 0.5, 300, 300).segments[0].start_ms


def test_explorer_matches_the_engine(two_utterances):
    pcm = two_utterances[0]
    for silence in (300, 800):
        cfg = TurnConfig(silence_duration_ms=silence)
        core = RealtimeCore(vad_factory=SileroVad)
        core.receive(json.dumps({"type": "session.update", "session": {
            "type": "realtime", "audio": {"input": {"turn_detection": {
                "type": "server_vad", "silence_duration_ms": silence}}}}}))
        wire = []
        for i in range(0, len(pcm), 1920):
            wire += [o for o in core.feed_audio(pcm[i:i + 1920]) if isinstance(o, dict)]
        engine = [(e["audio_start_ms"], None) for e in wire
                  if e["type"] == "input_audio_buffer.speech_started"]
        ends = [e["audio_end_ms"] for e in wire if e["type"] == "input_audio_buffer.speech_stopped"]
        engine = [(a, b) for (a, _), b in zip(engine, ends, strict=True)]
        probs = trace(pcm)
        events = detect(probs, cfg)
        direct = [(s.audio_start_ms, t.audio_start_ms) for s, t in zip(
            [e for e in events if e.kind == "speech_started"],
            [e for e in events if e.kind == "speech_stopped"], strict=True)]
        result = explore(probs, cfg.threshold, cfg.prefix_padding_ms, silence)
        assert [(s.padded_start_ms, s.end_ms) for s in result.segments] == direct == engine
        assert list(result.events) == events


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
