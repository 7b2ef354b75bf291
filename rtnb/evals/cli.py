"""``rtnb eval SUITE.yaml``: run a suite; exit 0 when every check passes, 1 when any
fails, 2 when the suite (or an option) is invalid, in which case nothing runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EXIT_PASSED, EXIT_FAILED, EXIT_INVALID = 0, 1, 2

HELP = ("Run a voice agent test suite (YAML): each call's turns are typed or spoken by a "
        "simulated caller, and checked (handoffs, tools, reply, latency, guardrails, "
        "judge). Exit 0: all checks passed; 1: a check failed; 2: invalid suite.")


def positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n} must be 1 or more")
    return n


def backend(text: str) -> str:
    if text in ("local", "openai") or text.startswith(("ws://", "wss://")):
        return text
    raise argparse.ArgumentTypeError(f"{text!r}: use local, openai or a ws:// URL")


def judge_spec(text: str) -> str:
    from .judge import parse_spec

    try:
        parse_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("eval", help="run a voice agent test suite", description=HELP)
    p.add_argument("suite", help="the suite file (YAML)")
    p.add_argument("--workers", type=positive, default=1,
                   help="calls at once on this machine, sharing one warm engine (default 1)")
    p.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="run the calls on Ray: 'local' (default) starts a local cluster; "
                        "'auto' or ray://host:10001 joins one")
    p.add_argument("--repeat", type=positive, default=None,
                   help="run every call this many times (default: the suite's repeat)")
    p.add_argument("--mode", choices=["audio", "text"], default=None,
                   help="override the suite's mode")
    p.add_argument("--backend", type=backend, default="local",
                   help="local (default: the offline engine), openai, or a ws:// URL")
    p.add_argument("--json", metavar="OUT", help="write the results as JSON")
    p.add_argument("--report", metavar="OUT.html",
                   help="write a self-contained HTML report (records the calls next to it "
                        "unless --record is given)")
    p.add_argument("--record", metavar="DIR", help="save every call's recording here")
    p.add_argument("--judge", type=judge_spec, default=None, metavar="URL#model",
                   help="an OpenAI-compatible endpoint for judge checks and goal-driven "
                        "callers (default: OpenAI when OPENAI_API_KEY is set; else they are "
                        "skipped)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _say(msg: str) -> None:
    print(f"rtnb eval: {msg}", file=sys.stderr, flush=True)


def run_cli(args: argparse.Namespace) -> int:
    from .executors import ExecutorUnavailable, executor_for
    from .results import run
    from .suite import SuiteError, load_suite

    try:
        suite = load_suite(args.suite)
    except SuiteError as exc:
        _say(f"invalid suite: {exc}")
        return EXIT_INVALID
    try:
        executor = executor_for(args.workers, args.ray)
    except ExecutorUnavailable as exc:
        _say(str(exc))
        return EXIT_INVALID
    record: Any = args.record or False
    if args.report and not args.record:
        out = Path(args.report)
        record = out.with_name(out.stem + "-recordings")
    results = run(suite, args.workers, args.ray, repeat=args.repeat, backend=args.backend,
                  mode=args.mode, record=record, judge=args.judge,
                  progress=not args.no_progress, executor=executor)
    if args.json:
        results.save_json(args.json)
    if args.report:
        results.save_report(args.report)
    _print_summary(results)
    return results.exit_code


def _print_summary(results: Any) -> None:
    s = results.summary()
    for f in results.failures:
        print(f.message())
    skipped = sorted({k["skipped"] for k in results.checks if k.get("skipped")})
    for reason in skipped:
        print(f"skipped checks: {reason}")
    e2e = s.get("e2e_ms")
    line = (f"{s['suite']}: {s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped "
            f"of {s['calls']} calls; checks {s['checks_passed']} passed, {s['checks_failed']} "
            f"failed, {s['checks_skipped']} skipped; {s['seconds']:.1f} s")
    if e2e:
        line += f"; e2e p50 {e2e['p50']:.0f} ms, p95 {e2e['p95']:.0f} ms"
    print(line)
    sys.stdout.flush()
