"""The mic worklet's resampler, run under Node with the real JS source."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parents[2] / "rtnb" / "notebook" / "live_audio.js"

HARNESS = r"""
const src = require('fs').readFileSync(process.argv[2], 'utf8');
const code = src.match(/const WORKLET = `([\s\S]*?)`;/)[1]
  .replace(/\$\{RATE\}/g, '24000').replace(/\$\{FRAME\}/g, '480');
const rate = Number(process.argv[3]);
globalThis.sampleRate = rate;
const posted = [];
globalThis.AudioWorkletProcessor = class { constructor() { this.port = { postMessage: (m) => posted.push(m) }; } };
globalThis.registerProcessor = (name, cls) => { globalThis.Capture = cls; };
eval(code);
const p = new Capture();
let t = 0;
const seconds = 2, block = 128;
for (let b = 0; b < seconds * rate / block; b++) {
  const ch = new Float32Array(block);
  for (let i = 0; i < block; i++) ch[i] = 0.5 * Math.sin(2 * Math.PI * 440 * (t++) / rate);
  p.process([[ch]]);
}
const pcm = [];
for (const m of posted) pcm.push(...new Int16Array(m.pcm));
let crossings = 0;
for (let i = 1; i < pcm.length; i++) if ((pcm[i - 1] < 0) !== (pcm[i] < 0)) crossings++;
console.log(JSON.stringify({ samples: pcm.length, crossings,
  levels: posted.map((m) => m.level), max: Math.max(...pcm.map(Math.abs)) }));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run the worklet")
@pytest.mark.parametrize("rate", [16000, 44100, 48000])
def test_worklet_resamples_to_24k(tmp_path, rate):
    script = tmp_path / "run.js"
    script.write_text(HARNESS)
    out = json.loads(subprocess.run(["node", str(script), str(JS), str(rate)],
                                    capture_output=True, text=True, check=True).stdout)
    expected = 2 * 24000
    assert abs(out["samples"] - expected) <= 480  # whole 20 ms frames of 24 kHz audio
    # A 440 Hz tone keeps its pitch: 880 zero crossings per second.
    assert abs(out["crossings"] / 2 - 880) < 10
    assert all(0.3 < lv < 0.4 for lv in out["levels"])  # RMS of a 0.5 sine ≈ 0.354
    assert 15000 < out["max"] <= 16384
