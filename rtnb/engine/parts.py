"""The engine's parts: :class:`Engine`, the bag of pluggable parts every connection uses,
and its defaults: Silero VAD, Whisper tiny.en, Piper, the rule brain, and Smart Turn v3.2
for semantic_vad when it is installed (``rtnb[turn]``).

Models are loaded once per process and shared by every engine and session.
"""

from __future__ import annotations

import asyncio
import functools
import time
import warnings
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..models import LOCAL as LOCAL_MODEL
from .asr_worker import AsrWorker
from .auth import Auth
from .brain.base import Brain
from .speech_cache import SentenceCache
from .tts_scheduler import AHEAD_S, SECONDS_PER_CHAR, TtsScheduler, clock


@dataclass(frozen=True)
class PreparedSpeech:
    """The first sentence of a likely reply, being synthesized (see :meth:`Engine.prepare`)."""

    sentence: str
    voice: str
    speed: float
    future: asyncio.Future

    def matches(self, sentence: str, voice: str, speed: float) -> bool:
        return (self.sentence, self.voice, self.speed) == (sentence, voice, speed)

    def cancel(self) -> None:
        self.future.cancel()


@dataclass
class EngineStats:
    """How often prepared first sentences were prepared and used (any thread may read)."""

    prepared: int = 0
    prepared_used: int = 0


