"""Per-turn metrics from synthetic event logs on a virtual clock: exact values."""

from __future__ import annotations

import pytest

from rtnb.analysis import MetricsTable
from rtnb.session.transcript import Transcript
from tests.logscript import Script

SESSION = {"type": "session.updated", "session": {"audio": {"input": {"turn_detection": {
    "type": "server_vad", "silence_duration_ms": 500, "prefix_padding_ms": 300}}}}}


def voice_turn(s: Script):
    # 1.0 s of speech from t=0 (audio 0..1000 ms), then 600 ms of silence.
    s.at(0.0, "server", "session.updated", **{k: v for k, v in SESSION.items() if k != "type"})
    s.mic(0.0, 1600)
    s.at(0.2, "server", "input_audio_buffer.speech_started", audio_start_ms=0, item_id="u1")
    s.at(1.530, "server", "input_audio_buffer.speech_stopped", audio_end_ms=1000, item_id="u1")
    s.at(1.531, "server", "input_audio_buffer.committed", item_id="u1")
    s.at(1.531, "server", "response.created", response={"id": "r1"})
    s.at(1.560, "server", "conversation.item.input_audio_transcription.completed",
         item_id="u1", transcript="hello there")
    s.at(1.640, "server", "response.output_audio.delta", pcm=b"\x00" * 4800, item_id="a1",
         response_id="r1")
    s.at(1.700, "server", "response.done", response={"id": "r1", "status": "completed"})
    return s


def test_voice_turn_exact():
    (turn,) = voice_turn(Script()).turns()
    assert turn.kind == "voice" and turn.user_text == "hello there"
    assert turn.e2e == pytest.approx(640.0)  # end of speech at t=1.000 → first audio 1.640
    assert turn.end_of_turn_delay == pytest.approx(530.0)
    assert turn.transcription_delay == pytest.approx(29.0)
    assert turn.ttfb == pytest.approx(109.0)
    assert turn.barge_in is None and turn.tool_time is None


def test_tool_and_handoff_times():
    s = Script()
    s.at(0.0, "client", "conversation.item.create",
         item={"type": "message", "role": "user", "content": [{"type": "input_text",
                                                                 "text": "weather?"}]})
    s.at(0.010, "server", "response.created", response={"id": "r1"})
    s.at(0.050, "server", "response.function_call_arguments.done", call_id="c1",
         name="get_weather", arguments="{}", response_id="r1")
    s.at(0.125, "client", "conversation.item.create",
         item={"type": "function_call_output", "call_id": "c1", "output": "{}"})
    s.at(0.130, "server", "response.created", response={"id": "r2"})
    s.at(0.200, "server", "response.function_call_arguments.done", call_id="c2",
         name="transfer_to_billing", arguments="{}", response_id="r2")
    s.agent = "Billing"
    s.at(0.201, "local", "local.handoff", call_id="c2", to="Billing", **{"from": "Assistant"})
    s.at(0.450, "server", "response.output_audio.delta", pcm=b"\x00" * 960, item_id="a2",
         response_id="r3")
    (turn,) = s.turns()
    assert turn.kind == "text"
    assert turn.tools == [("get_weather", pytest.approx(75.0))]
    assert turn.tool_time == pytest.approx(75.0)
    assert turn.handoff_time == pytest.approx(250.0)
    assert turn.e2e == pytest.approx(450.0) and turn.ttfb == pytest.approx(440.0)
    transcript = Transcript.from_log(s.log.entries)
    assert [e.title for e in transcript.entries if e.kind == "breadcrumb"] == ["Agent: Billing"]
    assert transcript.tool_calls[1].handoff_to == "Billing"


def test_barge_in_from_onset_to_flush():
    s = voice_turn(Script())
    s.mic(1.600, 1000)  # the user keeps the mic open; speech restarts at audio 2000 ms
    s.at(2.160, "server", "input_audio_buffer.speech_started", audio_start_ms=1700,
         item_id="u2")
    s.at(2.161, "local", "local.playback.flushed", item_id="a1", played_ms=500.0,
         reason="barge_in")
    (turn,) = s.turns()
    # onset: audio 1700 + 300 padding = 2000 ms of audio, appended at t=2.000 → flush 2.161
    assert turn.barge_in == pytest.approx(161.0)


