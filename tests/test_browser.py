"""End to end in a real JupyterLab, driven by headless Debian Chromium with a fake mic.

The fake mic plays a synthetic spoken question from a WAV file. The test clicks
Connect and Start mic in the rendered panel, then waits for the transcript to
show both sides and for the speaker widget to report audio played.
"""

from __future__ import annotations

import json
import os
import re

import pytest

from tests import labharness

pytestmark = [pytest.mark.slow, pytest.mark.browser]
ARTIFACTS = labharness.ROOT / "artifacts"


@pytest.mark.timeout(300)
def test_spoken_turn_in_jupyterlab(tmp_path):
    if not os.path.exists(labharness.CHROMIUM):
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright")
    pytest.importorskip("jupyterlab")
    ARTIFACTS.mkdir(exist_ok=True)
    wav = tmp_path / "question.wav"
    labharness.write_fake_mic(wav)
    with labharness.jupyterlab(tmp_path) as (url, token):
        seen = labharness.spoken_turn(url, token, wav, screenshot=ARTIFACTS / "panel.png",
                                      failure_shot=ARTIFACTS / "browser-failure.png")
    text = seen["text"]
    assert seen["frames"] > 50  # over a second of mic audio reached the kernel
    assert re.search(r"you: what'?s the weather in paris", text, re.IGNORECASE)
    assert re.search(r"Assistant: The weather in Paris is 18 degrees and sunny", text)
    assert set(seen["delays"]) == {"browser→kernel", "kernel→browser"}
    (ARTIFACTS / "browser_delays.json").write_text(json.dumps(seen["delays"]))
