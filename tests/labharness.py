"""A real JupyterLab plus headless Debian Chromium with a fake mic (tests and benchmarks)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/lib/chromium/chromium"
ROOT = Path(__file__).resolve().parent.parent
NODELAY_CONFIG = ROOT / "binder" / "jupyter_server_config.py"

NOTEBOOK = (
    "import rtnb\n"
    "from rtnb import Agent, tool\n\n"
    "@tool\n"
    "def get_weather(city: str) -> dict:\n"
    "    \"\"\"Get the current weather for a city.\"\"\"\n"
    "    return {'city': city, 'temperature_c': 18, 'conditions': 'sunny'}\n\n"
    "@tool(needs_approval=True)\n"
    "def refund_order(order_id: str) -> dict:\n"
    "    \"\"\"Refund an order by its number.\"\"\"\n"
    "    return {'order_id': order_id, 'refunded': True}\n\n"
    "agent = Agent('Assistant', 'Use tools for weather.', tools=[get_weather, refund_order])\n"
    "session = rtnb.Session(agent, backend='local')\n"
    "session"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: Transport only: the kernel feeds 20 ms chunks every 20 ms to the speaker while the
#: browser's mic streams up; no engine work competes. Prints the widget's medians.
PROBE = [
    "import asyncio, json\n"
    "from rtnb.notebook import LiveAudio\n"
    "probe = LiveAudio()\n"
    "probe.connect(lambda frame: None)\n"
    "probe",
    "async def feed():\n"
    "    for _ in range(600):\n"
    "        probe.feed('probe', b'\\x00' * 960)\n"
    "        await asyncio.sleep(0.02)\n"
    "task = asyncio.get_running_loop().create_task(feed())\n"
    "await asyncio.sleep(10)\n"
    "print('DELAYS', json.dumps(probe.delays()), probe.frames)",
]


def write_notebook(path: Path, source: str | list[str] = NOTEBOOK) -> None:
    sources = [source] if isinstance(source, str) else source
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
              "source": src} for src in sources]
    path.write_text(json.dumps({"cells": cells, "metadata": {"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5}))


#: A cell under the panel: HTML output with dollars, which JupyterLab typesets as math.
MATH_CONTROL = ("from IPython.display import HTML\n"
                "HTML('<span class=\"rtnb-math-control\">It costs $379, down from $449.</span>')")


def write_fake_mic(path: Path, text: str = "What's the weather in Paris?",
                   tail_ms: float = 15000) -> None:
    """A 48 kHz WAV: lead silence, the question, then a long pause (Chromium loops it)."""
    from rtnb import audio
    from tests import speechgen

    pcm = speechgen.with_silence(speechgen.utterance(text), 3000, tail_ms)
    audio.write_wav(path, audio.resample(audio.to_float(pcm), 24000, 48000), 48000)


@contextlib.contextmanager
def jupyterlab(root: Path, *, nodelay: bool = True) -> Iterator[tuple[str, str]]:
    """Run ``jupyter lab`` on a free port with ``root`` as its folder; yields (url, token)."""
    write_notebook(root / "panel.ipynb", [NOTEBOOK, MATH_CONTROL])
    write_notebook(root / "probe.ipynb", PROBE)
    # No "get notified about Jupyter news?" pop-up over the page (user settings live in
    # $JUPYTER_CONFIG_DIR/lab/user-settings).
    news = root / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True, exist_ok=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port, token = _free_port(), "rtnb-test-token"
    args = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
            "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
            "--ServerApp.allow_root=True"]
    if nodelay:
        args.append(f"--config={NODELAY_CONFIG}")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(root / ".jupyter")}
    with open(root / "lab.log", "w") as log:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=root)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.time() + 60
            while True:
                try:
                    urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=1)
                    break
                except OSError:
                    if time.time() > deadline or proc.poll() is not None:
                        raise RuntimeError("JupyterLab did not start:\n"
                                           + (root / "lab.log").read_text()[-3000:]) from None
                    time.sleep(0.3)
            yield url, token
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def render_every_cell(root: Path) -> None:
    """No notebook windowing in the lab whose folder is ``root``: every cell is in the page,
    however far down (user settings, read when a page loads)."""
    tracker = root / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True, exist_ok=True)
    (tracker / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')


def _api(url: str, token: str, path: str, method: str = "GET") -> object:
    request = urllib.request.Request(f"{url}/api/{path}", method=method,
                                     headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        body = reply.read()
    return json.loads(body) if body else None


def shut_down_kernels(url: str, token: str) -> None:
    """End every kernel of the lab (opening a notebook starts one), with its session."""
    for session in _api(url, token, "sessions"):
        _api(url, token, f"sessions/{session['id']}", "DELETE")
    for kernel in _api(url, token, "kernels"):  # a kernel started without a session
        _api(url, token, f"kernels/{kernel['id']}", "DELETE")


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab, and the folder under its ``root`` that one test works in."""

    url: str
    token: str
    root: Path
    folder: Path

    def subfolder(self, prefix: str) -> Lab:
        """This lab with a new, empty folder of its own under ``root`` (named ``prefix…``)."""
        return replace(self, folder=Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=self.root)))

    def tree_path(self, name: str) -> str:
        """A file of ``folder`` as the lab names it (``/lab/tree/<tree_path>``)."""
        return (self.folder / name).relative_to(self.root).as_posix()

    def shut_down_kernels(self) -> None:
        shut_down_kernels(self.url, self.token)

    def running_kernels(self) -> int:
        return len(_api(self.url, self.token, "kernels"))


