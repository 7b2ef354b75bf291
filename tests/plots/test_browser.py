"""rtnb's plots and the VAD explorer in a real JupyterLab under headless Chromium.

The notebook never says ``%matplotlib inline``. The test measures what the reader gets:
each figure is an image shown at its own size (816 CSS px, not squeezed by the output
area), and each of the explorer's sliders has a usable track. Screenshots go to
``artifacts/`` (plots-lab.png, vad-explorer-lab.png).
"""

from __future__ import annotations

import pytest

from tests import labharness

pytestmark = [pytest.mark.slow, pytest.mark.browser]
ARTIFACTS = labharness.ROOT / "artifacts"

CELLS = [
    "import rtnb\nturns = rtnb.load('turns')\nspeech = rtnb.load('speech')",
    "rtnb.plot_latency(turns)",
    "rtnb.plot_vad(speech, silence_duration_ms=300)",
    "explorer = rtnb.vad_explorer(speech)\nexplorer",
]

MEASURE = """() => {
  const size = e => { const b = e.getBoundingClientRect(); return {w: b.width, h: b.height}; };
  const cells = [...document.querySelectorAll('.jp-CodeCell')];
  return {
    outputs: cells.map(c => [...c.querySelectorAll('.jp-OutputArea-output')].map(o => ({
      area: size(o).w, text: o.innerText.slice(0, 60),
      images: [...o.querySelectorAll('img')].map(i => ({
        shown: size(i).w, attr: Number(i.getAttribute('width')), natural: i.naturalWidth})),
    }))),
    sliders: [...document.querySelectorAll('.rtnb-vad-explorer .widget-slider')].map(s => {
      const label = s.querySelector('.widget-label');
      return {label: label.innerText, labelClipped: label.scrollWidth > label.clientWidth,
              track: size(s.querySelector('.slider-container')).w, row: size(s).w};
    }),
  };
}"""


def write_recordings(root) -> None:
    """``turns``: the synthetic three-turn log; ``speech``: two real utterances 400 ms
    apart, streamed like a mic, with the marks the engine's server_vad (silence 500 ms)
    makes, each received one append after its decision."""
    from rtnb.analysis import explore
    from rtnb.engine.speech.vad import trace
    from tests import speechgen
    from tests.logscript import Script, three_turns

    three_turns().save(root / "turns")
    pcm, _ = speechgen.two_utterances()
    marks: dict[int, list[tuple[str, dict]]] = {}
    for seg in explore(trace(pcm), 0.5, 300, 500).segments:
        marks.setdefault(seg.start_ms // 40 + 1, []).append(
            ("input_audio_buffer.speech_started", {"audio_start_ms": seg.padded_start_ms}))
        if seg.decided_ms is not None:
            marks.setdefault(seg.decided_ms // 40 + 1, []).append(
                ("input_audio_buffer.speech_stopped", {"audio_end_ms": seg.end_ms}))
    s = Script()
    s.at(0.0, "server", "session.updated", session={"audio": {"input": {"turn_detection": {
        "type": "server_vad", "silence_duration_ms": 500}}}})
    for n, i in enumerate(range(0, len(pcm), 1920)):  # 40 ms appends, paced
        t = (i + 1920) / 48000
        s.at(t, "client", "input_audio_buffer.append", pcm=pcm[i:i + 1920])
        for kind, fields in marks.get(n, []):
            s.at(t, "server", kind, item_id="u", **fields)
    s.log.save(root / "speech")


@pytest.mark.timeout(300)
def test_plots_and_explorer_read_well_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    write_recordings(lab.folder)
    labharness.write_notebook(lab.folder / "plots.ipynb", CELLS)
    with sync_playwright() as pw:
        browser = labharness.launch_chromium(pw, lab.folder / "no-mic.wav")
        page = browser.new_page(viewport={"width": 1280, "height": 2400})
        try:
            labharness.run_all_cells(page, lab.url, lab.token, lab.tree_path("plots.ipynb"))
            page.locator(".rtnb-vad-explorer img").wait_for(timeout=120_000)
            page.wait_for_function(  # three images, decoded
                "(() => { const i = [...document.querySelectorAll('.jp-OutputArea-output img')];"
                " return i.length >= 3 && i.every((e) => e.complete && e.naturalWidth > 0);"
                " })()", timeout=60_000)
            news = page.get_by_role("button", name="No")  # "notified about Jupyter news?"
            if news.count():
                news.first.click()
            seen = page.evaluate(MEASURE)
            cells = page.locator(".jp-CodeCell")
            cells.nth(1).screenshot(path=str(ARTIFACTS / "plots-lab-latency.png"))
            cells.nth(2).screenshot(path=str(ARTIFACTS / "plots-lab-vad.png"))
            cells.nth(3).screenshot(path=str(ARTIFACTS / "vad-explorer-lab.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "plots-lab-failure.png"))
            raise
        finally:
            browser.close()
    outputs = seen["outputs"]
    for i, cell in enumerate(outputs[1:], start=1):
        assert not any(o["text"].startswith("<Figure") for o in cell)
        (image,) = [img for o in cell for img in o["images"]]
        # Shown at its own size, inside the output area: 1 figure inch = 96 CSS px, so
        # 9 pt text reads as 9 pt; the PNG has twice the pixels for sharp text.
        assert image["shown"] == pytest.approx(816, abs=1) and image["natural"] == 2 * 816
        assert max(o["area"] for o in cell) >= 816
        if i < 3:  # a Plot's PNG carries its display width (the explorer sets it in CSS)
            assert image["attr"] == 816
    sliders = seen["sliders"]
    assert [s["label"] for s in sliders] == [
        "speech threshold (0–1)", "prefix padding (ms)", "silence duration (ms)"]
    for s in sliders:
        assert not s["labelClipped"]
        assert s["track"] >= 400, s  # was 43–114 px with three sliders in one row
