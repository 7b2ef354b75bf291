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
from rtnb.plots.figure import png_size
from rtnb.session.eventlog import EventLog
from rtnb.session.images import to_data_url
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
    """x of every marker or line drawn with this gid (markers carry their metric)."""
    return [float(x) for ax in fig.axes for line in ax.get_lines() if line.get_gid() == gid
            for x in np.ravel(line.get_xdata())]


def texts(fig) -> str:
    return "\n".join(t.get_text() for ax in fig.axes for t in ax.texts)


def labelled(fig, gid) -> dict[str, float]:
    """Text labels with this gid: text → x (data)."""
    return {t.get_text(): t.get_position()[0] for ax in fig.axes for t in ax.texts
            if t.get_gid() == gid}


def legend_labels(fig) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def rendered(plot):
    """Draw the plot's figure with Agg (what the PNG shows); returns (figure, renderer)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = plot.figure
    FigureCanvasAgg(fig).draw()
    return fig, fig.canvas.get_renderer()


def small_texts(plot) -> list[tuple[str, float]]:
    """Visible, non-empty text smaller than 9 pt (ticks, labels, legends, notes)."""
    from matplotlib.text import Text

    fig, _ = rendered(plot)
    return [(t.get_text(), t.get_fontsize()) for t in fig.findobj(Text)
            if t.get_visible() and t.get_text().strip() and t.get_fontsize() < 9]


# -- display -------------------------------------------------------------------------------


def test_a_plot_displays_itself_as_one_png_at_its_size():
    import base64

    from IPython.core.interactiveshell import InteractiveShell
    from IPython.core.pylabtools import select_figure_formats

    plot = plot_latency(three_turns())
    plot.png()  # constrained layout settles on the first draw; later PNGs are identical
    data, meta = plot._repr_mimebundle_()
    png = base64.b64decode(data["image/png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and "Plot" in data["text/plain"]
    width_in, height_in = plot.figure.get_size_inches()
    assert meta["image/png"] == {"width": round(width_in * 96), "height": round(height_in * 96)}
    assert png_size(png) == (2 * meta["image/png"]["width"], 2 * meta["image/png"]["height"])
    assert meta["image/png"]["width"] <= 848  # JupyterLab's output area at 1280 px
    # The Figure API still works on the Plot; the Figure is not pyplot's.
    assert plot.axes == plot.figure.axes and plot.get_size_inches() == pytest.approx(
        [width_in, height_in])
    assert plot.figure.canvas.manager is None
    # IPython shows the same single PNG with or without the inline backend's formatters.
    shell = InteractiveShell.instance()
    try:
        bare, _ = shell.display_formatter.format(plot)
        select_figure_formats(shell, {"png"})  # what %matplotlib inline registers
        inline, _ = shell.display_formatter.format(plot)
    finally:
        InteractiveShell.clear_instance()
    assert bare["image/png"] == inline["image/png"] == data["image/png"]
    buf = io.BytesIO()
    plot.savefig(buf, format="png")
    assert png_size(buf.getvalue()) == (816, meta["image/png"]["height"])  # 96 dpi: 1×
    assert to_data_url(plot).startswith("data:image/png;base64,")  # send_image(plot)


def test_a_figure_pyplot_manages_is_left_to_pyplot():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    try:
        plot = plot_latency(three_turns(), ax=ax)
        assert plot.figure is fig
        data, *_ = plot._repr_mimebundle_()
        assert set(data) == {"text/plain"}  # the backend shows it once, not us twice
    finally:
        plt.close(fig)
    data, *_ = plot._repr_mimebundle_()
    assert "image/png" in data  # closed by pyplot: now only we can show it
    assert plt.get_fignums() == []
    plot_latency(three_turns())
    assert plt.get_fignums() == []  # rtnb's own figures never enter pyplot's manager


@pytest.mark.parametrize("make", [
    lambda: plot_latency(three_turns()),
    lambda: plot_latency(three_turns(), targets={"e2e": 660}),
    lambda: plot_latency_summary(three_turns()),
    lambda: plot_latency(EventLog()),
])
def test_no_text_under_9_pt(make):
    assert small_texts(make()) == []


# -- latency -------------------------------------------------------------------------------


def test_plot_latency_rows_and_targets():
    fig = plot_latency(three_turns())
    main = fig.axes[0]
    labels = [t.get_text() for t in main.get_yticklabels()]
    assert len(labels) == 3 and "hello there" in labels[0] and labels[1].startswith("1 · text")
    assert sorted(values(fig, "target")) == [300, 300, 1000, 1000, 2000, 2000]
    assert set(labelled(fig, "target_label")) == {"1 s target", "300 ms", "2 s"}
    assert values(fig, "e2e") == pytest.approx([640.0, 450.0, 700.0])
    assert values(fig, "barge_in") == pytest.approx([150.0])
    assert values(fig, "handoff_time") == pytest.approx([250.0])
    assert "get_weather 75 ms · → billing 250 ms" in texts(fig)
    fig.savefig(io.BytesIO(), format="png")
    assert values(plot_latency(three_turns(), targets=False), "target") == []


def test_plot_latency_legend_is_short_and_axes_have_units():
    fig = plot_latency(three_turns())
    legend = legend_labels(fig)
    assert len(legend) <= 6, legend
    assert "tool / supervisor / handoff / filler gap calls" in legend  # one entry, 4 swatches
    main, side = fig.axes
    assert "ms" in main.get_xlabel() and "(ms)" in side.get_xlabel()


def test_value_labels_stay_off_the_target_line():
    """A label that would cross the 1 s line moves to the side of its marker."""
    plot = plot_latency(three_turns(), targets={"e2e": 660})
    fig, renderer = rendered(plot)
    main = fig.axes[0]
    line = main.transData.transform((660, 0))[0]
    movable = [t for t in main.texts if t.get_gid() in ("e2e_label", "calls_note")]
    assert len(movable) == 5
    for t in movable:
        box = t.get_window_extent(renderer)
        assert not box.x0 - 2 < line < box.x1 + 2, t.get_text()  # 2 px clear of it
        assert main.get_window_extent(renderer).contains(box.x0, box.y0)
    # 640 ms sits just left of the 660 ms line: its label is on the marker's left
    label_640 = next(t for t in movable if t.get_text().strip() == "640 ms")
    assert label_640.get_window_extent(renderer).x1 < line


def test_plot_latency_into_given_axes_and_from_table():
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    plot = plot_latency(three_turns(), ax=ax)
    assert plot.figure is ax.figure and len(plot.axes) == 2
    table = MetricsTable(compute_turns(three_turns().entries))
    fig = plot_latency(table)
    assert "approximate" in fig.figure._suptitle.get_text()
    assert values(fig, "e2e") == pytest.approx([640.0, 450.0, 700.0])


async def test_session_and_recording_give_the_same_plots(tmp_path):
    three_turns().save(tmp_path / "rec")
    rec = rtnb.load(tmp_path / "rec")
    session = rec.replay(speed=None)
    await session.connect()
    await session._reader
    for source in (rec, session):
        assert values(plot_latency(source), "e2e") == pytest.approx([640.0, 450.0, 700.0])
        summary = plot_latency_summary(source)
        assert sorted(values(summary, "target"))[-2:] == [2000, 2000]
        assert "target 1 s" in texts(summary)


def test_summary_has_a_stall_row_only_when_a_reply_stalled():
    from tests.analysis.test_timeline import stalled_reply

    def labels(source):
        return [t.get_text() for t in plot_latency_summary(source).axes[0].get_yticklabels()]

    assert "playback stall" in labels(stalled_reply().log)
    assert "playback stall" not in labels(three_turns())
    assert plot_latency(stalled_reply().log).axes  # stalls are not drawn on the waterfall


def test_summary_rows_and_no_turns():
    fig = plot_latency_summary(three_turns())
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == "e2e (voice to voice)" and "barge-in" in labels
    assert "target 300 ms" in texts(fig) and fig.axes[0].get_legend() is None
    for plot in (plot_latency, plot_latency_summary):
        assert "No turns" in texts(plot(EventLog()))
    with pytest.raises(TypeError):
        plot_latency(42)


# -- VAD -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def one_utterance():
    return speechgen.with_silence(speechgen.trim(speechgen.utterance(speechgen.PHRASES[0])),
                                  1000, 1200)


def spans(fig, label, ax=0):
    from matplotlib.patches import Rectangle

    out = []
    for p in fig.axes[ax].patches:
        if p.get_label() == label:
            xs = ([p.get_x(), p.get_x() + p.get_width()] if isinstance(p, Rectangle)
                  else np.asarray(p.get_xy())[:, 0])
            out.append((min(xs), max(xs)))
    return out


def lane(fig, y) -> list[tuple[str, float, float]]:
    """The turn bars in the VAD figure's lane ``y`` (0: these settings, 1: the server)."""
    return [(p.get_gid(), round(p.get_x(), 3), round(p.get_x() + p.get_width(), 3))
            for p in fig.axes[2].patches if abs(p.get_y() + p.get_height() / 2 - y) < 1e-9]


