"""Engine.synthesize and Engine.prepare: sentence jobs, the sentence cache, prepared speech."""

from __future__ import annotations

import threading

import pytest

from rtnb.engine.brain.rules import RuleBrain
from rtnb.engine.parts import Engine
from rtnb.engine.speech_cache import SentenceCache
from rtnb.engine.tts_scheduler import AHEAD_S, SECONDS_PER_CHAR


class CountingTts:
    """Sentences are split at "|"; each is 100 ms of audio whose samples spell its index."""

    name = "counting"
    sample_rate = 24000

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, float]] = []
        self.gate = threading.Event()
        self.gate.set()

    def plan(self, text: str, voice: str = "alloy", speed: float = 1.0) -> list[str]:
        if voice == "nova":
            raise ValueError("unknown voice 'nova'")
        return [s for s in text.split("|") if s]

    def synthesize_sentence(self, sentence: str, voice: str = "alloy", speed: float = 1.0
                            ) -> bytes:
        self.gate.wait(5)
        self.calls.append((sentence, voice, speed))
        return len(self.calls).to_bytes(2, "little") * 2400

    def synthesize(self, text, voice="alloy", speed=1.0):
        return ((s, self.synthesize_sentence(s, voice, speed)) for s in self.plan(text, voice))


@pytest.fixture
def engine():
    e = Engine(brain=RuleBrain(), tts=CountingTts())
    yield e
    e.tts_scheduler.close()


async def spoken(engine, text, voice="alloy", speed=1.0, prepared=None):
    return [s async for s, _ in engine.synthesize(text, voice, speed, prepared)]


async def test_sentences_in_order_and_a_repeated_sentence_comes_from_the_cache(engine):
    assert await spoken(engine, "One.|Two.") == ["One.", "Two."]
    assert await spoken(engine, "One.|Three.") == ["One.", "Three."]
    assert [c[0] for c in engine.tts.calls] == ["One.", "Two.", "Three."]
    assert engine.tts_cache.stats.hits == 1
    assert await spoken(engine, "One.", voice="ash") == ["One."]  # another voice: new audio
    assert engine.tts.calls[-1] == ("One.", "ash", 1.0)


async def test_no_cache_when_it_is_off(engine):
    engine.tts_cache = SentenceCache(max_bytes=0)
    await spoken(engine, "One.")
    await spoken(engine, "One.")
    assert len(engine.tts.calls) == 2


async def test_a_bad_voice_is_refused_before_any_work(engine):
    with pytest.raises(ValueError, match="nova"):
        await spoken(engine, "One.", voice="nova")
    assert engine.tts.calls == []


async def test_the_prepared_first_sentence_is_used_once_and_only_when_it_matches(engine):
    prepared = engine.prepare("Hello.|More.", "alloy", 1.0)
    assert prepared.sentence == "Hello." and await prepared.future
    assert await spoken(engine, "Hello.|More.", prepared=prepared) == ["Hello.", "More."]
    assert engine.stats.prepared == 1 and engine.stats.prepared_used == 1
    other = engine.prepare("Bye.", "alloy", 1.0)
    await spoken(engine, "Bye.", voice="ash", prepared=other)  # another voice: not used
    assert engine.stats.prepared_used == 1
    assert [c[0] for c in engine.tts.calls] == ["Hello.", "More.", "Bye.", "Bye."]


async def test_a_later_sentence_is_due_when_the_audio_before_it_has_played(engine):
    due: list[float | None] = []
    submit = engine.tts_scheduler.submit

    def spy(work, deadline=None):
        due.append(deadline)
        return submit(work, deadline)

    engine.tts_scheduler.submit = spy
    async for _ in engine.synthesize("One.|Two.|Three.", "alloy", 1.0):
        pass
    assert due[0] is None  # the first sentence: now
    # 100 ms of audio per sentence: each later one is due AHEAD_S, and its own likely
    # synthesis time, before the audio sent so far has played (from the first's arrival).
    longer = SECONDS_PER_CHAR * (len("Three.") - len("Two."))
    assert due[2] - due[1] == pytest.approx(0.1 - longer, abs=1e-6)
    assert AHEAD_S > 0.1


async def test_a_reply_cut_short_drops_its_next_sentence(engine):
    stream = engine.synthesize("One.|Two.|Three.", "alloy", 1.0)
    engine.tts.gate.clear()
    first = stream.__anext__()
    engine.tts.gate.set()
    assert (await first)[0] == "One."
    engine.tts.gate.clear()  # "Two." is queued or held while the listener hangs up
    await stream.aclose()
    engine.tts.gate.set()
    engine.tts_scheduler.close()
    assert [c[0] for c in engine.tts.calls] in (["One."], ["One.", "Two."])
    assert "Three." not in [c[0] for c in engine.tts.calls]


def test_the_cache_is_bounded_in_bytes_least_recently_used_first_out():
    cache = SentenceCache(max_bytes=10)
    cache.put("a", "alloy", 1.0, b"x" * 4)
    cache.put("b", "alloy", 1.0, b"x" * 4)
    assert cache.get("a", "alloy", 1.0) == b"x" * 4  # "a" is now the most recent
    cache.put("c", "alloy", 1.0, b"x" * 4)  # over 10 bytes: "b" goes
    assert cache.get("b", "alloy", 1.0) is None
    assert cache.get("a", "alloy", 1.0) and cache.get("c", "alloy", 1.0)
    assert cache.size_bytes == 8
    cache.put("huge", "alloy", 1.0, b"x" * 11)  # larger than the cache: not kept
    assert cache.get("huge", "alloy", 1.0) is None and cache.size_bytes == 8
    assert (cache.stats.hits, cache.stats.misses) == (3, 2)
    with pytest.raises(ValueError):
        SentenceCache(max_bytes=-1)
