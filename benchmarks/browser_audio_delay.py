"""Browser ↔ kernel audio message delay in a real JupyterLab, with and without TCP_NODELAY.

Runs the spoken-turn flow of tests/test_browser.py (Debian Chromium, fake mic)
against a JupyterLab started with and without binder/jupyter_server_config.py,
and reports the medians the live-audio widget measured:
browser → kernel (mic frames) and kernel → browser (playback chunks).

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
    results: dict[str, list[dict[str, float]]] = {"nodelay": [], "default": []}
    for _ in range(args.runs):
        for mode in results:
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                wav = root / "question.wav"
                labharness.write_fake_mic(wav)
                with labharness.jupyterlab(root, nodelay=mode == "nodelay") as (url, token):
                    seen = labharness.spoken_turn(url, token, wav)
                results[mode].append(seen["delays"])
                print(mode, seen["delays"], flush=True)
    print(f"\n{'server config':16} {'browser→kernel ms':>18} {'kernel→browser ms':>18}")
    summary = {}
    for mode, runs in results.items():
        up = statistics.median(r.get("browser→kernel", float("nan")) for r in runs)
        down = statistics.median(r.get("kernel→browser", float("nan")) for r in runs)
        summary[mode] = {"browser_to_kernel_ms": up, "kernel_to_browser_ms": down,
                         "runs": len(runs)}
        print(f"{mode:16} {up:18.1f} {down:18.1f}")
    out = Path(__file__).parent / "results" / "browser_audio_delay.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
