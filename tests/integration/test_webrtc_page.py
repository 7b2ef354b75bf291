"""Chapter 8's WebRTC page works: the cell that serves it, run as-is, in headless Chromium.

The page uses only the browser's own ``RTCPeerConnection`` against the local engine, with
a short-lived key; Chromium's fake microphone asks the question.
"""

from __future__ import annotations

import json

import pytest

from tests import labharness

pytest.importorskip("aiortc")
pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(300)]


def page_cell() -> str:
    nb = json.loads((labharness.ROOT / "notebooks" / "08_production.ipynb").read_text())
    sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    return next(s for s in sources if "PAGE = " in s and "serve_forever" in s)


def test_chapter_8_page_calls_the_engine_over_webrtc(tmp_path):
    from playwright.sync_api import sync_playwright

    import rtnb

    namespace: dict = {"rtnb": rtnb}
    exec(compile(page_cell(), "08_production: WebRTC page", "exec"), namespace)
    page_server = namespace["page"]
    wav = tmp_path / "question.wav"
    labharness.write_fake_mic(wav, "What's the weather in Paris?", tail_ms=90_000)  # no loop
    try:
        with sync_playwright() as pw:
            browser = labharness.launch_chromium(pw, wav)
            try:
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{page_server.server_address[1]}/")
                page.click("#call")
                page.wait_for_function("document.querySelector('#log').textContent"
                                       ".includes('assistant:')", timeout=150_000)
                log = page.inner_text("#log")
            finally:
                browser.close()
    finally:
        page_server.shutdown()
        page_server.server_close()
    assert "you:" in log and "paris" in log.lower()
    assert log.index("you:") < log.index("assistant:")
