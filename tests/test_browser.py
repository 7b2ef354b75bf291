"""End to end in a real JupyterLab, driven by headless Debian Chromium with a fake mic.

The fake mic plays a synthetic spoken question from a WAV file. The test clicks
Connect and Start mic in the rendered panel, then waits for the transcript to
show both sides and for the speaker widget to report audio played.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or "/usr/lib/chromium/chromium"
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"

NOTEBOOK_CELLS = [
    "import rtnb\n"
    "from rtnb import Agent, tool\n\n"
    "@tool\n"
    "def get_weather(city: str) -> dict:\n"
    "    \"\"\"Get the current weather for a city.\"\"\"\n"
    "    return {'city': city, 'temperature_c': 18, 'conditions': 'sunny'}\n\n"
    "agent = Agent('Assistant', 'Use tools for weather.', tools=[get_weather])\n"
    "session = rtnb.Session(agent, backend='local')\n"
    "session",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook(path: Path) -> None:
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
              "source": src} for src in NOTEBOOK_CELLS]
    path.write_text(json.dumps({"cells": cells, "metadata": {"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5}))


def _fake_mic(path: Path) -> None:
    from rtnb import audio
    from tests import speechgen

    speech = speechgen.utterance("What's the weather in Paris?")
    # Lead silence for the panel to connect, then the question, then a long pause
    # (Chromium loops the file).
    pcm = speechgen.with_silence(speech, 3000, 15000)
    samples = audio.resample(audio.to_float(pcm), 24000, 48000)
    audio.write_wav(path, samples, 48000)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright")
    pytest.importorskip("jupyterlab")
    root = tmp_path_factory.mktemp("lab")
    _notebook(root / "panel.ipynb")
    port, token = _free_port(), "rtnb-test-token"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(root / ".jupyter")}
    log = open(root / "lab.log", "w")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
         "--ServerApp.allow_root=True",
         f"--config={ROOT / 'binder' / 'jupyter_server_config.py'}"],
        stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=root)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=1)
            break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("JupyterLab did not start:\n" + (root / "lab.log").read_text()[-3000:])
    yield url, token, root
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.mark.timeout(300)
def test_spoken_turn_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright

    url, token, root = lab
    wav = root / "question.wav"
    _fake_mic(wav)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            "--autoplay-policy=no-user-gesture-required",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(f"{url}/lab/tree/panel.ipynb?reset&token={token}")
            page.wait_for_function("window.jupyterapp && document.querySelector('.jp-Notebook')",
                                   timeout=60_000)
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=60_000)
            page.evaluate("() => { window.jupyterapp.commands.execute("
                          "'notebook:run-all-cells'); }")
            page.locator(".rtnb-connect").click(timeout=90_000)
            page.wait_for_function(
                "document.querySelector('.rtnb-panel') && "
                "document.querySelector('.rtnb-panel').innerText.includes('connected')",
                timeout=60_000)
            page.locator(".rtnb-mic").click()
            # Start captured audio that reached the kernel, and the reply came back.
            page.wait_for_function(
                "(() => { const t = document.querySelector('.rtnb-panel').innerText;"
                " return /paris/i.test(t) && /sunny/i.test(t); })()", timeout=90_000)
            page.wait_for_function(
                "Number(document.querySelector('.rtnb-live-audio').dataset.playedMs) > 500",
                timeout=30_000)
            text = page.locator(".rtnb-panel").inner_text()
            page.locator(".rtnb-panel").screenshot(path=str(ARTIFACTS / "panel.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "browser-failure.png"))
            raise
        finally:
            browser.close()
    frames = int(re.search(r"mic frames (\d+)", text).group(1))
    assert frames > 50  # over a second of mic audio reached the kernel
    assert re.search(r"you: what'?s the weather in paris", text, re.IGNORECASE)
    assert re.search(r"Assistant: The weather in Paris is 18 degrees and sunny", text)
    delays = {k: float(v) for k, v in re.findall(r"(browser→kernel|kernel→browser) (\d+) ms",
                                                 text)}
    (ARTIFACTS / "browser_delays.json").write_text(json.dumps(delays))
    assert set(delays) == {"browser→kernel", "kernel→browser"}
