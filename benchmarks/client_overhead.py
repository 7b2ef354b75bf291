"""Client-side cost of processing server events: rtnb.Session vs openai-agents' RealtimeSession.

1. **Record** (once; ``--record`` forces it): an ``rtnb.Session`` on the triage scenario talks
   to the in-process engine for a few turns (typed and spoken, with paced piper speech) that
   include handoffs, tool calls, VAD and transcription events and audio deltas. A recording
   transport keeps every raw server message exactly as it arrived off the socket, in order.
   They go to ``benchmarks/results/client_overhead_stream.jsonl.gz``.
2. **Replay** the same stream, in this one run, into both clients with their network layer
   replaced by a no-op, so only the client's own event handling is measured:

   - rtnb: ``rtnb.Session(agent, transport=NullTransport())`` is connected (its sends go
     nowhere) and each event goes through ``Session._on_server(event)``, the method its reader
     loop calls for every message.
   - openai-agents: ``RealtimeSession(OpenAIRealtimeWebSocketModel(), agent)`` is entered with
     the model's ``_create_websocket_connection`` returning a no-op socket; each event goes
     through ``OpenAIRealtimeWebSocketModel._handle_ws_event(event)``, the method its listener
     loop calls, and the session's event queue is drained after every event, as an
     ``async for event in session`` consumer would.

   Both get the same agent graph (triage -> billing/technical/sales/support and back), with
   the same tool names and schemas, every tool an async no-op returning ``"{}"``. Each event is
   followed by ``await asyncio.sleep(0)`` so spawned tool / follow-up tasks run as they would
   live; after the last event the tasks each client spawned are awaited. JSON parsing is done
   before the clock starts (both clients call ``json.loads`` on the raw message; its cost is
   reported separately). Session construction and close are outside the timed region.

The timed region is CPU time (``time.process_time``) of one full pass over the stream;
``--reps`` passes per client, interleaved rtnb / agents (alternating which goes first), each
pair after waiting for a quiet machine. Reported: CPU per event (median over passes), events
per second, and the rtnb / agents ratio (goal <= 0.5). ``net`` figures subtract the cost of
the bare loop (``sleep(0)`` per event, no handler). Then ``cProfile`` runs rtnb over the stream
and lists its top costs by file:function.

Run: ``python benchmarks/client_overhead.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import gzip
import io
import json
import pstats
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from _bench import git_rev, results_path, wait_quiet
from _realtime import VOICES, machine, now, write_json

STREAM = "client_overhead_stream.jsonl.gz"
#: (text, spoken?) turns of the recording: handoffs both ways, two tool calls, speech and text.
SCRIPT = [
    ("My bill is wrong.", False),
    ("Please pull up invoice number one zero four two.", True),
    ("Thanks. Can you transfer me to another department?", True),
    ("My internet keeps dropping.", False),
    ("It's four one five, five five five, zero one nine eight.", True),
    ("Thanks. Can you transfer me to another department?", False),
    ("I'd like to upgrade to a new phone plan.", True),
]


# -- recording ---------------------------------------------------------------------------------

async def record(path: Path) -> list[str]:
    import rtnb
    from rtnb import scenarios
    from rtnb.engine.background import start_engine
    from rtnb.session.transport import SDKTransport, TransportClosed, resolve_backend
    from tests import speechgen

    raw: list[str] = []

    class RecordingTransport(SDKTransport):
        async def recv(self) -> dict[str, Any]:
            if self._conn is None:
                raise TransportClosed("not connected")
            try:
                data = await self._conn.recv_bytes()
            except Exception as exc:
                raise TransportClosed(f"connection closed: {exc}") from None
            text = data.decode() if isinstance(data, bytes) else str(data)
            raw.append(text)
            return json.loads(text)

    with start_engine(progress=lambda m: print(f"  engine: {m}", file=sys.stderr)) as engine:
        session = rtnb.Session(scenarios.get("triage").root, backend=engine,
                               transport=RecordingTransport(resolve_backend(engine)))
        async with session:
            for i, (text, spoken) in enumerate(SCRIPT):
                if spoken:
                    pcm = speechgen.utterance(text, VOICES[i % len(VOICES)])
                    await session.send_audio(speechgen.with_silence(pcm, 300, 1000), paced=True)
                else:
                    await session.say(text)
                reply = await session.wait(timeout=60)
                await session.wait_played()
                print(f"  recorded turn {i}: {text!r} -> [{session.agent.name}] {reply!r}",
                      file=sys.stderr)
            await asyncio.sleep(0.5)
    with gzip.open(path, "wt") as f:
        for line in raw:
            f.write(line + "\n")
    return raw


def load_stream(path: Path) -> list[str]:
    with gzip.open(path, "rt") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


# -- the two clients, with their sockets replaced ----------------------------------------------

async def _noop_rtnb(**_: Any) -> str:
    return "{}"


def rtnb_agents() -> Any:
    """The triage graph as rtnb agents whose tools are async no-ops."""
    import rtnb
    from rtnb import scenarios
    from rtnb.agents import FunctionTool

    real = scenarios.get("triage")
    made = {a.name: rtnb.Agent(name=a.name, instructions=a.instructions,
                               handoff_description=a.handoff_description,
                               tools=[FunctionTool(t.name, t.description, t.parameters,
                                                   _noop_rtnb) for t in a.tools])
            for a in real.agents()}
    for a in real.agents():
        made[a.name].handoffs = [made[h.name] for h in a.handoffs]
    return made[real.root.name]


def agents_agents() -> Any:
    """The same graph as openai-agents RealtimeAgents with no-op FunctionTools."""
    from agents import FunctionTool
    from agents.realtime import RealtimeAgent

    from rtnb import scenarios

    async def noop(_ctx: Any, _args: str) -> str:
        return "{}"

    real = scenarios.get("triage")
    made = {a.name: RealtimeAgent(name=a.name, instructions=a.instructions,
                                  handoff_description=a.handoff_description,
                                  tools=[FunctionTool(name=t.name, description=t.description,
                                                      params_json_schema=t.parameters,
                                                      on_invoke_tool=noop,
                                                      strict_json_schema=False)
                                         for t in a.tools])
            for a in real.agents()}
    for a in real.agents():
        made[a.name].handoffs = [made[h.name] for h in a.handoffs]
    return made[real.root.name]


class NullTransport:
    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()

    async def connect(self) -> None:
        return None

    async def send(self, event: dict[str, Any]) -> None:
        self.sent[event.get("type", "")] += 1

    async def recv(self) -> dict[str, Any]:
        await asyncio.Event().wait()  # never: events are fed by hand
        raise AssertionError

    async def close(self) -> None:
        return None


class NullSocket:
    """Enough of a websockets ClientConnection for OpenAIRealtimeWebSocketModel."""

    sent: Counter[str] = Counter()  # over all sockets: the model replaces its socket on close

    def __init__(self) -> None:
        self._closed = asyncio.Event()

    async def send(self, message: Any) -> None:
        NullSocket.sent[json.loads(message).get("type", "")] += 1

    async def close(self) -> None:
        self._closed.set()

    def __aiter__(self) -> NullSocket:
        return self

    async def __anext__(self) -> Any:
        await self._closed.wait()
        raise StopAsyncIteration


class RtnbClient:
    name = "rtnb"

    def __init__(self) -> None:
        import rtnb

        self.transport = NullTransport()
        self.session = rtnb.Session(rtnb_agents(), backend="ws://127.0.0.1:9/v1",
                                    transport=self.transport)

    def describe(self) -> dict[str, Any]:
        return {"final_agent": self.session.agent.name, "sent": dict(self.transport.sent),
                "turns": len(self.session.metrics())}

    async def open(self) -> None:
        await self.session.connect()

    async def handle(self, event: dict[str, Any]) -> None:
        await self.session._on_server(event)

    async def settle(self) -> None:
        for _ in range(50):
            pending = [t for t in self.session._tasks if not t.done()]
            if not pending:
                return
            await asyncio.wait(pending, timeout=0.2)

    async def close(self) -> None:
        await self.session.close()


class AgentsClient:
    name = "openai-agents"

    def __init__(self) -> None:
        from agents.realtime import OpenAIRealtimeWebSocketModel, RealtimeSession

        self.model = OpenAIRealtimeWebSocketModel()

        async def null_socket(**_: Any) -> NullSocket:
            return NullSocket()

        self.model._create_websocket_connection = null_socket  # type: ignore[method-assign]
        self.session = RealtimeSession(
            self.model, agents_agents(), None,
            model_config={"api_key": "sk-null", "url": "ws://null"})
        self.consumed = 0
        NullSocket.sent.clear()

    def describe(self) -> dict[str, Any]:
        return {"final_agent": self.session._current_agent.name, "sent": dict(NullSocket.sent),
                "session_events": self.consumed}

    async def open(self) -> None:
        await self.session.__aenter__()

    async def handle(self, event: dict[str, Any]) -> None:
        await self.model._handle_ws_event(event)
        queue = self.session._event_queue
        while not queue.empty():  # what `async for event in session` would take
            queue.get_nowait()
            self.consumed += 1

    async def settle(self) -> None:
        for _ in range(50):
            pending = [t for t in (*self.session._tool_call_tasks,
                                   *self.model._response_create_tasks) if not t.done()]
            if not pending:
                return
            await asyncio.wait(pending, timeout=0.2)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.session.close(), 5)


class BareClient:
    """The loop alone (``sleep(0)`` per event, no handler): subtracted for ``net`` figures."""

    name = "bare loop"

    async def open(self) -> None:
        return None

    async def handle(self, event: dict[str, Any]) -> None:
        return None

    async def settle(self) -> None:
        return None

    async def close(self) -> None:
        return None


async def one_pass(factory: Any, raw: list[str], about: dict[str, Any] | None = None
                   ) -> dict[str, float]:
    """Build, feed the whole stream (timed), settle (timed), close. Returns CPU/wall seconds.

    ``about`` receives what the client did (its final agent, the events it sent).
    """
    client = factory()
    await client.open()
    events = [json.loads(r) for r in raw]
    gc.collect()
    await asyncio.sleep(0)
    c0, w0 = time.process_time(), time.perf_counter()
    for ev in events:
        await client.handle(ev)
        await asyncio.sleep(0)
    await client.settle()
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    if about is not None and hasattr(client, "describe"):
        about.update(client.describe())
    await client.close()
    return {"cpu": cpu, "wall": wall}


async def measure(raw: list[str], args: argparse.Namespace) -> dict[str, Any]:
    factories = {"rtnb": RtnbClient, "openai-agents": AgentsClient, "bare loop": BareClient}
    about: dict[str, Any] = {}
    for name, f in factories.items():  # warm up imports, pydantic adapters, caches
        about[name] = {}
        await one_pass(f, raw, about[name])
        print(f"  {name} after the stream: {about[name]}", file=sys.stderr)
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in factories}
    others: list[float] = []
    order = list(factories)
    for rep in range(args.reps):
        _, pct = wait_quiet(args.quiet_cpu, args.wait_quiet, 0.5)
        others.append(pct)
        seq = order if rep % 2 == 0 else order[::-1]
        for name in seq:
            runs[name].append(await one_pass(factories[name], raw))
    n = len(raw)
    out: dict[str, Any] = {"events": n, "reps": args.reps, "foreign_cpu_before_pct": others,
                           "what_each_client_did": about}
    for name, rs in runs.items():
        cpu = statistics.median(r["cpu"] for r in rs)
        out[name] = {"cpu_s_median": round(cpu, 5),
                     "cpu_s_min": round(min(r["cpu"] for r in rs), 5),
                     "wall_s_median": round(statistics.median(r["wall"] for r in rs), 5),
                     "us_per_event": round(cpu / n * 1e6, 2),
                     "events_per_s": round(n / cpu)}
    bare = out["bare loop"]["cpu_s_median"]
    for name in ("rtnb", "openai-agents"):
        net = out[name]["cpu_s_median"] - bare
        out[name]["net_us_per_event"] = round(net / n * 1e6, 2)
        out[name]["net_events_per_s"] = round(n / net) if net > 0 else None
    out["ratio"] = round(out["rtnb"]["cpu_s_median"] / out["openai-agents"]["cpu_s_median"], 3)
    out["ratio_net"] = round((out["rtnb"]["cpu_s_median"] - bare)
                             / (out["openai-agents"]["cpu_s_median"] - bare), 3)
    out["ratio_min"] = round(out["rtnb"]["cpu_s_min"] / out["openai-agents"]["cpu_s_min"], 3)
    with contextlib.suppress(Exception):
        t = time.process_time()
        for _ in range(5):
            for r in raw:
                json.loads(r)
        out["json_loads_us_per_event"] = round((time.process_time() - t) / 5 / n * 1e6, 2)
    return out


async def profile(factory: Any, raw: list[str], passes: int, top: int) -> dict[str, Any]:
    """cProfile over ``passes`` passes: the top functions by own and by cumulative time."""
    prof = cProfile.Profile()
    clients = []
    for _ in range(passes):
        client = factory()
        await client.open()
        events = [json.loads(r) for r in raw]
        prof.enable()
        for ev in events:
            await client.handle(ev)
            await asyncio.sleep(0)
        await client.settle()
        prof.disable()
        clients.append(client)
    for client in clients:
        await client.close()
    stats = pstats.Stats(prof, stream=io.StringIO())
    total = max(stats.total_tt, 1e-9)
    rows = []
    table = stats.stats  # type: ignore[attr-defined]
    for (file, line, func), (_cc, calls, tt, ct, _callers) in table.items():
        rows.append({"where": f"{_short(file)}:{line}:{func}", "calls": calls // passes,
                     "self_ms": round(tt * 1000 / passes, 3),
                     "cum_ms": round(ct * 1000 / passes, 3),
                     "self_pct": round(100 * tt / total, 1)})
    ours = [r for r in rows if r["where"].startswith("rtnb/")]
    return {"total_ms_per_pass": round(total * 1000 / passes, 2),
            "top_self": sorted(rows, key=lambda r: -r["self_ms"])[:top],
            "top_cumulative_rtnb": sorted(ours, key=lambda r: -r["cum_ms"])[:top]}


def _short(file: str) -> str:
    for marker in ("/site-packages/", "/work/main/", "/lib/python3.11/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--record", action="store_true",
                        help="record a new stream even if one is saved")
    parser.add_argument("--stream", default=None, help=f"stream file (default results/{STREAM})")
    parser.add_argument("--reps", type=int, default=20, help="timed passes per client")
    parser.add_argument("--profile-passes", type=int, default=5)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--quiet-cpu", type=float, default=10.0)
    parser.add_argument("--wait-quiet", type=float, default=30.0, metavar="S",
                        help="before each pair of passes wait up to S s for quiet")
    parser.add_argument("--out", default="client_overhead.json")
    args = parser.parse_args(argv)
    path = Path(args.stream) if args.stream else results_path(STREAM)
    if args.record or not path.exists():
        t = now()
        raw = asyncio.run(record(path))
        print(f"  recorded {len(raw)} events in {now() - t:.0f}s -> {path}", file=sys.stderr)
    raw = load_stream(path)
    kinds = Counter(json.loads(r)["type"] for r in raw)
    audio_mb = sum(len(r) for r in raw if '"response.output_audio.delta"' in r) / 1e6
    print(f"  stream: {len(raw)} events, {audio_mb:.1f} MB of audio deltas (base64 JSON)",
          file=sys.stderr)

    async def go() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        res = await measure(raw, args)
        prof = await profile(RtnbClient, raw, args.profile_passes, args.top)
        prof_agents = await profile(AgentsClient, raw, max(1, args.profile_passes // 2),
                                    args.top)
        return res, prof, prof_agents

    res, prof, prof_agents = asyncio.run(go())
    print(f"\nclient overhead on one recorded stream: {res['events']} server events, "
          f"{res['reps']} passes each (median CPU)\n")
    print("| client | CPU ms / pass | us / event | events / s | net us / event | "
          "net events / s |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in ("rtnb", "openai-agents", "bare loop"):
        r = res[name]
        print(f"| {name} | {r['cpu_s_median'] * 1000:.1f} | {r['us_per_event']:.1f} | "
              f"{r['events_per_s']} | {r.get('net_us_per_event', '-')} | "
              f"{r.get('net_events_per_s', '-')} |")
    print(f"\nratio rtnb / openai-agents: {res['ratio']} (net of the bare loop "
          f"{res['ratio_net']}, best passes {res['ratio_min']}); json.loads alone "
          f"{res.get('json_loads_us_per_event')} us/event (both clients pay it); other CPU "
          f"before passes max {max(res['foreign_cpu_before_pct'])}%")
    print(f"\nrtnb profile ({prof['total_ms_per_pass']} ms per pass under cProfile), top self "
          f"time:\n")
    print("| file:line:function | calls / pass | self ms | cum ms | self % |")
    print("|---|---:|---:|---:|---:|")
    for r in prof["top_self"]:
        print(f"| {r['where']} | {r['calls']} | {r['self_ms']} | {r['cum_ms']} | "
              f"{r['self_pct']} |")
    print("\nrtnb functions by cumulative time:\n")
    print("| file:line:function | calls / pass | self ms | cum ms |")
    print("|---|---:|---:|---:|")
    for r in prof["top_cumulative_rtnb"]:
        print(f"| {r['where']} | {r['calls']} | {r['self_ms']} | {r['cum_ms']} |")
    payload = {"benchmark": "client_overhead", "rev": git_rev(), "machine": machine(),
               "setup": {"stream": str(path), "script": SCRIPT, "reps": args.reps,
                         "event_types": dict(kinds.most_common()),
                         "quiet_cpu_pct": args.quiet_cpu, "wait_quiet_s": args.wait_quiet},
               **res, "profile_rtnb": prof, "profile_agents": prof_agents}
    print(f"wrote {write_json(args.out, payload)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
