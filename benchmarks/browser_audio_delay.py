"""Browser ↔ kernel audio message delay in a real JupyterLab, with and without TCP_NODELAY.

Two measurements against a JupyterLab started with and without
binder/jupyter_server_config.py (Debian Chromium, fake mic), each the median the
live-audio widget measured, browser → kernel (mic frames) and kernel → browser
(playback chunks):

- transport: the kernel feeds 20 ms chunks every 20 ms while the mic streams,
  with no engine work (the Jupyter path alone);
- turn: a real spoken turn through the panel with the engine in the kernel, where
  ASR and TTS compete for the same cores.

    python benchmarks/browser_audio_delay.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import labharness  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    keys = [(what, mode) for what in ("transport", "turn") for mode in ("nodelay", "default")]
    results: dict[tuple[str, str], list[dict[str, float]]] = {k: [] for k in keys}
    for _ in range(args.runs):
        for what, mode in keys:
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                wav = root / "question.wav"
                labharness.write_fake_mic(wav)
                with labharness.jupyterlab(root, nodelay=mode == "nodelay") as (url, token):
                    if what == "transport":
                        delays = labharness.transport_delays(url, token, wav)
                    else:
                        delays = labharness.spoken_turn(url, token, wav)["delays"]
                results[(what, mode)].append(delays)
                print(what, mode, delays, flush=True)
    print(f"\n{'flow':10} {'server config':14} {'browser→kernel ms':>18} "
          f"{'kernel→browser ms':>18}")
    summary = {}
    for (what, mode), runs in results.items():
        up = statistics.median(r.get("browser→kernel", float("nan")) for r in runs)
        down = statistics.median(r.get("kernel→browser", float("nan")) for r in runs)
        summary[f"{what}/{mode}"] = {"browser_to_kernel_ms": up, "kernel_to_browser_ms": down,
                                     "runs": len(runs)}
        print(f"{what:10} {mode:14} {up:18.1f} {down:18.1f}")
    out = Path(__file__).parent / "results" / "browser_audio_delay.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