def test_no_barge_in_when_nothing_was_playing():
    s = voice_turn(Script())
    s.mic(1.600, 1000)
    s.at(2.160, "server", "input_audio_buffer.speech_started", audio_start_ms=1700,
         item_id="u2")
    s.at(2.161, "local", "local.playback.flushed", item_id=None, played_ms=None,
         reason="barge_in")
    assert s.turns()[0].barge_in is None


def test_supervisor_time_and_filler_gap():
    s = Script()
    s.at(0.0, "client", "conversation.item.create",
         item={"type": "message", "role": "user", "content": [{"type": "input_text",
                                                                 "text": "roaming?"}]})
    s.at(0.010, "server", "response.created", response={"id": "r1"})
    # The filler: 600 ms of audio arriving at t=0.100.
    s.at(0.100, "server", "response.output_audio.delta", pcm=b"\x00" * (600 * 48),
         item_id="filler", response_id="r1")
    s.at(0.120, "server", "response.function_call_arguments.done", call_id="c1",
         name="getNextResponseFromSupervisor", arguments="{}", response_id="r1")
    s.at(0.130, "local", "local.supervisor.request", call_id="c1")
    s.at(0.930, "local", "local.supervisor.response", call_id="c1", text="ok")
    s.at(0.931, "client", "conversation.item.create",
         item={"type": "function_call_output", "call_id": "c1", "output": "{}"})
    s.at(1.050, "server", "response.output_audio.delta", pcm=b"\x00" * 960,
         item_id="answer", response_id="r2")
    (turn,) = s.turns()
    assert turn.supervisor_time == pytest.approx(800.0)
    assert turn.tool_time == pytest.approx(811.0)
    assert turn.filler_gap == pytest.approx(350.0)  # filler ends 0.700 → answer 1.050


