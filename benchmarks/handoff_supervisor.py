"""Handoff and supervisor latency with ``rtnb.Session`` on the local engine.

Two scenarios from ``rtnb.scenarios``, each as several fresh conversations (one Session each):

- ``triage``: the caller is routed triage -> billing -> triage -> technical -> triage ->
  sales -> triage -> support, with tool calls (getInvoice, runLineDiagnostics) in between.
  Every "transfer" is a ``transfer_to_*`` handoff: the session switches agent
  (``session.update``), sends the call output and a ``response.create``; the new agent then
  greets the caller.
- ``chat_supervisor``: chatAgent says a filler phrase and calls
  ``getNextResponseFromSupervisor``; that tool asks the engine's ``/v1/responses`` text model,
  which runs its own tools (policy, account, store lookups), and chatAgent reads the answer.

Every metric comes from ``session.metrics()``, i.e. from the session's own event log through
``rtnb.analysis`` (see ``/work/shared/REFERENCE-metrics.md``); so do the handoff parts and
filler margins below:

- ``handoff_time``: the transfer call's ``function_call_arguments.done`` -> the first audio
  delta of the new agent.
- ``tool_time``: a call's ``function_call_arguments.done`` -> its output sent (for the
  supervisor tool this includes the supervisor).
- ``supervisor_time``: ``local.supervisor.request`` -> ``local.supervisor.response``.
- ``filler_gap``: end of the filler's audio (played in real time from its first chunk) ->
  first audio of the supervisor's answer (0 when the answer is ready before the filler ends).
- ``e2e``: end of the user's input -> first audio (for speech it includes the 500 ms window).

Even-numbered conversations are spoken: each line is piper speech (``tests/speechgen.py``)
with 300 ms of silence before and 1000 ms after, streamed with ``send_audio(..., paced=True)``
(real time) under server VAD. Odd ones are typed (``say``). After each reply the script calls
``await session.wait_played()``, so turns never barge in on each other. Before each turn it
waits (bounded) until other processes are quiet and records their CPU share during the turn.

Run: ``python benchmarks/handoff_supervisor.py`` (about 8 minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import sys
from collections.abc import Iterator
from typing import Any

from _bench import git_rev, rss_mb
from _realtime import VOICES, CpuMonitor, machine, now, stats, table, write_json

TRIAGE_LINES = [
    "My bill is wrong.",
    "Can you pull up invoice INV-1042?",
    "Thanks. Can you transfer me to another department?",
    "My internet keeps dropping.",
    "It's 415 555 0198.",
    "Thanks. Can you transfer me to another department?",
    "I'd like to upgrade to a new phone plan.",
    "Thanks. Can you transfer me to another department?",
    "I forgot my password and I can't log in.",
]
#: What piper says instead, where whisper tiny.en mishears the typed form ("INV-1042" comes
#: out as "and was I in B 1042", "415 555 0198" as "450198"); checked offline with the
#: engine's ASR on the four voices.
SPOKEN = {
    "Can you pull up invoice INV-1042?": "Please pull up invoice number one zero four two.",
    "It's 415 555 0198.": "It's four one five, five five five, zero one nine eight.",
    "It's 206 555 0147.": "It's two zero six, five five five, zero one four seven.",
    "Is there a store near zip code 98101?": "Is there a store near zip code nine eight one "
                                             "oh one?",
    "Hi there!": "Hello there!",
}
METRICS = ("handoff_time", "supervisor_time", "filler_gap", "tool_time", "e2e", "ttfb")


PARTS = {
    "server_finish": "transfer call's arguments.done -> its response.done received",
    "client_follow_up": "response.done -> the client's response.create sent (session.update "
                        "+ function_call_output + response.create)",
    "to_created": "response.create sent -> response.created received",
    "to_first_audio": "response.created -> first audio delta (the new agent's first TTS chunk)",
}


def handoff_parts(entries: list[Any]) -> list[dict[str, Any]]:
    """Split each handoff_time into its parts: the handoff spans of ``rtnb.analysis``."""
    from rtnb import analysis

    out = []
    for turn in analysis.timelines(entries):
        for span in turn.spans_of(analysis.HANDOFF):
            m = span.marks
            if not {"response_done", "create_sent", "created"} <= m.keys():
                continue
            times = [span.start, m["response_done"], m["create_sent"], m["created"], span.end]
            parts = [analysis.ms_between(a, b) for a, b in itertools.pairwise(times)]
            out.append({"to": span.label, **{k: round(v, 1) for k, v in zip(PARTS, parts, strict=True)},
                        "handoff_time": round(span.ms, 1)})
    return out


def filler_margins(entries: list[Any]) -> list[dict[str, Any]]:
    """Per supervisor call: how long before the filler's end the answer's first audio came.

    ``filler_gap`` is clamped at 0 (no audible gap); the margin says by how much it was
    met: the filler's end (first chunk + its audio length, as ``rtnb.analysis`` assumes)
    minus the answer's first audio delta. Negative would be an audible gap.
    """
    from rtnb import analysis

    out = []
    for turn in analysis.timelines(entries):
        for span in turn.spans_of(analysis.FILLER_GAP):
            start = span.marks["filler_start"]
            out.append({"filler_ms": round((span.start - start) * 1000, 1),
                        "request_after_filler_start":
                            round((span.marks["request"] - start) * 1000, 1),
                        "margin": round(-span.ms, 1)})
    return out


@contextlib.contextmanager
def backend(url: str | None) -> Iterator[Any]:
    """A ``start_engine()`` handle (in-process engine), or ``url`` as given."""
    if url:
        yield url
        return
    from rtnb.engine.background import start_engine
    from rtnb.engine.server import Engine

    t = now()
    engine = Engine.load(progress=lambda msg: print(f"  engine: {msg}", file=sys.stderr))
    with start_engine(engine=engine) as running:
        print(f"  engine ready at {running.url} ({now() - t:.1f}s)", file=sys.stderr)
        yield running


async def conversation(name: str, lines: list[str], spoken: bool, conv: int, engine: Any,
                       cpu: CpuMonitor, args: argparse.Namespace) -> list[dict[str, Any]]:
    import rtnb
    from rtnb import events as ev
    from rtnb import scenarios
    from tests import speechgen

    scenario = scenarios.get(name)
    spans: list[tuple[float, float, float, str, str | None, str | None]] = []
    async with rtnb.Session(scenario.root, backend=engine) as session:
        for i, line in enumerate(lines):
            waited = await cpu.wait_quiet(args.quiet_cpu / 100, args.wait_quiet)
            voice = VOICES[(conv + i) % len(VOICES)] if spoken else None
            pcm = speechgen.with_silence(speechgen.utterance(SPOKEN.get(line, line), voice), 300,
                                         1000) if voice else None
            t0 = now()
            if pcm is not None:
                await session.send_audio(pcm, paced=True)
            else:
                await session.say(line)
            reply = await session.wait(timeout=60)
            t_answered = now()
            await session.wait_played(timeout=120)
            spans.append((t0, t_answered, waited, line, voice, reply))
        turns = session.metrics()
        errors = [e.event for e in session.log if e.type == ev.ERROR]
        parts = handoff_parts(session.log.entries)
        margins = filler_margins(session.log.entries)
    if len(turns) != len(lines):
        print(f"  [{name} #{conv}] {len(turns)} turns logged for {len(lines)} lines "
              f"(VAD split or merged a turn)", file=sys.stderr)
    rows = []
    for k, turn in enumerate(turns):
        t0, t1, waited, line, voice, reply = spans[min(k, len(spans) - 1)]
        share = cpu.share(t0, t1)
        row = {"scenario": name, "conversation": conv, "turn": k,
               "mode": "spoken" if spoken else "typed", "voice": voice, "said": line,
               "heard": turn.user_text, "agent": turn.agent, "reply": reply,
               "tools": [list(x) for x in turn.tools],
               "foreign_cpu": None if share is None else round(100 * share, 1),
               "waited_quiet_s": round(waited, 1),
               **{m: getattr(turn, m) for m in METRICS}}
        rows.append(row)
        shown = "  ".join(f"{m} {row[m]:.0f}" for m in METRICS if row[m] is not None)
        print(f"  [{name} #{conv} {row['mode']}] {k}: {row['agent']:>9} {shown}  "
              f"cpu(other) {row['foreign_cpu']}%  {line!r} -> {turn.user_text!r}",
              file=sys.stderr)
    for err in errors:
        print(f"  [{name} #{conv}] server error: {err.get('error')}", file=sys.stderr)
    for p in parts + margins:
        p.update(scenario=name, conversation=conv, mode="spoken" if spoken else "typed")
    return rows, parts, margins


async def run(args: argparse.Namespace, engine: Any) -> dict[str, Any]:
    from rtnb import scenarios

    cpu = CpuMonitor()
    monitor = asyncio.create_task(cpu.run())
    plan = []
    if args.triage:
        plan += [("triage", TRIAGE_LINES, c) for c in range(args.triage)]
    if args.supervisor:
        lines = scenarios.get("chat_supervisor").sample_lines
        plan += [("chat_supervisor", lines, c) for c in range(args.supervisor)]
    rows: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    margins: list[dict[str, Any]] = []
    try:
        for name, lines, conv in plan:
            spoken = conv % 2 == 0 and not args.typed_only
            got, split, margin = await conversation(name, list(lines), spoken, conv, engine,
                                                    cpu, args)
            rows += got
            parts += split
            margins += margin
    finally:
        monitor.cancel()
    return {"rows": rows, "handoff_parts": parts, "filler_margins": margins}


def summarize(rows: list[dict[str, Any]], quiet_cpu: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    groups = {"all": rows, "quiet": [r for r in rows if (r["foreign_cpu"] or 0) < quiet_cpu],
              "spoken": [r for r in rows if r["mode"] == "spoken"],
              "typed": [r for r in rows if r["mode"] == "typed"]}
    for scenario in sorted({r["scenario"] for r in rows}):
        out[scenario] = {g: {m: stats([r[m] for r in rs if r["scenario"] == scenario])
                             for m in METRICS} for g, rs in groups.items()}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triage", type=int, default=4,
                        help="triage conversations (9 turns, 7 handoffs each; default 4)")
    parser.add_argument("--supervisor", type=int, default=6,
                        help="chat_supervisor conversations (6 turns each; default 6)")
    parser.add_argument("--typed-only", action="store_true", help="no spoken conversations")
    parser.add_argument("--url", help="ws://HOST:PORT/v1 of a running engine (default: start "
                                      "one in-process)")
    parser.add_argument("--quiet-cpu", type=float, default=10.0)
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                        help="before each turn wait up to S s until other processes use less "
                             "than --quiet-cpu %% of the CPUs")
    parser.add_argument("--out", default="handoff_supervisor.json")
    args = parser.parse_args(argv)
    t = now()
    with backend(args.url) as engine:
        result = asyncio.run(run(args, engine))
    rows = result["rows"]
    summary = summarize(rows, args.quiet_cpu)
    for scenario, groups in summary.items():
        n = sum(r["scenario"] == scenario for r in rows)
        print(table(groups["all"], f"\n{scenario}: {n} turns (spoken and typed)"))
        quiet = groups["quiet"]
        print(table(quiet, f"\n{scenario}, quiet turns only (other processes < "
                           f"{args.quiet_cpu:.0f}% CPU)"))
        for mode in ("spoken", "typed"):
            if not any(s["n"] for s in groups[mode].values()):
                continue
            print(table({m: groups[mode][m] for m in METRICS if groups[mode][m]["n"]},
                        f"\n{scenario}, {mode} turns"))
    parts = result["handoff_parts"]
    if parts:
        print(table({k: stats([p[k] for p in parts]) for k in (*PARTS, "handoff_time")},
                    f"\nwhere handoff_time goes ({len(parts)} handoffs)"))
        for to in sorted({p["to"] for p in parts}):
            sel = [p["handoff_time"] for p in parts if p["to"] == to]
            first = [p["to_first_audio"] for p in parts if p["to"] == to]
            print(f"  to {to}: handoff_time p50 {stats(sel)['p50']} ms, first TTS chunk p50 "
                  f"{stats(first)['p50']} ms ({len(sel)} handoffs)")
    margins = result["filler_margins"]
    if margins:
        print(table({"filler audio": stats([m["filler_ms"] for m in margins]),
                     "supervisor request after filler start":
                         stats([m["request_after_filler_start"] for m in margins]),
                     "margin: filler end - answer's first audio":
                         stats([m["margin"] for m in margins])},
                    f"\nfiller vs supervisor answer ({len(margins)} calls; margin < 0 would "
                    f"be an audible gap)"))
    cpu = stats([r["foreign_cpu"] for r in rows])
    print(f"\nCPU used by other processes during the turns (% of all CPUs): p50 {cpu['p50']}, "
          f"max {cpu['max']}; {len(rows)} turns in {now() - t:.0f} s")
    payload = {"benchmark": "handoff_supervisor", "rev": git_rev(), "machine": machine(),
               "definitions": {**{m: "from rtnb.Session.metrics(); see rtnb/analysis/metrics.py"
                                  for m in METRICS}, **PARTS,
                               "margin": "filler end - answer's first audio delta (ms)"},
               "setup": {"triage_conversations": args.triage,
                         "supervisor_conversations": args.supervisor,
                         "triage_lines": TRIAGE_LINES, "spoken_as": SPOKEN,
                         "spoken": "even conversations: piper speech, 300 ms lead, 1000 ms "
                                   "tail, send_audio(paced=True), server_vad defaults",
                         "typed": "odd conversations: session.say()",
                         "between_turns": "session.wait() then session.wait_played()",
                         "engine": args.url or "in-process start_engine()",
                         "quiet_cpu_pct": args.quiet_cpu, "wait_quiet_s": args.wait_quiet},
               "memory": rss_mb(), "foreign_cpu": cpu, "summary": summary, **result}
    print(f"wrote {write_json(args.out, payload)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