def test_plot_vad_finds_the_speech(one_utterance, tmp_path):
    speech_ms = len(one_utterance) / 48 - 2200
    fig = plot_vad(one_utterance)
    (start, end), = spans(fig, "detected speech")
    assert 0.9 <= start <= 1.15 and 1.0 + speech_ms / 1000 - 0.15 <= end <= (
        1.0 + speech_ms / 1000 + 0.25)
    (pad,) = spans(fig, "prefix padding")
    assert pad == pytest.approx((start - 0.3, start))
    (window,) = spans(fig, "silence window")
    assert 0.5 - 1e-9 <= window[1] - window[0] < 0.5 + 0.032
    title = fig.axes[0].get_title("left")
    assert "1 turn(s) with threshold 0.50 · padding 300 ms · silence 500 ms" in title
    assert [p[0] for p in lane(fig, 0)] == ["padding", "speech", "silence"]  # one lane: no log
    assert [t.get_text() for t in fig.axes[2].get_yticklabels()] == ["these settings\n1 turn(s)"]
    # units on every axis
    assert "full scale" in fig.axes[0].get_ylabel() and "32 ms" in fig.axes[1].get_ylabel()
    assert fig.axes[2].get_xlabel() == "seconds of input audio"
    assert legend_labels(fig) == ["prefix padding", "detected speech",
                                  "silence window → speech_stopped"]
    assert small_texts(fig) == []
    # the same from a WAV file and from float samples; settings can be overridden
    audio.write_wav(tmp_path / "u.wav", one_utterance)
    assert spans(plot_vad(tmp_path / "u.wav"), "detected speech") == [(start, end)]
    fig = plot_vad(audio.to_float(one_utterance), threshold=0.7, silence_duration_ms=800)
    (window,) = spans(fig, "silence window")
    assert 0.8 - 1e-9 <= window[1] - window[0] < 0.8 + 0.032
    assert "threshold 0.70" in fig.axes[0].get_title("left")
    assert "No input audio" in texts(plot_vad(b""))


