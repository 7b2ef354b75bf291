"""The JavaScript Agents SDK in headless Debian Chromium, over its default WebRTC transport.

esbuild bundles tests/js/browser_webrtc.mjs (stock ``@openai/agents``) for the
browser, offline. A page served from 127.0.0.1 gets a short-lived ``ek_`` key and
calls ``POST /v1/realtime/calls`` on the local engine (cross-origin, so CORS is
exercised too). Chromium's fake microphone plays a spoken question; the engine
transcribes it, the SDK runs the tool, and the spoken answer comes back as Opus.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading

import pytest

from tests import jsharness, labharness

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(300)]

PAGE = "<!doctype html><meta charset=utf-8><title>rtnb webrtc</title>" \
       "<script type=module src=bundle.js></script>"


@pytest.fixture(scope="module")
def page_url(tmp_path_factory):
    jsharness.node()
    jsharness.ensure_packages()
    root = tmp_path_factory.mktemp("webrtc-page")
    esbuild = jsharness.JS / "node_modules" / ".bin" / "esbuild"
    subprocess.run([str(esbuild), "browser_webrtc.mjs", "--bundle", "--format=esm",
                    "--platform=browser", "--log-level=warning",
                    f"--outfile={root / 'bundle.js'}"], cwd=jsharness.JS, check=True,
                   timeout=120)
    (root / "index.html").write_text(PAGE)
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_spoken_question_gets_a_spoken_answer_over_webrtc(engine, page_url, tmp_path):
    if shutil.which("chromium") is None and not labharness.Path(labharness.CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    wav = tmp_path / "question.wav"
    labharness.write_fake_mic(wav, "What's the weather in Paris?", tail_ms=90_000)  # no loop
    key = engine.issue_client_secret()
    engine_url = engine.http_url.removesuffix("/v1")
    with sync_playwright() as pw:
        browser = labharness.launch_chromium(pw, wav)
        try:
            page = browser.new_page()
            console: list[str] = []
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.goto(page_url)
            page.wait_for_function("typeof window.runCall === 'function'", timeout=30_000)
            report = page.evaluate("([url, key]) => window.runCall(url, key)", [engine_url, key])
        finally:
            browser.close()
    assert "failed" not in report, (report, console[-20:])
    assert report["invalid"] == [] and report["unknownTypes"] == []
    assert report["callId"].startswith("rtc_")
    assert "paris" in report["transcript"].lower()
    assert report["toolArgs"] == {"city": "Paris"}
    assert "sunny" in report["output"].lower()
    assert {"output_audio_buffer.started", "output_audio_buffer.stopped"} <= set(report["types"])
    assert "response.output_audio.delta" not in report["types"]  # audio came as media
    # The browser received and played the answer: Opus samples with a real level.
    assert report["samplesReceived"] > 48_000 and report["loudestLevel"] > 0.05
