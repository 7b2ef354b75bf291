"""``rtnb.Transcriber`` on the real engine: turns transcribed by server VAD or by hand."""

from __future__ import annotations

import pytest

import rtnb
from rtnb.wer import word_error_rate

pytestmark = pytest.mark.slow


async def test_server_vad_turns_with_logprobs(engine, speech):
    said = ["I would like to book a table for two.", "Can you change it to Friday?"]
    async with rtnb.Transcriber(engine, logprobs=True) as t:
        assert t.session_config()["include"] == ["item.input_audio_transcription.logprobs"]
        for text in said:
            await t.send_audio(speech.with_silence(speech.utterance(text), 300, 900))
        got = [await t.next(), await t.next()]
    assert [g.item_id for g in got] == [g.item_id for g in t.transcripts]
    for text, heard in zip(said, got, strict=True):
        assert word_error_rate(text, heard.text) <= 0.25
        assert "".join(lp["token"] for lp in heard.logprobs).strip() == heard.text


async def test_push_to_talk_commits_by_hand(engine, speech):
    said = "What's the weather in Paris?"
    t = await rtnb.Transcriber(engine, turn_detection=None)
    try:
        await t.send_audio(speech.utterance(said))
        await t.commit()
        heard = await t.next()
        assert word_error_rate(said, heard.text) <= 0.25 and heard.logprobs is None
        await t.commit()  # nothing buffered: the server's refusal surfaces
        with pytest.raises(rtnb.SessionError, match="buffer too small"):
            await t.next()
    finally:
        await t.close()
    assert "closed" in repr(t)
