"""What transcription logprobs cost: Whisper decodes with and without token log probabilities.

``include: ["item.input_audio_transcription.logprobs"]`` makes the engine decode with
CTranslate2's ``return_logits_vocab`` and take a log-softmax per text token. This times the
same guarded decode of each utterance both ways, alternating (so both see the same machine
load), and checks the text is identical::

    python benchmarks/asr_logprobs.py [--rounds 3] [--wait-quiet 60]

Prints wall and process-CPU milliseconds per utterance, their ratio, and the share of the
CPUs other processes used meanwhile (the machine baseline).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _bench import Contention, cpu_timer, git_rev, results_path, wait_quiet  # noqa: E402

from rtnb.engine.speech.asr import WhisperAsr  # noqa: E402
from tests import speechgen  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="passes over the speech set")
    parser.add_argument("--voices", default="alloy,echo")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                        help="wait up to S s for other processes to use < 10%% CPU first")
    parser.add_argument("--out", default="asr_logprobs.json")
    args = parser.parse_args(argv)
    asr = WhisperAsr()
    asr.warmup()
    clips = [(p, speechgen.with_silence(speechgen.utterance(p, v), 300, 100))
             for p in speechgen.PHRASES for v in args.voices.split(",")]
    if args.wait_quiet:
        waited, share = wait_quiet(10, args.wait_quiet)
        print(f"  waited {waited:.0f} s for quiet (others {share}%)", file=sys.stderr)
    times: dict[str, dict[str, list[float]]] = {m: {"wall": [], "cpu": []}
                                                for m in ("plain", "logprobs")}
    differ = 0
    tokens = 0
    with Contention() as busy:
        for r in range(args.rounds):
            for i, (_, pcm) in enumerate(clips):
                order = ("plain", "logprobs") if (i + r) % 2 == 0 else ("logprobs", "plain")
                texts = {}
                for mode in order:
                    with cpu_timer() as t:
                        if mode == "plain":
                            texts[mode] = asr.transcribe_batch([(pcm, None)])[0]
                        else:
                            texts[mode], lps = asr.transcribe_batch_logprobs([(pcm, None)])[0]
                            tokens += len(lps or [])
                    times[mode]["wall"].append(t["wall"])
                    times[mode]["cpu"].append(t["cpu"])
                differ += texts["plain"] != texts["logprobs"]
    summary = {m: {k: round(1000 * statistics.mean(v), 1) for k, v in times[m].items()}
               for m in times}
    ratio = {k: round(summary["logprobs"][k] / summary["plain"][k], 3) for k in ("wall", "cpu")}
    n = len(clips) * args.rounds
    print(f"{n} decodes per mode ({len(clips)} utterances x {args.rounds}); other processes "
          f"used {busy.pct}% of the CPUs; commit {git_rev()}")
    print("| mode | wall ms/utt | CPU ms/utt |\n|---|---:|---:|")
    for mode, s in summary.items():
        print(f"| {mode} | {s['wall']} | {s['cpu']} |")
    print(f"| logprobs / plain | {ratio['wall']} | {ratio['cpu']} |")
    print(f"texts that differ: {differ}; tokens with a logprob: {tokens / args.rounds:.0f} "
          f"per pass")
    results_path(args.out).write_text(json.dumps({
        "summary_ms": summary, "ratio": ratio, "decodes_per_mode": n, "texts_differ": differ,
        "others_cpu_pct": busy.pct, "commit": git_rev()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
