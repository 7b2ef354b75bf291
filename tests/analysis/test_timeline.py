"""Turns, anchors, marks and spans as found in synthetic logs: exact session times."""

from __future__ import annotations

import pytest

from rtnb.analysis import Span, input_anchor, timelines
from tests.logscript import Script, early_answer, three_turns


def test_three_turns_marks_and_spans():
    first, typed, third = timelines(three_turns().entries)
    assert [(t.kind, t.agent, t.item_id) for t in (first, typed, third)] == [
        ("voice", "Assistant", "u1"), ("text", "Assistant", None), ("voice", "Billing", "u2")]
    assert first.anchor == pytest.approx(1.0)  # audio_end_ms 1000 was appended at t 1.0
    assert first.marks == {"end_of_turn": 1.530, "committed": 1.531, "created": 1.531,
                           "transcribed": 1.560, "first_audio": 1.640}
    assert first.spans == [] and first.settings.prefix_padding_ms == 300
    assert typed.anchor == 3.0 and typed.user_text.startswith("what's the weather")
    assert typed.spans == [Span("tool", "get_weather", 3.050, 3.125),
                           Span("handoff", "billing", 3.200, 3.450)]
    assert third.anchor == pytest.approx(6.0)
    assert [(s.kind, s.start, s.end) for s in third.spans] == [
        ("tool", 6.720, 7.531), ("supervisor", 6.730, 7.530),
        ("filler_gap", pytest.approx(7.300), 7.650), ("barge_in", pytest.approx(7.800), 7.95)]
    assert third.span("filler_gap").marks == {"filler_start": 6.700, "request": 6.730}
    assert third.span("barge_in").marks == {"speech_started": 7.85}
    assert third.span("barge_in").label == "playback flushed"
    assert [t.end for t in (first, typed, third)] == [typed.start, third.start,
                                                      len(three_turns().entries)]


def handoff_log() -> Script:
    s = Script()
    s.text(0.0, "billing please")
    s.at(0.010, "server", "response.created", response={"id": "r1"})
    s.at(0.100, "server", "response.function_call_arguments.done", call_id="c1",
         name="transfer_to_billing_desk", arguments="{}", response_id="r1")
    s.at(0.120, "server", "response.done", response={"id": "r1", "status": "completed"})
    s.agent = "Billing desk"
    s.at(0.121, "local", "local.handoff", call_id="c1", to="Billing desk")
    s.at(0.125, "client", "response.create", response={})
    s.at(0.140, "server", "response.created", response={"id": "r2"})
    s.audio(0.400, 100, "a2", "r2")
    return s


def test_handoff_span_and_where_its_time_goes():
    (turn,) = timelines(handoff_log().log.entries)
    (handoff,) = turn.spans
    assert (handoff.kind, handoff.label, handoff.start, handoff.end) == (
        "handoff", "billing_desk", 0.100, 0.400)
    assert handoff.marks == {"response_done": 0.120, "create_sent": 0.125, "created": 0.140}
    assert handoff.ms == pytest.approx(300.0)


def test_filler_span_is_negative_when_the_answer_came_first():
    (turn,) = timelines(early_answer().log.entries)
    filler = turn.span("filler_gap")
    assert filler.ms == pytest.approx(-100.0)
    assert filler.marks == {"filler_start": 0.100, "request": 0.130}


def interrupted_story(audio_start_ms: int) -> Script:
    """A reply interrupted by speech the server dates at ``audio_start_ms``; cancelled."""
    s = Script()
    s.mic(0.0, 1000)
    s.text(0.0, "tell me a story")
    s.audio(0.100, 500, "a1", "r1")
    s.at(0.650, "server", "input_audio_buffer.speech_started", audio_start_ms=audio_start_ms,
         item_id="u")
    s.at(0.700, "server", "response.done", response={"id": "r1", "status": "cancelled"})
    return s


def test_barge_in_by_cancel_and_not_when_the_onset_was_clipped():
    (turn,) = timelines(interrupted_story(300).log.entries)
    (barge_in,) = turn.spans
    # onset: audio 300 + the default 300 ms padding = 600 ms, appended at t 0.6
    assert (barge_in.label, barge_in.start, barge_in.end) == (
        "cancelled", pytest.approx(0.6), 0.700)
    assert timelines(interrupted_story(0).log.entries)[0].spans == []


def test_input_anchor_is_the_timelines():
    entries = three_turns().entries
    for turn in timelines(entries):
        anchor, stopped = input_anchor(entries, turn.start)
        assert anchor == turn.anchor
        assert (stopped is not None) == (turn.kind == "voice")


def test_benchmarks_read_the_same_spans(monkeypatch):
    """benchmarks/handoff_supervisor.py splits handoffs and fillers from these spans."""
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import handoff_supervisor as bench

    assert bench.handoff_parts(handoff_log().log.entries) == [{
        "to": "billing_desk", "server_finish": 20.0, "client_follow_up": 5.0,
        "to_created": 15.0, "to_first_audio": 260.0, "handoff_time": 300.0}]
    assert bench.filler_margins(three_turns().entries) == [
        {"filler_ms": 600.0, "request_after_filler_start": 30.0, "margin": -350.0}]


def stalled_reply() -> Script:
    """A reply whose second sentence came late, one that came in time, and a second item."""
    s = Script()
    s.text(0.0, "tell me more")
    s.audio(0.100, 300, "a1", "r1")  # plays out at 0.400
    s.audio(0.650, 200, "a1", "r1")  # 250 ms late: plays 0.650 → 0.850
    s.audio(0.860, 100, "a1", "r1")  # 10 ms late: a player's buffer absorbs it
    s.audio(0.900, 100, "a1", "r1")  # early: queued behind the rest, plays to 1.060
    s.audio(1.500, 100, "a2", "r1")  # another item: its own playback, not a stall
    return s


def test_stall_spans_where_a_reply_ran_dry_and_the_turn_sums_them():
    (turn,) = timelines(stalled_reply().log.entries)
    (stall,) = turn.spans_of("stall")
    assert (stall.label, stall.start, stall.ms) == ("a1", pytest.approx(0.4), pytest.approx(250))
    (figures,) = stalled_reply().turns()
    assert figures.stall == pytest.approx(250.0)
    assert figures.e2e == pytest.approx(100.0)


def test_a_reply_that_arrives_ahead_of_playback_has_no_stall():
    s = Script()
    s.text(0.0, "hi")
    for k in range(5):
        s.audio(0.100 + 0.05 * k, 100, "a1", "r1")
    (turn,) = timelines(s.log.entries)
    assert turn.spans_of("stall") == []
    assert s.turns()[0].stall is None
