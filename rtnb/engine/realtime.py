"""Drive one realtime connection: run the core's effects with the speech parts.

The core decides *what* happens; this module does the slow parts off the event
loop (ASR on the engine's shared :class:`~rtnb.engine.asr_worker.AsrWorker`, TTS in
worker threads, the brain as a coroutine) and feeds the results back to the core,
sending every server event it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .asr_worker import Heard
from .brain.base import BrainError, BrainReply, item_text
from .config import wants_logprobs
from .core import (
    CancelResponse,
    Discard,
    ListMcpTools,
    Output,
    PredictTurnEnd,
    RealtimeCore,
    Speculate,
    StartResponse,
    Transcribe,
)

if TYPE_CHECKING:
    from .parts import Engine, PreparedSpeech

log = logging.getLogger("rtnb.engine")

#: Most brain rounds in one response (each round may run MCP tools the next one reads).
MAX_TOOL_ROUNDS = 4
#: Audio deltas carry at most this much audio (ms); the first one is sent as soon as
#: the first sentence is synthesised.
CHUNK_MS = 200
IDLE_PROMPT = "Are you still there?"
#: A reply's first sentence prepared in the silence window is due this long after the
#: pause that started it (about when the window ends): replies already asked for go first.
PREPARE_DUE_S = 0.25


class RealtimeConnection:
    def __init__(self, engine: Engine, send: Callable[[dict[str, Any]], Awaitable[None]],
                 model: str, intent: str | None = None) -> None:
        self.engine = engine
        self.core = RealtimeCore(model=model, vad_factory=engine.vad_factory,
                                 turn_model=engine.turn_model is not None, intent=intent)
        self._send = send
        self._responses: dict[str, asyncio.Task] = {}
        self._transcripts: dict[str, asyncio.Future] = {}
        #: Speculative part decodes of the speech in progress, by key.
        self._speculative: dict[tuple[int, int], asyncio.Future] = {}
        #: The likely reply's first audio, prepared from a speculative part's transcript
        #: (with a predictable brain), by that part's key; then the committed turn's, then
        #: the response's that the turn started (by response id).
        self._prepared: dict[tuple[int, int], asyncio.Task] = {}
        self._turn_speech: asyncio.Task | None = None
        self._response_speech: dict[str, asyncio.Task] = {}
        self._tasks: set[asyncio.Task] = set()

    async def open(self) -> None:
        await self.dispatch(self.core.start())

    async def handle(self, message: str | bytes) -> None:
        await self.dispatch(self.core.receive(message))

    async def close(self) -> None:
        self._drop(list(self._speculative))
        self._unprepare(list(self._prepared))
        for task in [self._turn_speech, *self._response_speech.values()]:
            _cancel_prepared(task)
        tasks = [*self._responses.values(), *self._tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def dispatch(self, outputs: list[Output]) -> None:
        for out in outputs:
            if isinstance(out, dict):
                await self._send(out)
            elif isinstance(out, StartResponse):
                if self._turn_speech is not None:  # this response answers that turn
                    self._response_speech[out.response_id] = self._turn_speech
                    self._turn_speech = None
                task = asyncio.create_task(self._respond(out.response_id))
                self._responses[out.response_id] = task
                task.add_done_callback(lambda _t, rid=out.response_id:
                                       self._responses.pop(rid, None))
            elif isinstance(out, CancelResponse):
                task = self._responses.pop(out.response_id, None)
                if task is not None and task is not asyncio.current_task():
                    task.cancel()
            elif isinstance(out, Transcribe):
                self._transcripts[out.item_id] = asyncio.get_running_loop().create_future()
                ready = {key: self._speculative.pop(key) for key, _ in out.parts
                         if key in self._speculative}
                self._drop(list(self._speculative))  # nothing else is still valid
                _cancel_prepared(self._turn_speech)
                self._turn_speech = self._prepared.pop(out.key, None) \
                    if out.key is not None else None
                self._unprepare(list(self._prepared))
                self._spawn(self._transcribe(out, ready))
            elif isinstance(out, Speculate):
                context = [self._speculative.get(key) for key in out.context]
                decode = self._speculative[out.key] = asyncio.ensure_future(
                    self._decode(out.audio, context))
                self._unprepare(list(self._prepared))  # the user went on: stale guesses
                if self.engine.prepare_speech and getattr(self.engine.brain, "predictable",
                                                          False):
                    self._prepared[out.key] = asyncio.ensure_future(
                        self._prepare([*context, decode]))
            elif isinstance(out, Discard):
                self._drop(out.keys)
                self._unprepare(out.keys)
            elif isinstance(out, PredictTurnEnd):
                self._spawn(self._predict_turn_end(out))
            elif isinstance(out, ListMcpTools):
                self._spawn(self._list_mcp_tools(out))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _drop(self, keys: Any) -> None:
        for key in keys:
            fut = self._speculative.pop(key, None)
            if fut is not None:
                fut.cancel()  # the worker skips it unless it is already decoding

    def _unprepare(self, keys: Any) -> None:
        for key in keys:
            _cancel_prepared(self._prepared.pop(key, None))

    async def _prepare(self, decodes: list[asyncio.Future | None]) -> PreparedSpeech | None:
        """Start the first sentence of the reply the speech so far would get.

        Runs in the silence window, once the speculative decodes are in: the brain is
        asked what the response would ask it (:meth:`RealtimeCore.preview_request`), and
        the first sentence of its reply goes to the TTS. The response uses that audio when
        its reply starts with the same sentence (same voice and speed).
        """
        texts = []
        for decode in decodes:
            if decode is None:
                return None
            try:
                texts.append((await asyncio.shield(decode)).text)
            except Exception:  # the transcription reports the failure
                return None
        found = self.core.preview_request(" ".join(t for t in texts if t))
        if found is None:
            return None
        request, params = found
        reply = await self.engine.brain.respond(request)
        text, _ = _fit(reply.text or "", request.max_output_chars)
        if not text:
            return None
        return self.engine.prepare(text, params["voice"], params["speed"], PREPARE_DUE_S)

    async def _decode(self, pcm: bytes, context: list[asyncio.Future | None]) -> Heard:
        """What ``pcm`` says, prompted with the text of the parts before it."""
        before = []
        for fut in context:
            if fut is not None:
                with contextlib.suppress(Exception):
                    before.append((await asyncio.shield(fut)).text)
        prompt = " ".join(t for t in before if t) or None
        return await self._asr(pcm, prompt, wants_logprobs(self.core.session))

    async def _asr(self, pcm: bytes, prompt: str | None = None, logprobs: bool = False
                   ) -> Heard:
        """The shared ASR worker's transcript of ``pcm`` (with log probabilities if asked)."""
        got = await self.engine.asr_worker.submit(self, pcm, prompt, logprobs=logprobs)
        return got if isinstance(got, Heard) else Heard(got, None)

    # -- transcription -----------------------------------------------------------------------

    async def _transcribe(self, job: Transcribe, ready: dict[tuple[int, int], Any]) -> None:
        fut = self._transcripts[job.item_id]
        text = ""
        try:
            heard: list[Heard] = []
            for key, pcm in job.parts or [(None, job.audio)]:
                guess = ready.get(key) if key is not None else None
                if guess is None:
                    guess = self._asr(pcm, " ".join(h.text for h in heard if h.text) or None,
                                      job.logprobs)
                heard.append(await guess)
            text = " ".join(h.text for h in heard if h.text)
            logprobs = None
            if job.logprobs and all(h.logprobs is not None for h in heard):
                logprobs = [lp for h in heard if h.text for lp in h.logprobs or []]
            outputs = self.core.transcribed(job.item_id, text, job.emit, len(job.audio) / 48,
                                            logprobs)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an ASR failure must not end the session
            _log_failure(f"transcription of {job.item_id}", exc)
            outputs = self.core.transcription_failed(job.item_id, str(exc), job.emit)
        try:
            await self.dispatch(outputs)
        finally:
            if not fut.done():
                fut.set_result(text)

    # -- semantic_vad's end-of-turn model --------------------------------------------------

    async def _predict_turn_end(self, job: PredictTurnEnd) -> None:
        loop = asyncio.get_running_loop()
        try:
            p = await loop.run_in_executor(self.engine.turn_pool, self._turn_probability, job)
        except Exception:  # the silence window decides instead
            log.exception("end-of-turn prediction failed")
            p = None
        await self.dispatch(self.core.turn_predicted(job.key, p))

    def _turn_probability(self, job: PredictTurnEnd) -> float | None:
        """Runs in the model's thread; skips a pause the user has already talked over."""
        if not self.core.turn_prediction_wanted(job.key):
            return None
        return self.engine.turn_model.probability(job.audio)

    # -- MCP tools ---------------------------------------------------------------------------

    async def _list_mcp_tools(self, job: ListMcpTools) -> None:
        from .mcp_client import McpFailure, list_tools

        try:
            outputs = self.core.mcp_tools_listed(job.item_id, await list_tools(job.tool))
        except McpFailure as exc:
            outputs = self.core.mcp_tools_failed(job.item_id, str(exc))
        await self.dispatch(outputs)

    async def _run_mcp(self, rid: str, server: Any, name: str, arguments: str,
                       approval_request_id: str | None = None) -> None:
        """Run one MCP call inside response ``rid``, reporting it as it goes."""
        from .mcp_client import McpFailure, call_tool

        label = server.config["server_label"]
        await self.dispatch(self.core.output_mcp_call(rid, label, name, arguments,
                                                      approval_request_id))
        try:
            args = json.loads(arguments or "{}")
            output, error = await call_tool(server.config, name, args), None
        except McpFailure as exc:
            output, error = None, exc.error
        except ValueError as exc:
            output, error = None, {"type": "tool_execution_error",
                                   "message": f"The arguments are not JSON: {exc}"}
        await self.dispatch(self.core.output_mcp_result(rid, output, error))

    # -- responses ---------------------------------------------------------------------------

    async def _respond(self, rid: str) -> None:
        core = self.core
        try:
            for item_id in core.pending_transcripts(rid):
                fut = self._transcripts.get(item_id)
                if fut is not None:
                    await asyncio.shield(fut)
            approved = core.approved_call(rid)
            if approved is not None:
                found = core.mcp_tool(rid, approved["name"])
                if found is not None:
                    await self._run_mcp(rid, found[0], approved["name"], approved["arguments"],
                                        approved["id"])
            incomplete = False
            for _ in range(MAX_TOOL_ROUNDS):
                incomplete, ran_tools = await self._brain_round(rid)
                if incomplete or not ran_tools:
                    break
            await self.dispatch(core.finish(rid, "max_output_tokens" if incomplete else None))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _log_failure(f"response {rid}", exc)
            await self.dispatch(core.fail(rid, f"{type(exc).__name__}: {exc}"))
        finally:  # a reply without speech (text, a tool call) leaves its preparation
            _cancel_prepared(self._response_speech.pop(rid, None))

    async def _brain_round(self, rid: str) -> tuple[bool, bool]:
        """Ask the brain once and output its reply: ``(cut at the token limit, ran MCP tools)``.

        Function calls go to the client; MCP calls run here (or wait for approval), and
        the next round reads their results.
        """
        core = self.core
        request = core.brain_request(rid)
        if _after_idle_timeout(request.history):
            reply = BrainReply(text=IDLE_PROMPT)
        else:
            reply = await self.engine.brain.respond(request)
        text, incomplete = _fit(reply.text or "", request.max_output_chars)
        if text:
            await self.dispatch(core.output_message(rid))
            params = core.responses[rid].params
            if "audio" in params["output_modalities"]:
                async for piece, pcm in self._speak(rid, text, params["voice"],
                                                    params["speed"]):
                    await self.dispatch(core.output_chunk(rid, piece, pcm))
            else:
                for piece in _text_pieces(text):
                    await self.dispatch(core.output_chunk(rid, piece))
            await self.dispatch(core.output_message_done(rid))
        ran = False
        if not incomplete:
            for call in reply.tool_calls:
                arguments = json.dumps(call.arguments)
                mcp = core.mcp_tool(rid, call.name)
                if mcp is None:
                    await self.dispatch(core.output_function_call(rid, call.name, arguments))
                elif mcp[1]:  # needs approval: the client's answer starts the next response
                    await self.dispatch(core.output_mcp_approval_request(
                        rid, mcp[0].config["server_label"], call.name, arguments))
                else:
                    await self._run_mcp(rid, mcp[0], call.name, arguments)
                    ran = True
        return incomplete, ran

    async def _speak(self, rid: str, text: str, voice: str, speed: float
                     ) -> AsyncIterator[tuple[str, bytes]]:
        """Yield ``(text piece, pcm)`` chunks of at most CHUNK_MS, sentence by sentence.

        The first reply of a turn may use the audio prepared in its silence window.
        """
        prepared = None
        task = self._response_speech.pop(rid, None)
        if task is not None:
            try:
                prepared = await asyncio.shield(task)
            except asyncio.CancelledError:
                if not task.cancelled():  # this response was cancelled, not the task
                    _cancel_prepared(task)
                    raise
            except Exception:  # a failed preparation: synthesize as usual
                log.debug("preparing the first sentence failed", exc_info=True)
        first = True
        try:
            async for sentence, pcm in self.engine.synthesize(text, voice, speed, prepared):
                prefix = "" if first else " "
                first = False
                for piece, chunk in _align(prefix + sentence, pcm, CHUNK_MS * 48):
                    yield piece, chunk
        finally:
            if prepared is not None:
                prepared.cancel()  # not used, or the reply was cut: nobody wants it