@contextlib.contextmanager
def shared_lab(root: Path) -> Iterator[Lab]:
    """:func:`jupyterlab` for many tests in turn, each in a :meth:`Lab.subfolder`; every
    cell renders (:func:`render_every_cell`), whatever order the tests run in."""
    with jupyterlab(root) as (url, token):
        render_every_cell(root)
        yield Lab(url, token, root, root)


def launch_chromium(pw: object, wav: Path) -> object:
    """Headless Debian Chromium with a fake microphone that plays ``wav`` (in a loop)."""
    return pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--autoplay-policy=no-user-gesture-required",
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}"])


def transport_delays(url: str, token: str, wav: Path) -> dict:
    """Median message delay each way with the mic and the speaker streaming, nothing else."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw, wav)
        page = browser.new_page()
        try:
            page.goto(f"{url}/lab/tree/probe.ipynb?reset&token={token}")
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=60_000)
            page.evaluate("() => { window.jupyterapp.commands.execute("
                          "'notebook:run-all-cells'); }")
            page.locator(".rtnb-mic").click(timeout=60_000)
            out = page.locator(".jp-OutputArea-output", has_text="DELAYS")
            out.wait_for(timeout=60_000)
            line = out.inner_text()
        finally:
            browser.close()
    delays = json.loads(line.split("DELAYS", 1)[1].rsplit("}", 1)[0] + "}")
    return {"browser→kernel": delays["browser_to_kernel_ms"],
            "kernel→browser": delays["kernel_to_browser_ms"]}


def spoken_turn(url: str, token: str, wav: Path, *, screenshot: Path | None = None,
                failure_shot: Path | None = None,
                then: Callable[[Any], dict] | None = None,
                notebook: str = "panel.ipynb") -> dict:
    """Open the panel notebook (``notebook``, a path in the lab: :data:`NOTEBOOK` and
    :data:`MATH_CONTROL`), connect, talk through the fake mic; returns what the panel shows.

    ``then(page)`` runs after the turn, with the mic still on; what it returns is
    added to the result.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw, wav)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(f"{url}/lab/tree/{notebook}?reset&token={token}")
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=60_000)
            page.evaluate("() => { window.jupyterapp.commands.execute("
                          "'notebook:run-all-cells'); }")
            page.locator(".rtnb-connect").click(timeout=90_000)
            page.wait_for_function(
                "(() => { const s = document.querySelector('.rtnb-status [data-phase]');"
                " return s && s.dataset.phase !== 'disconnected'; })()", timeout=60_000)
            page.locator(".rtnb-mic").click()
            page.wait_for_function(
                "(() => { const t = document.querySelector('.rtnb-panel').innerText;"
                " return /paris/i.test(t) && /sunny/i.test(t); })()", timeout=90_000)
            page.wait_for_function(
                "Number(document.querySelector('.rtnb-live-audio').dataset.playedMs) > 500",
                timeout=30_000)
            page.wait_for_function(  # the status line shows both hops once measured
                "(() => /browser→kernel \\d+ ms[\\s\\S]*kernel→browser \\d+ ms/.test("
                "document.querySelector('.rtnb-status').innerText))()", timeout=60_000)
            text = page.locator(".rtnb-panel").inner_text()
            frames = page.locator(".rtnb-status [data-frames]").get_attribute("data-frames")
            if screenshot is not None:
                page.locator(".rtnb-panel").screenshot(path=str(screenshot))
            extra = then(page) if then is not None else {}
        except Exception:
            if failure_shot is not None:
                page.screenshot(path=str(failure_shot))
            raise
        finally:
            browser.close()
    delays = {k: float(v) for k, v in re.findall(
        r"(browser→kernel|kernel→browser) (\d+) ms", text)}
    return {"text": text, "delays": delays, "frames": int(frames or 0), **extra}