def marked(pcm: bytes, turn_detection: dict) -> EventLog:
    """``pcm`` appended like a mic, the server's marks at 0.8–2.4 s received at 1.32/2.92 s."""
    s = Script()
    s.at(0.0, "server", "session.updated", session={"audio": {"input": {
        "turn_detection": turn_detection}}})
    server = {1.32: ("input_audio_buffer.speech_started", {"audio_start_ms": 800}),
              2.92: ("input_audio_buffer.speech_stopped", {"audio_end_ms": 2400})}
    for i in range(0, len(pcm), 1920):  # 40 ms appends, paced
        t = (i + 1920) / 48000
        s.at(t, "client", "input_audio_buffer.append", pcm=pcm[i:i + 1920])
        if round(t, 3) in server:
            kind, fields = server[round(t, 3)]
            s.at(t, "server", kind, item_id="u", **fields)
    return s.log


def test_plot_vad_sets_the_servers_turns_beside_the_what_if(one_utterance):
    log = marked(one_utterance, {"type": "server_vad", "threshold": 0.6,
                                 "prefix_padding_ms": 200, "silence_duration_ms": 400})
    src = vad_source(log)
    logged = TurnConfig(threshold=0.6, prefix_padding_ms=200, silence_duration_ms=400)
    assert src.config == logged
    assert [(m.kind, m.audio_ms, m.config) for m in src.marks] == [
        ("speech_started", 800, logged), ("speech_stopped", 2400, logged)]
    assert [m.received_ms for m in src.marks] == [1320, 2920]
    fig = plot_vad(log)
    # the server's lane: padded start 0.8 s, onset +200 ms, end 2.4 s, received at 2.92 s
    assert lane(fig, 1) == [("padding", 0.8, 1.0), ("speech", 1.0, 2.4),
                            ("silence", 2.4, 2.92)]
    assert [t.get_text() for t in fig.axes[2].get_yticklabels()] == [
        "these settings\n1 turn(s)", "the server (logged)\n1 turn(s)"]
    title = fig.axes[0].get_title("left")
    assert "threshold 0.60 · padding 200 ms · silence 400 ms" in title
    assert title.endswith("the server cut 1 with the same settings")
    assert "threshold 0.60" in texts(fig)
    # What-if settings: the title says which of the server's settings cut its turns.
    fig = plot_vad(log, silence_duration_ms=800)
    title = fig.axes[0].get_title("left")
    assert title.endswith("the server cut 1 with silence 400 ms (here: 800 ms): the lower lane")
    assert lane(fig, 1) == [("padding", 0.8, 1.0), ("speech", 1.0, 2.4),
                            ("silence", 2.4, 2.92)]  # the server's turn does not move
    (_, a, b), = [p for p in lane(fig, 0) if p[0] == "silence"]
    assert 0.8 - 1e-9 <= b - a < 0.832
    # semantic_vad's turns: the title names its waits, which the sliders cannot set
    semantic = marked(one_utterance, {"type": "semantic_vad", "eagerness": "low"})
    title = plot_vad(semantic).axes[0].get_title("left")
    assert title.endswith("the server cut 1 with threshold 0.50 · padding 300 ms · "
                          "silence 1000–8000 ms")


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