def test_push_to_talk_e2e_from_commit_and_corrective_not_a_turn():
    s = Script()
    s.at(0.0, "server", "session.updated", session={"audio": {"input": {
        "turn_detection": None}}})
    s.mic(0.0, 500)
    s.at(0.600, "client", "input_audio_buffer.commit")
    s.at(0.602, "server", "input_audio_buffer.committed", item_id="u1")
    s.at(0.900, "server", "response.output_audio.delta", pcm=b"\x00" * 960, item_id="a",
         response_id="r")
    s.at(1.0, "client", "conversation.item.create", item={
        "id": "item_rtnbfix000001", "type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "Your last answer was blocked"}]})
    turns = s.turns()
    assert len(turns) == 1
    assert turns[0].e2e == pytest.approx(300.0) and turns[0].end_of_turn_delay is None


def test_table_summary_and_html():
    s = voice_turn(Script())
    table = MetricsTable(s.turns())
    summary = table.summary()
    assert summary["e2e"] == {"n": 1, "p50": 640.0, "p95": 640.0, "max": 640.0}
    assert "e2e" in repr(table) and "<table" in table._repr_html_()
    assert table.rows()[0]["e2e"] == pytest.approx(640.0)


def test_transcript_found_after_the_next_commit():
    """On a loaded machine turn 0's transcript lands after turn 1's commit: it is still
    turn 0's (chapter 3 waited for it forever)."""
    s = Script()
    s.at(0.0, "server", "session.updated", **{k: v for k, v in SESSION.items() if k != "type"})
    s.mic(0.0, 3000)  # speech at audio 0..1000 and 1800..2400 ms
    for n, (started, stopped, end_ms) in enumerate([(0.2, 1.530, 1000), (1.9, 2.930, 2400)]):
        item = f"u{n + 1}"
        s.at(started, "server", "input_audio_buffer.speech_started",
             audio_start_ms=max(0, end_ms - 900), item_id=item)
        s.at(stopped, "server", "input_audio_buffer.speech_stopped", audio_end_ms=end_ms,
             item_id=item)
        s.at(stopped + 0.001, "server", "input_audio_buffer.committed", item_id=item)
        s.at(stopped + 0.002, "server", "conversation.item.added", item={
            "id": item, "type": "message", "role": "user",
            "content": [{"type": "input_audio", "transcript": None}]})
    s.at(3.100, "server", "conversation.item.input_audio_transcription.completed",
         item_id="u2", transcript="second")
    s.at(3.400, "server", "conversation.item.input_audio_transcription.completed",
         item_id="u1", transcript="hello there")
    first, second = s.turns()
    assert first.user_text == "hello there" and second.user_text == "second"
    assert first.transcription_delay == pytest.approx(1869.0)  # committed 1.531 → 3.400
    assert second.transcription_delay == pytest.approx(169.0)
    assert first.end_of_turn_delay == second.end_of_turn_delay == pytest.approx(530.0)
    user = [e.text for e in Transcript.from_log(s.log.entries).entries
            if e.kind == "message" and e.role == "user"]
    assert user == ["hello there", "second"]


def barge_in_log(turn_detection: dict) -> Script:
    """test_barge_in_from_onset_to_flush's log, under the given turn detection."""
    s = Script()
    s.at(0.0, "server", "session.updated",
         session={"audio": {"input": {"turn_detection": turn_detection}}})
    s.mic(0.0, 2600)
    s.at(0.2, "server", "input_audio_buffer.speech_started", audio_start_ms=0, item_id="u1")
    s.at(1.530, "server", "input_audio_buffer.speech_stopped", audio_end_ms=1000, item_id="u1")
    s.at(1.531, "server", "input_audio_buffer.committed", item_id="u1")
    s.at(1.640, "server", "response.output_audio.delta", pcm=b"\x00" * 4800, item_id="a1",
         response_id="r1")
    s.at(2.160, "server", "input_audio_buffer.speech_started", audio_start_ms=1700,
         item_id="u2")
    s.at(2.161, "local", "local.playback.flushed", item_id="a1", played_ms=500.0,
         reason="barge_in")
    return s


@pytest.mark.parametrize(("turn_detection", "barge_in"), [
    ({"type": "server_vad", "prefix_padding_ms": 300}, 161.0),
    ({"type": "server_vad"}, 161.0),  # the engine's default padding, 300 ms
    ({"type": "semantic_vad", "eagerness": "auto"}, 161.0),  # pads 300 ms too
    ({"type": "semantic_vad", "eagerness": "high"}, 161.0),
    ({"type": "server_vad", "prefix_padding_ms": 100}, 361.0),  # onset 1800 ms: t 1.800
])
def test_barge_in_counts_the_engines_padding(turn_detection, barge_in):
    """speech_started.audio_start_ms is the padded start; the onset adds back what the
    engine padded, which semantic_vad does by 300 ms as well (it came out 450 ms)."""
    (turn,) = barge_in_log(turn_detection).turns()
    assert turn.barge_in == pytest.approx(barge_in)


def test_table_html_is_not_latex_and_fits_the_cell():
    from html.parser import HTMLParser

    s = Script()
    s.text(0.0, "Is the $5 plan cheaper than the $10 <b>one</b> for two lines?")
    s.audio(0.4, 100, "a1")
    html = MetricsTable(s.turns())._repr_html_()

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.text = [], ""

        def handle_starttag(self, tag, attrs):
            self.tags.append((tag, dict(attrs)))

        def handle_data(self, data):
            self.text += data

    parsed = Tags()
    parsed.feed(html)
    outer_tag, outer = parsed.tags[0]
    assert outer_tag == "div"
    assert {"tex2jax_ignore", "mathjax_ignore"} <= set(outer["class"].split())
    assert "overflow-x:auto" in outer["style"]  # a wide table scrolls inside the cell
    (user,) = [a for t, a in parsed.tags if t == "td" and "rtnb-user" in a.get("class", "")]
    assert "white-space:nowrap" in user["style"]  # not one word per line
    assert user["title"] == "Is the $5 plan cheaper than the $10 <b>one</b> for two lines?"
    assert "the $5 plan cheaper than the $10 <b>one</b>" in parsed.text  # escaped, not markup
    assert not any(t == "b" for t, _ in parsed.tags)
    assert "400" in parsed.text  # e2e
