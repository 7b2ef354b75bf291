"""The I/O layer runs the core's ASR effects on the engine's one worker: parts are reused."""

from __future__ import annotations

import asyncio
import base64
import json
import threading

from rtnb.engine.brain import make_brain
from rtnb.engine.parts import Engine
from rtnb.engine.realtime import RealtimeConnection
from tests.engine.test_core import EnergyVad, silence, tone


class CountingAsr:
    """Names each decode after its audio length; records every job."""

    def __init__(self) -> None:
        self.jobs: list[tuple[int, str | None]] = []
        self.lock = threading.Lock()

    def transcribe_batch(self, jobs):
        with self.lock:
            self.jobs.extend((len(pcm) // 48, prompt) for pcm, prompt in jobs)
        return [f"part{len(pcm) // 48 // 100}" for pcm, _ in jobs]


async def run_turn(pcm: bytes) -> tuple[CountingAsr, list[dict]]:
    asr = CountingAsr()
    engine = Engine(brain=make_brain(None), asr=asr, vad_factory=EnergyVad)
    sent: list[dict] = []

    async def send(event: dict) -> None:
        sent.append(event)

    conn = RealtimeConnection(engine, send, "rtnb-local")
    await conn.open()
    await conn.handle(json.dumps({"type": "session.update", "session": {
        "type": "realtime", "audio": {"input": {
            "transcription": {"model": "gpt-live-transcribe"},
            "turn_detection": {"type": "server_vad", "create_response": False}}}}}))
    for i in range(0, len(pcm), 960):  # 20 ms appends
        await conn.handle(json.dumps({"type": "input_audio_buffer.append",
                                      "audio": base64.b64encode(pcm[i:i + 960]).decode()}))
        await asyncio.sleep(0)
    for _ in range(200):
        if any(e["type"].endswith("transcription.completed") for e in sent):
            break
        await asyncio.sleep(0.01)
    await conn.close()
    engine.asr_worker.close()
    return asr, sent


def test_a_pause_decodes_the_words_before_it_once_and_the_transcript_joins_the_parts():
    pcm = silence(200) + tone(900) + silence(400) + tone(600) + silence(800)
    asr, sent = asyncio.run(run_turn(pcm))
    assert len(asr.jobs) == 2  # one decode per part, none thrown away
    (first_ms, first_prompt), (second_ms, second_prompt) = asr.jobs
    assert first_prompt is None
    assert second_prompt == f"part{first_ms // 100}"  # the words before prompt the rest
    done = next(e for e in sent if e["type"].endswith("transcription.completed"))
    assert done["transcript"] == f"part{first_ms // 100} part{second_ms // 100}"
    assert first_ms + second_ms < len(pcm) / 48  # the silence window is not decoded


def test_a_short_pause_is_one_decode():
    pcm = silence(200) + tone(900) + silence(150) + tone(600) + silence(800)
    asr, sent = asyncio.run(run_turn(pcm))
    assert len(asr.jobs) == 1
    assert any(e["type"].endswith("transcription.completed") for e in sent)
