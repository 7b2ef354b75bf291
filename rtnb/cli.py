"""The ``rtnb`` command: ``rtnb serve`` runs the engine, ``rtnb demo`` talks to it."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rtnb", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the local realtime engine")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default 127.0.0.1, loopback only)")
    serve.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")
    serve.add_argument("--token", default=os.environ.get("RTNB_TOKEN"),
                       help="require this bearer token (default: $RTNB_TOKEN, else none)")
    serve.add_argument("--brain", default=os.environ.get("RTNB_BRAIN"),
                       help="OpenAI-compatible chat-completions URL for the text step, "
                            "e.g. http://127.0.0.1:11434/v1#llama3.2 (default: rule-based)")
    serve.add_argument("--log-level", default="warning",
                       choices=["debug", "info", "warning", "error"])

    demo = sub.add_parser("demo", help="start the engine and hold a short spoken conversation")
    demo.add_argument("--say", action="append",
                      help="what the synthetic user says (repeatable)")
    demo.add_argument("--out", default="rtnb-demo", help="folder for the recording")

    args = parser.parse_args(argv)
    if args.command == "serve":
        logging.basicConfig(level=args.log_level.upper(),
                            format="%(asctime)s %(name)s %(levelname)s %(message)s")
        return _serve(args)
    from .demo import run_demo

    return run_demo(args.say, args.out)


def _serve(args: argparse.Namespace) -> int:
    from .engine.server import Engine, EngineServer

    def progress(msg: str) -> None:
        print(f"rtnb: {msg}", file=sys.stderr, flush=True)

    try:
        engine = Engine.load(args.brain, token=args.token, progress=progress)
    except Exception as exc:
        print(f"rtnb: cannot load the engine: {exc}", file=sys.stderr)
        return 1

    async def run() -> int:
        server = EngineServer(engine, args.host, args.port)
        try:
            await server.start()
        except OSError as exc:
            print(f"rtnb: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
            return 1
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        auth = "bearer token required" if args.token else "no token"
        print(f"rtnb engine listening on {server.url} ({auth})", flush=True)
        await stop.wait()
        print("rtnb: stopping", file=sys.stderr, flush=True)
        await server.stop()
        return 0

    return asyncio.run(run())