def test_vad_explorer_gives_each_slider_a_full_row(two_utterances):
    """Each slider has a row of its own, its label a fixed width with the unit, so the
    track gets the rest of the row (measured in a real browser in tests/plots/test_browser.py)."""
    pytest.importorskip("ipywidgets")
    from rtnb.explorer import LABEL_WIDTH

    box = vad_explorer(two_utterances[0])
    sliders = (box.threshold, box.prefix_padding_ms, box.silence_duration_ms)
    assert box.children[:3] == sliders  # rows of the VBox, not an HBox of three
    assert [s.description for s in sliders] == [
        "speech threshold (0–1)", "prefix padding (ms)", "silence duration (ms)"]
    assert [s.tooltip for s in sliders] == [
        "turn_detection.threshold", "turn_detection.prefix_padding_ms",
        "turn_detection.silence_duration_ms"]
    for slider in sliders:
        assert slider.layout.width == "100%"
        assert slider.style.description_width == LABEL_WIDTH
    assert box.layout.max_width == box.image.layout.width == "816px"
    assert box.image.layout.max_width == "100%"
    assert png_size(box.image.value)[0] == 2 * 816  # drawn at twice its display size
    with pytest.raises(ValueError, match="no input audio"):
        vad_explorer(b"")


def test_public_names_are_the_functions():
    import rtnb.plots  # noqa: F401 - importing the submodule must not shadow the function

    for name in ("plot_latency", "plot_latency_summary", "plot_vad", "vad_explorer", "speak"):
        assert callable(getattr(rtnb, name)), name