# -- executed notebooks, opened as they are ----------------------------------------------------


def _reader_browser(pw: object) -> object:
    """Headless Chromium for reading pages (no fake mic)."""
    return pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"])


#: Open a notebook in the running app (no page load; its kernel starts in the background).
OPEN = "(path) => { window.jupyterapp.commands.execute('docmanager:open', {path}); }"
#: The first plot output of the open notebook.
PLOT = ".jp-OutputArea-child:has(.jp-OutputArea-output img)"


def _close_notebook(page: object, url: str, token: str) -> None:
    """Close the open notebook, once its kernel has a session, and end that kernel."""
    deadline = time.time() + 60
    while not _api(url, token, "sessions") and time.time() < deadline:
        time.sleep(0.1)
    page.evaluate("() => window.jupyterapp.commands.execute('application:close-all')")
    page.wait_for_function("() => !document.querySelector('.jp-NotebookPanel')",
                           timeout=30_000)
    shut_down_kernels(url, token)


def first_plot_screenshots(url: str, token: str, root: Path, notebooks: list[str],
                           out_dir: Path) -> dict[str, dict]:
    """Open each executed notebook (a path under ``root``, the lab's folder) without running
    it, and screenshot its first plot output as ``out_dir/<stem>.png``.

    One page load for all of them: each opens in the running app and closes before the
    next (its kernel ended). Returns, per notebook: the PNG path, the plot's natural size
    in pixels, the execution prompt of its cell (``[5]:``, from the file) and whether any
    cell was running; or ``error`` (with a screenshot of the page as
    ``<stem>-failure.png``) if no plot showed.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    render_every_cell(root)  # so the first plot is in the page however far down
    out_dir.mkdir(parents=True, exist_ok=True)
    shots: dict[str, dict] = {}
    with sync_playwright() as pw:
        browser = _reader_browser(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        try:
            page.goto(f"{url}/lab?reset&token={token}")
            page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
            page.evaluate("() => window.jupyterapp.restored.then(() => true)")
            panel = page.locator(".jp-NotebookPanel")
            for notebook in notebooks:
                page.evaluate(OPEN, notebook)
                output = panel.locator(PLOT).first
                try:
                    output.wait_for(timeout=60_000)
                except PlaywrightTimeout:
                    failure = out_dir / f"{Path(notebook).stem}-failure.png"
                    page.screenshot(path=str(failure))
                    shots[notebook] = {"error": f"no plot output within 60 s (see {failure})"}
                    _close_notebook(page, url, token)
                    continue
                output.scroll_into_view_if_needed()
                image = output.locator("img").first
                size = image.evaluate("async el => { await el.decode(); "
                                      "return [el.naturalWidth, el.naturalHeight]; }")
                cell = panel.locator(".jp-CodeCell", has=page.locator(PLOT)).first
                prompt = cell.locator(".jp-InputPrompt").first.inner_text().strip()
                png = out_dir / f"{Path(notebook).stem}.png"
                output.screenshot(path=str(png), animations="disabled")
                running = panel.locator(".jp-InputPrompt", has_text="[*]").count() > 0
                shots[notebook] = {"path": png, "size": size, "prompt": prompt,
                                   "running": running}
                _close_notebook(page, url, token)
        finally:
            browser.close()
    return shots


def require_browser() -> None:
    """Skip the calling test unless Debian Chromium, Playwright and JupyterLab are here."""
    import pytest

    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright")
    pytest.importorskip("jupyterlab")


def run_all_cells(page: object, url: str, token: str, notebook: str) -> None:
    """Open ``notebook`` in a fresh Lab workspace, wait for its kernel, run every cell."""
    page.goto(f"{url}/lab/tree/{notebook}?reset&token={token}")
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=60_000)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