def _cancel_prepared(task: asyncio.Task | None) -> None:
    """Stop a preparation: the task if it still runs, else the synthesis it started."""
    if task is None:
        return
    if not task.done():
        task.cancel()
    elif not task.cancelled() and task.exception() is None and task.result() is not None:
        task.result().cancel()


def _log_failure(what: str, exc: Exception) -> None:
    """One log line per failure (the client gets the message too); the traceback at DEBUG.

    A brain error (its endpoint is down, refused the key...) is about the setup, so its
    line is the whole story; anything else also says where to find the traceback.
    """
    message = " ".join(str(exc).split())
    if isinstance(exc, BrainError):
        log.error("%s failed: %s", what, message)
    else:
        log.error("%s failed: %s: %s (--log-level debug shows the traceback)", what,
                  type(exc).__name__, message)
    log.debug("%s failed", what, exc_info=exc)


def _align(text: str, pcm: bytes, chunk_bytes: int) -> list[tuple[str, bytes]]:
    """Split audio into chunks and give each the words spoken in it (by character share)."""
    chunk_bytes -= chunk_bytes % 2
    chunks = [pcm[i:i + chunk_bytes] for i in range(0, len(pcm), chunk_bytes)] or [b""]
    words = text.split(" ")
    bounds = []  # character offset of the end of each word (with its separator)
    pos = 0
    for i, word in enumerate(words):
        pos += len(word) + (1 if i < len(words) - 1 else 0)
        bounds.append(pos)
    total = max(1, len(text))
    out = []
    start = 0
    sent = 0
    for index, chunk in enumerate(chunks):
        end_frac = (index + 1) / len(chunks)
        while sent < len(words) and bounds[sent] / total <= end_frac + 1e-9:
            sent += 1
        cut = bounds[sent - 1] if sent else 0
        out.append((text[start:cut], chunk))
        start = cut
    if start < len(text):
        last_piece, last_chunk = out[-1]
        out[-1] = (last_piece + text[start:], last_chunk)
    return out


def _text_pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


def _fit(text: str, max_chars: int | None) -> tuple[str, bool]:
    if max_chars is None or len(text) <= max_chars:
        return text, False
    cut = text[:max_chars].rsplit(" ", 1)[0]
    return cut, True


def _after_idle_timeout(history: list[dict]) -> bool:
    """True when the last item is the empty user turn an idle timeout committed."""
    if not history:
        return False
    last = history[-1]
    return (last.get("role") == "user" and last.get("type") == "message"
            and any(p.get("type") == "input_audio" for p in last.get("content") or [])
            and item_text(last) == "")
