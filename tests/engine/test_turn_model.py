"""semantic_vad's end-of-turn model: the core's effect and report, and the real model.

The core tests use a stand-in VAD and answer :class:`PredictTurnEnd` by hand. The model
tests load Smart Turn v3.2 from the ``pipecat-ai`` wheel (``.ci/run`` installs it; they
skip when it is missing unless ``RTNB_REQUIRE_TURN_MODEL=1``) and run it on real
synthetic speech with a mid-sentence pause spliced in.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import time

import pytest

from rtnb.engine import turns
from rtnb.engine.core import PredictTurnEnd, RealtimeCore, Speculate, input_audio
from rtnb.engine.speech import smart_turn
from tests.engine.test_core import EnergyVad, events, send, silence, tone, types

needs_model = pytest.mark.skipif(
    not smart_turn.available() and os.environ.get("RTNB_REQUIRE_TURN_MODEL") != "1",
    reason=f"the Smart Turn model is not installed ({smart_turn.INSTALL_HINT})")

SEMANTIC = {"type": "semantic_vad", "eagerness": "medium", "create_response": False}


def semantic_core(turn_model: bool = True, td: dict | None = None) -> RealtimeCore:
    c = RealtimeCore(vad_factory=EnergyVad, turn_model=turn_model)
    send(c, type="session.update", session={"type": "realtime", "audio": {"input": {
        "turn_detection": td or SEMANTIC}}})
    return c


def asks(out) -> list[PredictTurnEnd]:
    return [o for o in out if isinstance(o, PredictTurnEnd)]


# -- the core: effect, report, staleness (stand-in VAD, no model) ---------------------------


def test_core_asks_once_per_pause_with_the_speech_up_to_the_last_voiced_frame():
    c = semantic_core()
    out = c.feed_audio(silence(320) + tone(640))
    assert asks(out) == []
    out = c.feed_audio(silence(turns.PREDICT_AFTER_MS - 32))  # too short a gap to ask about
    assert asks(out) == []
    out = c.feed_audio(silence(64))
    (ask,) = asks(out)
    start, end = ask.key
    assert end == 960 and start == 320 - 300  # speech start with its prefix padding
    assert ask.audio == c.input_audio.slice(start, end)
    assert len(ask.audio) == (end - start) * 48
    assert asks(c.feed_audio(silence(300))) == []  # asked once for this pause


def test_unanswered_pause_waits_and_a_finished_answer_ends_the_turn_at_once():
    c = semantic_core()
    c.feed_audio(silence(320) + tone(640))
    (ask,) = asks(c.feed_audio(silence(800)))  # well past medium's 500 ms window
    assert "input_audio_buffer.speech_stopped" not in types(c.feed_audio(silence(100)))
    out = c.turn_predicted(ask.key, 0.9)
    assert types(out)[:2] == ["input_audio_buffer.speech_stopped",
                              "input_audio_buffer.committed"]
    assert events(out)[0]["audio_end_ms"] == ask.key[1]
    assert c.turn_predicted(ask.key, 0.9) == []  # a second answer changes nothing


def test_unfinished_answer_waits_for_the_longest_wait():
    c = semantic_core()
    c.feed_audio(silence(320) + tone(640))
    (ask,) = asks(c.feed_audio(silence(turns.PREDICT_AFTER_MS + 32)))
    assert c.turn_predicted(ask.key, 0.1) == []
    stopped_at = None
    for _ in range(200):  # 20 ms appends, up to 4 s
        if "input_audio_buffer.speech_stopped" in types(c.feed_audio(silence(20))):
            stopped_at = c.audio_clock_ms
            break
    _, _, threshold = turns.EAGERNESS["medium"]
    assert threshold > 0.1
    assert stopped_at is not None
    assert 960 + 4000 <= stopped_at <= 960 + 4000 + turns.FRAME_MS + 20


def test_finished_answer_before_the_window_ends_the_turn_at_the_window():
    c = semantic_core()
    c.feed_audio(silence(320) + tone(640))
    (ask,) = asks(c.feed_audio(silence(turns.PREDICT_AFTER_MS + 32)))
    assert c.turn_predicted(ask.key, 0.8) == []  # window not over yet
    out = []
    while "input_audio_buffer.speech_stopped" not in types(out):
        out = c.feed_audio(silence(20))
    window, _, _ = turns.EAGERNESS["medium"]
    assert 960 + window <= c.audio_clock_ms <= 960 + window + turns.FRAME_MS + 20


def test_stale_answer_after_the_user_resumed_is_ignored():
    c = semantic_core()
    c.feed_audio(silence(320) + tone(640))
    (old,) = asks(c.feed_audio(silence(turns.PREDICT_AFTER_MS + 32)))
    c.feed_audio(tone(320))  # the user goes on
    assert not c.turn_prediction_wanted(old.key)
    assert c.turn_predicted(old.key, 0.99) == []
    (new,) = asks(c.feed_audio(silence(800)))
    assert new.key[0] == old.key[0] and new.key[1] > old.key[1]
    assert "input_audio_buffer.speech_stopped" not in types(c.feed_audio(silence(100)))
    assert c.turn_prediction_wanted(new.key)
    assert "input_audio_buffer.speech_stopped" in types(c.turn_predicted(new.key, 0.99))


def test_a_failed_prediction_lets_the_silence_window_decide():
    c = semantic_core()
    c.feed_audio(silence(320) + tone(640))
    (ask,) = asks(c.feed_audio(silence(600)))
    assert "input_audio_buffer.speech_stopped" in types(c.turn_predicted(ask.key, None))


def test_server_vad_never_asks_the_model():
    c = semantic_core(td={"type": "server_vad", "create_response": False})
    out = c.feed_audio(silence(320) + tone(640) + silence(700))
    assert asks(out) == []
    assert "input_audio_buffer.speech_stopped" in types(out)


def test_without_the_model_semantic_vad_uses_its_window_and_says_so_once(caplog,
                                                                         monkeypatch):
    monkeypatch.setattr(input_audio, "_warned_no_turn_model", False)
    with caplog.at_level(logging.WARNING, logger="rtnb.engine"):
        c = semantic_core(turn_model=False)
        semantic_core(turn_model=False)
    warnings = [r for r in caplog.records if "end-of-turn model is not installed" in r.message]
    assert len(warnings) == 1 and "rtnb[turn]" in warnings[0].message
    window, _, _ = turns.EAGERNESS["medium"]
    out = c.feed_audio(silence(320) + tone(640) + silence(window - 40))
    assert asks(out) == [] and any(isinstance(o, Speculate) for o in out)
    assert "input_audio_buffer.speech_stopped" not in types(out)
    out = c.feed_audio(silence(80))
    assert "input_audio_buffer.speech_stopped" in types(out)


def test_eagerness_maps_to_threshold_window_and_openai_longest_waits():
    cfgs = {e: turns.TurnConfig.from_wire({"type": "semantic_vad", "eagerness": e})
            for e in ("low", "medium", "high", "auto")}
    assert [cfgs[e].max_wait_ms for e in ("low", "medium", "high")] == [8000, 4000, 2000]
    assert cfgs["auto"] == cfgs["medium"]
    # More eager: shorter window, and the words count as finished sooner.
    assert (cfgs["high"].silence_duration_ms < cfgs["medium"].silence_duration_ms
            < cfgs["low"].silence_duration_ms)
    assert (cfgs["high"].finished_threshold < cfgs["medium"].finished_threshold
            < cfgs["low"].finished_threshold)
    assert turns.TurnConfig.from_wire({"type": "server_vad"}).finished_threshold is None


# -- the real model --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model():
    m = smart_turn.SmartTurn()
    m.warmup()
    return m


@needs_model
def test_model_file_ships_with_its_bsd_licence():
    path = smart_turn.default_model_path()
    licence = smart_turn.license_path().read_text()
    assert "BSD 2-Clause" in licence and "Redistribution and use" in licence
    import importlib.metadata

    dist = importlib.metadata.distribution(smart_turn.DISTRIBUTION)
    shipped = {dist.locate_file(f).resolve() for f in dist.files or []}
    assert path.resolve() in shipped  # the licence and the model come in the same wheel


@needs_model
def test_model_input_is_what_the_file_declares(model):
    import onnxruntime as ort

    sess = ort.InferenceSession(str(smart_turn.default_model_path()),
                                providers=["CPUExecutionProvider"])
    (inp,) = sess.get_inputs()
    assert inp.name == "input_features" and inp.shape[1:] == [80, 800]
    import numpy as np

    x = np.random.default_rng(0).normal(0, 0.1, 16000 * 3).astype(np.float32)
    assert model.features(x).shape == (80, 800)
    w = smart_turn.window(x)
    assert w.shape == (128000,) and abs(float(w.mean())) < 1e-5
    assert abs(float(w.std()) - 1) < 1e-3
    assert 0.0 <= model.probability(x) <= 1.0


@needs_model
@pytest.mark.slow
def test_model_tells_unfinished_words_from_finished_ones(model, speech):
    for voice in ("alloy", "echo"):
        for text, prefix in [("My phone number is 555 123 4567.", "My phone number is"),
                             ("How much is a train ticket to Boston?",
                              "How much is a train ticket to")]:
            pcm, cut_ms = speech.paused(text, prefix, 1000, voice)
            head = pcm[:2 * round(24 * cut_ms)]
            assert model.probability(head) < 0.2, (voice, prefix)
            assert model.probability(speech.utterance(text, voice)) > 0.5, (voice, text)


def turn_stops(pcm: bytes, td: dict, model) -> list[int]:
    """``speech_stopped`` audio_end_ms values of ``pcm`` fed to a core with the real VAD."""
    from rtnb.engine.speech.vad import SileroVad

    c = RealtimeCore(vad_factory=SileroVad, turn_model=model is not None)
    send(c, type="session.update", session={"type": "realtime", "audio": {"input": {
        "turn_detection": {**td, "create_response": False}}}})
    stops = []

    def run(out):
        for o in out:
            if isinstance(o, PredictTurnEnd):
                run(c.turn_predicted(o.key, model.probability(o.audio)))
            elif isinstance(o, dict) and o["type"] == "input_audio_buffer.speech_stopped":
                stops.append(o["audio_end_ms"])

    for i in range(0, len(pcm), 960):
        run(c.feed_audio(pcm[i:i + 960]))
    return stops


@needs_model
@pytest.mark.slow
def test_paused_unfinished_sentence_keeps_its_turn_finished_one_ends(model, speech):
    """Acceptance, on the audio clock: RealtimeCore, real Silero VAD, real model."""
    text, prefix = "My phone number is 555 123 4567.", "My phone number is"
    pcm, cut_ms = speech.paused(text, prefix, 1200, "alloy")
    paused = speech.with_silence(pcm, 300, 4500)
    end_ms = 300 + len(pcm) / 48
    server = turn_stops(paused, {"type": "server_vad"}, None)
    semantic = turn_stops(paused, {"type": "semantic_vad", "eagerness": "medium"}, model)
    assert len(server) == 2 and server[0] < 300 + cut_ms + 100  # server_vad cut it in two
    assert len(semantic) == 1 and semantic[0] > end_ms - 200  # one turn, to the end

    finished = speech.with_silence(speech.utterance("What's the weather in Paris today?",
                                                    "alloy"), 300, 4500)
    assert len(turn_stops(finished, {"type": "semantic_vad", "eagerness": "medium"},
                          model)) == 1


@needs_model
@pytest.mark.slow
async def test_semantic_vad_through_the_sdk_with_real_time_pacing(engine, speech):
    """Acceptance through the protocol: the official SDK, the real engine, paced audio."""
    from openai import AsyncOpenAI

    from tests.wire import validate_server_event

    assert engine.server.engine.turn_model is not None
    text, prefix = "How much is a train ticket to Boston?", "How much is a train ticket to"
    pcm, cut_ms = speech.paused(text, prefix, 1200, "echo")
    finished = speech.utterance("What's the weather in Paris today?", "echo")
    _, longest, _ = turns.EAGERNESS["medium"]
    # The gap after the first sentence outlasts the longest wait: that turn ends whatever
    # the model says, so the second sentence is a turn of its own.
    gap = longest + 600
    audio = speech.with_silence(pcm, 300, gap) + speech.with_silence(finished, 0, 1500)
    resume_ms = 300 + cut_ms + 1200
    finished_end = 300 + len(pcm) / 48 + gap + len(finished) / 48
    client = AsyncOpenAI(api_key="local", websocket_base_url=engine.url)
    stopped: list[tuple[float, int]] = []  # (audio sent when received, audio_end_ms)
    sent = [0.0]
    async with client.realtime.connect(model="gpt-realtime-2.1") as conn:
        await conn.session.update(session={"type": "realtime", "audio": {"input": {
            "transcription": None, "turn_detection": SEMANTIC}}})

        async def receive():
            async for raw in _raw_events(conn):
                validate_server_event(json.loads(raw))
                ev = conn.parse_event(raw)
                if ev.type == "input_audio_buffer.speech_stopped":
                    stopped.append((sent[0], ev.audio_end_ms))
                    if len(stopped) == 2:
                        return

        reader = asyncio.create_task(receive())
        t0 = time.perf_counter()
        step = 20 * 48
        for k, i in enumerate(range(0, len(audio), step)):  # a 20 ms append every 20 ms
            await conn.input_audio_buffer.append(
                audio=base64.b64encode(audio[i:i + step]).decode())
            sent[0] += 20
            await asyncio.sleep(max(0.0, t0 + (k + 1) * 0.02 - time.perf_counter()))
        silence_20 = base64.b64encode(bytes(step)).decode()
        k = len(audio) // step
        while not reader.done() and k < len(audio) // step + longest // 20 + 100:
            await conn.input_audio_buffer.append(audio=silence_20)
            sent[0] += 20
            k += 1
            await asyncio.sleep(max(0.0, t0 + (k + 1) * 0.02 - time.perf_counter()))
        await asyncio.wait_for(reader, 5)
    (_, first), (sent_at_second, second) = stopped
    assert first > resume_ms  # the pause did not end the first turn
    assert second > finished_end - 300
    # The finished sentence's turn ended on the model's word, before medium's 4 s longest
    # wait (counted in audio streamed, not wall time, so a busy CPU does not fail it).
    assert sent_at_second - finished_end < longest


async def _raw_events(conn):
    while True:
        yield await conn.recv_bytes()


def test_every_install_route_pins_the_same_pipecat_ai():
    import re
    from pathlib import Path

    import tomllib

    root = Path(__file__).resolve().parents[2]
    (extra,) = tomllib.loads((root / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["turn"]
    assert extra.startswith("pipecat-ai==")
    for text in ((root / ".ci" / "run").read_text(), (root / "binder" / "postBuild").read_text(),
                 (root / "README.md").read_text(), smart_turn.INSTALL_HINT):
        assert set(re.findall(r"pipecat-ai==[\d.]+", text)) == {extra}