@dataclass
class Engine:
    """The pluggable parts: VAD, ASR, TTS, the end-of-turn model and brain, plus auth and
    worker threads. ``turn_model`` (``probability(pcm24) -> float``) is optional:
    without it semantic_vad ends turns on silence windows alone."""

    brain: Brain
    asr: Any = None
    tts: Any = None
    vad_factory: Callable[[], Any] | None = None
    turn_model: Any = None
    model: str = LOCAL_MODEL
    auth: Auth = field(default_factory=Auth)
    #: One ASR thread for every session, batching requests that arrive together.
    asr_worker: AsrWorker = field(init=False, repr=False)
    #: The TTS workers for every session: first sentences before later ones.
    tts_scheduler: TtsScheduler = field(default_factory=TtsScheduler)
    stats: EngineStats = field(default_factory=EngineStats)
    #: Recently synthesized sentences (a templated brain repeats itself); max_bytes=0: off.
    tts_cache: SentenceCache = field(default_factory=SentenceCache)
    #: With a predictable brain, prepare each reply's first sentence in the silence window
    #: (see :meth:`prepare`). False: every response synthesizes from scratch.
    prepare_speech: bool = True
    turn_pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="rtnb-turn"))

    def __post_init__(self) -> None:
        self.asr_worker = AsrWorker(lambda: self.asr)

    @classmethod
    def load(cls, brain: Brain | str | None = None, *, token: str | None = None,
             progress: Callable[[str], None] | None = None) -> Engine:
        """Load the offline speech models (shared per process) and warm them up."""
        return build_engine(cls, brain=brain, token=token, progress=progress)

    def describe(self) -> dict[str, str]:
        return {"vad": "silero-v6" if self.vad_factory else "none",
                "asr": getattr(self.asr, "name", "none"),
                "tts": getattr(self.tts, "name", "none"),
                "turn": getattr(self.turn_model, "name", "none"),
                "brain": getattr(self.brain, "name", "custom")}

    def _sentence_tts(self) -> bool:
        return hasattr(self.tts, "plan") and hasattr(self.tts, "synthesize_sentence")

    def _sentence(self, sentence: str, voice: str, speed: float,
                  deadline: float | None = None) -> asyncio.Future:
        """The audio of one sentence: from :attr:`tts_cache` at once, else a scheduler job."""
        pcm = self.tts_cache.get(sentence, voice, speed)
        if pcm is not None:
            future = asyncio.get_running_loop().create_future()
            future.set_result(pcm)
            return future

        def work() -> bytes:
            pcm = self.tts.synthesize_sentence(sentence, voice=voice, speed=speed)
            self.tts_cache.put(sentence, voice, speed, pcm)
            return pcm

        return self.tts_scheduler.submit(work, deadline)

    def prepare(self, text: str, voice: str, speed: float, due_in_s: float = 0.0
                ) -> PreparedSpeech | None:
        """Start synthesizing the first sentence of a reply that is likely to come.

        :meth:`synthesize` of the same text, voice and speed then uses it. The job is due
        in ``due_in_s`` (first sentences of replies already asked for go before it).
        None when the TTS has no sentence jobs or the text no sentence.
        """
        if not self._sentence_tts():
            return None
        sentences = self.tts.plan(text, voice=voice, speed=speed)
        if not sentences:
            return None
        self.stats.prepared += 1
        return PreparedSpeech(sentences[0], voice, speed,
                              self._sentence(sentences[0], voice, speed, clock() + due_in_s))

    async def synthesize(self, text: str, voice: str, speed: float,
                         prepared: PreparedSpeech | None = None
                         ) -> AsyncIterator[tuple[str, bytes]]:
        """Stream ``(sentence, pcm24)`` as each sentence is ready.

        A TTS with ``plan`` and ``synthesize_sentence`` (:class:`~.speech.tts.PiperTts`)
        goes through :attr:`tts_scheduler`, one sentence at a time: the first is due now,
        each later one when the audio before it would have played out, less a margin and
        its likely synthesis time. ``prepared`` (see
        :meth:`prepare`) stands in for the first sentence when it is the same sentence,
        voice and speed. Any other TTS (only ``synthesize``) runs its whole reply as one
        job.
        """
        if not self._sentence_tts():
            async for item in self._synthesize_whole(text, voice, speed):
                yield item
            return
        sentences = self.tts.plan(text, voice=voice, speed=speed)
        if not sentences:
            return
        if prepared is not None and prepared.matches(sentences[0], voice, speed) \
                and not prepared.future.cancelled():
            future = prepared.future
            self.stats.prepared_used += 1
        else:
            future = self._sentence(sentences[0], voice, speed)
        started: float | None = None
        sent_s = 0.0  # audio handed out so far
        try:
            for i, sentence in enumerate(sentences):
                pcm = await future
                if started is None:
                    started = clock()
                sent_s += len(pcm) / (2 * getattr(self.tts, "sample_rate", 24000))
                if i + 1 < len(sentences):
                    following = sentences[i + 1]
                    future = self._sentence(following, voice, speed, started + sent_s - AHEAD_S
                                            - SECONDS_PER_CHAR * len(following))
                yield sentence, pcm
        finally:
            future.cancel()  # a reply cut short: its next sentence is not synthesized

    async def _synthesize_whole(self, text: str, voice: str, speed: float
                                ) -> AsyncIterator[tuple[str, bytes]]:
        """A TTS without sentence jobs: its ``synthesize`` runs as one scheduler job."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        stop = False
        done = object()

        def work() -> None:
            try:
                for item in self.tts.synthesize(text, voice=voice, speed=speed):
                    if stop:
                        break
                    loop.call_soon_threadsafe(queue.put_nowait, item)
            except BaseException as exc:  # re-raised on the loop side
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, done)

        self.tts_scheduler.submit(work)
        try:
            while True:
                item = await queue.get()
                if item is done:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop = True  # the worker ends after its current sentence


@functools.lru_cache(maxsize=1)
def default_asr() -> Any:
    from .speech.asr import WhisperAsr

    with warnings.catch_warnings():
        # faster-whisper imports huggingface_hub, which imports tqdm.auto; in a kernel
        # without ipywidgets that warns "IProgress not found", about progress bars rtnb
        # never shows (the model is a local directory). The panel says what is missing.
        warnings.filterwarnings("ignore", message="IProgress not found")
        asr = WhisperAsr()
    asr.warmup()
    return asr


@functools.lru_cache(maxsize=1)
def default_tts() -> Any:
    from .speech.tts import PiperTts

    tts = PiperTts()
    tts.warmup()
    return tts


@functools.lru_cache(maxsize=1)
def default_turn_model() -> Any:
    """Smart Turn v3.2, or ``None`` when pipecat-ai (which ships it) is not installed."""
    from .speech import smart_turn

    if not smart_turn.available():
        return None
    model = smart_turn.SmartTurn()
    model.warmup()
    return model


def vad_factory() -> Any:
    from .speech.vad import SileroVad

    return SileroVad()


def build_engine(cls: type[Engine] = Engine, *, brain: Any = None, token: str | None = None,
                 progress: Callable[[str], None] | None = None) -> Engine:
    """The engine (an instance of ``cls``) with the shared models; a brain with an endpoint
    is checked first.

    An unreachable brain endpoint is reported through ``progress`` (else as a
    ``RuntimeWarning``) before the models load; the engine still starts.
    """
    from .brain import check_endpoint, make_brain

    if brain is None or isinstance(brain, str):
        brain = make_brain(brain)
    problem = check_endpoint(brain)
    if problem is not None:
        warn = progress or (lambda msg: warnings.warn(msg, RuntimeWarning, stacklevel=4))
        warn(f"warning: {problem}; every response will fail until it answers")
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    say("loading VAD (Silero v6)")
    vad_factory().process(b"\x00" * 3072)
    say("loading ASR (Whisper tiny.en)")
    asr = default_asr()
    say("loading TTS (Piper, joe medium)")
    tts = default_tts()
    say("loading the end-of-turn model (Smart Turn v3.2)")
    turn_model = default_turn_model()
    if turn_model is None:
        say("end-of-turn model not installed: semantic_vad uses silence windows alone")
    say(f"models ready in {time.perf_counter() - t0:.1f}s")
    return cls(brain=brain, asr=asr, tts=tts, vad_factory=vad_factory, turn_model=turn_model,
               auth=Auth(token))
