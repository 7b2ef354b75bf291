"""The ``rtnb`` command: ``rtnb serve`` runs the engine, ``rtnb demo`` talks to it.

Arguments are checked before any model loads: a bad ``--port`` or ``--brain`` is a
one-line usage error (exit 2), and a busy port is found by binding it first (exit 1).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import ipaddress
import logging
import os
import signal
import socket
import sys

DESCRIPTION = ("Realtime voice agents in Jupyter. 'rtnb serve' runs the local realtime "
               "engine (the OpenAI Realtime protocol on loopback, offline speech models); "
               "'rtnb demo' starts it and holds a short spoken conversation; 'rtnb eval' "
               "runs a voice agent test suite.")


class _Parser(argparse.ArgumentParser):
    """argparse, with each error on one line (no usage block above it)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 0 to 65535 (0 picks a free one)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is out of range; use 0 to 65535 "
                                         "(0 picks a free port)")
    return port


def main(argv: list[str] | None = None) -> int:
    from . import __version__

    parser = _Parser(prog="rtnb", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"rtnb {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{serve,demo,eval}")

    serve = sub.add_parser("serve", help="run the local realtime engine",
                           description="Run the local realtime engine: WebSocket "
                                       "/v1/realtime and the HTTP API on one port.")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default 127.0.0.1, loopback only)")
    serve.add_argument("--port", type=port_number, default=8765,
                       help="port, 0 to 65535 (default 8765; 0 picks a free one)")
    serve.add_argument("--token", default=os.environ.get("RTNB_TOKEN"),
                       help="require this bearer token (default: $RTNB_TOKEN, else none)")
    serve.add_argument("--brain", default=os.environ.get("RTNB_BRAIN"),
                       help="OpenAI-compatible chat-completions URL for the text step, "
                            "e.g. http://127.0.0.1:11434/v1#llama3.2 (default: $RTNB_BRAIN, "
                            "else the rule-based brain); checked at start")
    serve.add_argument("--log-level", default="warning",
                       choices=["debug", "info", "warning", "error"],
                       help="engine log level (default warning: one line per failed turn)")

    demo = sub.add_parser("demo", help="start the engine and hold a short spoken conversation")
    demo.add_argument("--say", action="append",
                      help="what the synthetic user says (repeatable)")
    demo.add_argument("--out", default="rtnb-demo",
                      help="folder for the recording (default rtnb-demo)")

    from .evals.cli import add_parser as add_eval

    add_eval(sub)

    args = parser.parse_args(argv)
    if args.command == "eval":
        from .evals.cli import run_cli

        return run_cli(args)
    if args.command == "serve":
        from .engine.brain import make_brain

        try:
            brain = make_brain(args.brain)
        except ValueError as exc:
            serve.error(f"argument --brain: {exc}")
        logging.basicConfig(level=args.log_level.upper(),
                            format="%(asctime)s %(name)s %(levelname)s %(message)s")
        return _serve(args, brain)
    from .demo import run_demo

    return run_demo(args.say, args.out)


def _say(msg: str) -> None:
    print(f"rtnb: {msg}", file=sys.stderr, flush=True)


def _serve(args: argparse.Namespace, brain: object) -> int:
    from .engine.server import Engine, EngineServer, bind

    try:  # before the models load, so a busy port fails in well under a second
        sock = bind(args.host, args.port)
    except OSError as exc:
        hint = ("; another program (another rtnb serve?) uses it: pass --port 0 to pick a "
                "free port" if exc.errno == errno.EADDRINUSE else "")
        reason = (os.strerror(exc.errno) if isinstance(exc.errno, int) and exc.errno > 0
                  else exc.strerror or str(exc))
        _say(f"cannot listen on {args.host}:{args.port}: {reason}{hint}")
        return 1
    if not args.token and not _is_loopback(sock):
        _say(f"warning: listening on {args.host} without --token: anyone who can reach "
             "this port can use the engine; pass --token or set RTNB_TOKEN")
    try:
        engine = Engine.load(brain, token=args.token, progress=_say)
    except Exception as exc:
        sock.close()
        _say(f"cannot load the engine: {exc}")
        return 1

    async def run() -> int:
        server = EngineServer(engine, sock=sock)
        await server.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        auth = "bearer token required" if args.token else "no token"
        print(f"rtnb engine listening on {server.url} ({auth})", flush=True)
        await stop.wait()
        _say("stopping")
        await server.stop()
        return 0

    return asyncio.run(run())


def _is_loopback(sock: socket.socket) -> bool:
    host = sock.getsockname()[0]
    return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
