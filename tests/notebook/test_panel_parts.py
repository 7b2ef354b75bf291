"""The panel's pure parts: the activity state machine, the log and transcript rows, the
status line, and the row list's messages to the browser (no kernel, no engine)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtnb.analysis import Turn
from rtnb.notebook.activity import PHASES, Activity, Failure, FiguresChanged, shown, step
from rtnb.notebook.rows import LogRows, Row, event_row, readable, transcript_rows
from rtnb.notebook.status import NO_MATH, StatusView, status_html
from rtnb.session.eventlog import EventLog, LoggedEvent
from rtnb.session.transcript import Transcript


def ev(direction: str, kind: str, t: float = 1.0, **fields) -> LoggedEvent:
    return LoggedEvent(t, direction, "Assistant", {"type": kind, **fields}, 0.0)


FAILED = {"id": "r1", "status": "failed", "status_details": {
    "type": "failed", "error": {"type": "server_error", "code": "server_error",
                                "message": "the brain at http://127.0.0.1:9/v1 is unreachable"}}}


# -- activity ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "entry", "next_phase"),
    [
        ("disconnected", ev("local", "local.connected"), "listening"),
        ("listening", ev("server", "input_audio_buffer.speech_started"), "user_speaking"),
        ("agent_speaking", ev("server", "input_audio_buffer.speech_started"), "user_speaking"),
        ("user_speaking", ev("server", "input_audio_buffer.speech_stopped"), "thinking"),
        ("listening", ev("client", "input_audio_buffer.commit"), "thinking"),  # push-to-talk
        ("user_speaking", ev("client", "input_audio_buffer.commit"), "thinking"),
        ("user_speaking", ev("client", "input_audio_buffer.clear"), "listening"),
        ("thinking", ev("client", "input_audio_buffer.clear"), "thinking"),
        ("listening", ev("client", "response.create"), "thinking"),  # typed
        ("user_speaking", ev("client", "response.create"), "user_speaking"),
        ("thinking", ev("server", "response.created"), "thinking"),
        ("user_speaking", ev("server", "response.created"), "user_speaking"),
        ("thinking", ev("server", "response.output_audio.delta", response_id="r1"),
         "agent_speaking"),
        ("user_speaking", ev("server", "response.output_audio.delta", response_id="r1"),
         "user_speaking"),  # the old reply's last chunks while the user barges in
        ("agent_speaking", ev("server", "response.done", response={"status": "completed"}),
         "listening"),
        ("thinking", ev("server", "response.done", response={
            "status": "completed", "output": [{"type": "function_call"}]}), "thinking"),
        ("user_speaking", ev("server", "response.done", response={"status": "cancelled"}),
         "user_speaking"),
        ("thinking", ev("server", "response.done", response=FAILED), "failed"),
        ("agent_speaking", ev("server", "error", error={"message": "bad"}), "failed"),
        ("failed", ev("server", "input_audio_buffer.speech_started"), "user_speaking"),
        ("listening", ev("local", "local.disconnected"), "disconnected"),
        ("listening", ev("server", "session.updated"), "listening"),
        ("listening", ev("client", "input_audio_buffer.append"), "listening"),
        ("thinking", ev("local", "local.tool.approval_requested"), "approval"),
        ("approval", ev("server", "response.done", response={
            "status": "completed", "output": [{"type": "function_call"}]}), "approval"),
        ("approval", ev("server", "response.created"), "approval"),
        ("approval", ev("local", "local.tool.approved"), "thinking"),
        ("approval", ev("local", "local.tool.rejected"), "thinking"),
        ("listening", ev("local", "local.tool.approved"), "listening"),
    ],
)
def test_activity_transition_table(phase, entry, next_phase):
    new, _ = step(Activity(phase=phase, since=0.5, origin=0.2), entry)
    assert new.phase == next_phase
    assert new.since == (0.5 if next_phase == phase else entry.t)
    assert new.origin == 0.2


def test_a_failed_response_carries_the_servers_message():
    state, effects = step(Activity("thinking"), ev("server", "response.done", 3.0,
                                                   response=FAILED))
    assert state.phase == "failed" and "127.0.0.1:9/v1 is unreachable" in state.error
    assert Failure(3.0, state.error) in effects and FiguresChanged() in effects
    _, effects = step(Activity("listening"), ev(
        "server", "conversation.item.input_audio_transcription.failed",
        error={"message": "asr crashed", "code": "asr_failed"}))
    assert effects == (Failure(1.0, "transcription failed: asr crashed (asr_failed)"),)


def test_origin_is_the_first_connect():
    state, _ = step(Activity(), ev("local", "local.connected", 34.0))
    state, _ = step(state, ev("local", "local.disconnected", 40.0))
    state, _ = step(state, ev("local", "local.reconnected", 50.0))
    assert state.origin == 34.0 and state.phase == "listening"


def test_first_audio_of_each_response_refreshes_the_figures():
    state, effects = step(Activity("thinking"), ev("server", "response.output_audio.delta",
                                                   response_id="r1"))
    assert effects == (FiguresChanged(),)
    state, effects = step(state, ev("server", "response.output_audio.delta", response_id="r1"))
    assert effects == ()
    _, effects = step(state, ev("server", "response.output_audio.delta", response_id="r2"))
    assert effects == (FiguresChanged(),)


@pytest.mark.parametrize(
    ("phase", "playing", "talking", "expected"),
    [
        ("listening", True, False, "agent_speaking"),  # the reply is still playing
        ("listening", False, False, "listening"),
        ("thinking", True, False, "agent_speaking"),
        ("listening", False, True, "user_speaking"),  # the talk button is held
        ("agent_speaking", True, True, "user_speaking"),
        ("failed", True, False, "failed"),
        ("disconnected", True, True, "disconnected"),
    ],
)
def test_shown_phase(phase, playing, talking, expected):
    assert shown(Activity(phase), playing=playing, talking=talking) == expected


EVENTS = st.sampled_from([
    ev("local", "local.connected"), ev("local", "local.disconnected"),
    ev("server", "input_audio_buffer.speech_started"),
    ev("server", "input_audio_buffer.speech_stopped"),
    ev("client", "response.create"), ev("client", "input_audio_buffer.commit"),
    ev("server", "response.created"),
    ev("server", "response.output_audio.delta", response_id="r1"),
    ev("server", "response.output_audio.delta", response_id="r2"),
    ev("server", "response.done", response={"status": "completed"}),
    ev("server", "response.done", response=FAILED),
    ev("server", "error", error={"message": "bad"}),
    ev("client", "input_audio_buffer.append"), ev("server", "session.updated"),
])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(EVENTS, st.floats(0, 5)), max_size=40))
def test_activity_properties(events):
    state, t = Activity(), 0.0
    for entry, dt in events:
        t += dt
        entry = LoggedEvent(t, entry.direction, entry.agent, entry.event, 0.0)
        before = state
        state, effects = step(state, entry)
        assert state.phase in PHASES
        assert state.since >= before.since
        assert (state.error is not None) == (state.phase == "failed")
        if before.origin is not None:
            assert state.origin == before.origin  # the panel's clock never jumps
        if entry.type == "local.disconnected":
            assert state.phase == "disconnected"
        if entry.type == "error" or (entry.type == "response.done" and entry.event[
                "response"]["status"] == "failed"):
            assert state.phase == "failed"
            assert [f.message for f in effects if isinstance(f, Failure)] == [state.error]
        for playing in (True, False):
            assert shown(state, playing=playing, talking=True) in (
                "user_speaking", "disconnected")


# -- event log rows -----------------------------------------------------------------------------


def logged(events):
    """Events through a real EventLog, so audio becomes ``$audio`` references."""
    log = EventLog()
    for t, direction, event, pcm in events:
        log.add(t, direction, "Assistant", event, pcm)
    return log.entries


def append(t):
    return (t, "client", {"type": "input_audio_buffer.append", "audio": ""}, b"\0" * 960)


def delta(t, rid):
    return (t, "server", {"type": "response.output_audio.delta", "response_id": rid,
                          "item_id": f"item_{rid}", "delta": ""}, b"\0" * 9600)


def test_audio_collapses_into_one_counted_row_per_turn_and_response():
    rows = LogRows(origin=10.0)
    events = ([(10.0, "local", {"type": "local.connected", "agent": "Assistant"}, None)]
              + [append(10 + i * 0.02) for i in range(150)]
              + [(13.0, "server", {"type": "input_audio_buffer.committed", "item_id": "u1"},
                  None)]
              + [delta(13.5 + i * 0.01, "r1") for i in range(20)]
              + [append(13 + i * 0.02) for i in range(10)]
              + [delta(14 + i * 0.01, "r2") for i in range(5)])
    for entry in logged(events):
        rows.add(entry)
    got = {row.key: row for row in rows.take()}
    assert list(got) == ["e1", "input_audio_buffer.append:0", "e2",
                         "response.output_audio.delta:r1", "input_audio_buffer.append:1",
                         "response.output_audio.delta:r2"]
    first = got["input_audio_buffer.append:0"]
    assert "×150" in first.summary and "3.00 s of audio (144,000 bytes" in first.summary
    assert "0.000s" in first.summary and "until 2.980s" in first.summary  # from the connect
    assert "‹20 ms of audio, 960 bytes›" in first.body and "$audio" not in first.body
    assert "×20" in got["response.output_audio.delta:r1"].summary
    assert "4.00 s of audio" in got["response.output_audio.delta:r1"].summary
    # More frames update the same row; nothing else changed.
    for entry in logged([append(15.0)]):
        rows.add(entry)
    again = rows.take()
    assert [r.key for r in again] == ["input_audio_buffer.append:1"] and "×11" in again[0].summary
    assert rows.take() == []
    # Growing audio rows keep their body: the browser gets only the new summary.
    assert again[0].body == got["input_audio_buffer.append:1"].body


def test_text_deltas_collapse_per_item_and_show_the_text():
    rows = LogRows()
    for i, word in enumerate(["The ", "weather ", "is ", "sunny."]):
        rows.add(ev("server", "response.output_audio_transcript.delta", 1 + i * 0.1,
                    item_id="item_a", delta=word))
    (row,) = rows.take()
    assert "×4" in row.summary and "Text so far: The weather is sunny." in row.body


@pytest.mark.parametrize(
    ("entry", "hint", "cls"),
    [
        (ev("server", "response.done", response=FAILED),
         "failed: the brain at http://127.0.0.1:9/v1 is unreachable", "err"),
        (ev("server", "error", error={"message": "Cancellation failed"}),
         "Cancellation failed", "err"),
        (ev("server", "response.done", response={"status": "completed"}), "completed",
         "server"),
        (ev("client", "conversation.item.create", item={
            "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "It's $379, down from $449"}]}),
         "user: It&#x27;s $379, down from $449", "client"),
        (ev("server", "response.function_call_arguments.done", name="get_weather",
            arguments='{"city":"Paris"}'), "get_weather({&quot;city&quot;:&quot;Paris&quot;})",
         "server"),
        (ev("local", "local.playback.flushed", reason="barge_in", played_ms=812.4),
         "barge_in, 812 ms played", "local"),
    ],
)
def test_event_rows_say_what_happened(entry, hint, cls):
    row = event_row("e1", entry, origin=0.5)
    assert hint in row.summary and row.cls == cls
    assert "0.500s" in row.summary  # t=1.0, counted from the connect at 0.5


def test_readable_replaces_audio_and_long_strings():
    image = "data:image/png;base64," + "A" * 5000
    got = readable({"delta": {"$audio": [153936, 9600]},
                    "content": [{"type": "input_image", "image_url": image}]})
    assert got["delta"] == "‹200 ms of audio, 9,600 bytes›"
    assert got["content"][0]["image_url"].endswith("‹5,022 characters›")
    assert len(got["content"][0]["image_url"]) < 400


# -- transcript rows ----------------------------------------------------------------------------


def test_transcript_rows_skip_empty_user_turns_and_count_from_connect():
    transcript = Transcript()
    for entry in [
        ev("local", "local.connected", 34.0, agent="Assistant"),
        ev("server", "conversation.item.added", 36.0, item={
            "id": "u1", "type": "message", "role": "user",
            "content": [{"type": "input_audio", "transcript": None}]}),
        ev("server", "response.output_item.added", 36.5, item={
            "id": "a1", "type": "message", "role": "assistant"}),
        ev("server", "response.output_audio_transcript.delta", 36.6, item_id="a1",
           delta="It costs $379, down from $449."),
    ]:
        transcript.apply(entry)
    rows = transcript_rows(transcript.entries, origin=34.0)
    assert [r.key for r in rows] == ["b:0", "m:a1"]  # no empty "you:" row
    assert "0.0s" in rows[0].summary and "2.5s" in rows[1].summary
    assert "$379, down from $449." in rows[1].summary
    transcript.apply(ev("server", "conversation.item.input_audio_transcription.completed",
                        37.0, item_id="u1", transcript="How much is it?"))
    rows = transcript_rows(transcript.entries, origin=34.0)
    assert [r.key for r in rows] == ["b:0", "m:u1", "m:a1"]  # in its place, not at the end


def test_a_call_waiting_for_approval_has_buttons_then_its_verdict():
    transcript = Transcript()
    transcript.apply(ev("server", "response.function_call_arguments.done", 2.0,
                        call_id="c'1", name="refund_order", arguments='{"order_id": "42"}'))
    transcript.apply(ev("local", "local.tool.approval_requested", 2.1, call_id="c'1",
                        name="refund_order", arguments='{"order_id": "42"}'))
    [row] = transcript_rows(transcript.entries, origin=0.0)
    buttons = re.findall(r"<button class='rtnb-(\w+)' data-rtnb-action='(\w+)' "
                         r"data-rtnb-call='([^']*)'>(\w+)</button>", row.summary)
    assert buttons == [("approve", "approve", "c&#x27;1", "Approve"),
                       ("reject", "reject", "c&#x27;1", "Reject")]  # the id is escaped
    transcript.apply(ev("local", "local.tool.rejected", 5.0, call_id="c'1",
                        name="refund_order", reason="no", output="Tool execution was not "
                        "approved. Reason: no"))
    transcript.apply(ev("client", "conversation.item.create", 5.0, item={
        "type": "function_call_output", "call_id": "c'1", "output": "Tool execution was not "
        "approved. Reason: no"}))
    [row] = transcript_rows(transcript.entries, origin=0.0)
    assert "<button" not in row.summary and "rtnb-rejected'>rejected</span>" in row.summary
    assert "not approved. Reason: no" in row.body


def test_a_tripped_tool_guardrail_shows_a_chip():
    transcript = Transcript()
    transcript.apply(ev("server", "response.function_call_arguments.done", 2.0,
                        call_id="c1", name="card_on_file", arguments="{}"))
    transcript.apply(ev("local", "local.tool.guardrail", 2.2, call_id="c1", name="card_on_file",
                        result={"guardrail": "no_cards", "tripped": True, "category": "PII"},
                        output="withheld"))
    [row] = transcript_rows(transcript.entries, origin=0.0)
    assert "no_cards: PII" in row.summary


# -- status line --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("e2e", "barge_in", "handoff", "verdicts"),
    [
        (820.0, None, None, {"e2e": "ok"}),
        (1400.0, None, None, {"e2e": "late"}),
        (900.0, 250.0, None, {"e2e": "ok", "barge_in": "ok"}),
        (900.0, 450.0, 2500.0, {"e2e": "ok", "barge_in": "late", "handoff_time": "late"}),
        (None, None, 1800.0, {"handoff_time": "ok"}),
    ],
)
def test_latency_is_coloured_against_the_targets(e2e, barge_in, handoff, verdicts):
    turn = Turn(0, "voice", "Assistant", 1.0, e2e=e2e, barge_in=barge_in, handoff_time=handoff)
    html = status_html(StatusView("listening", "Assistant", turns=1, last_turn=turn))
    got = {m: v for v, m in re.findall(r"rtnb-lat rtnb-(ok|late)' data-metric='(\w+)'", html)}
    assert got == verdicts


def test_status_line_states():
    def html(phase, **kw):
        return status_html(StatusView(phase, "Assistant", **kw))

    assert "● listening" in html("listening")
    assert "thinking 1.2 s" in html("thinking", for_s=1.23)
    assert "Assistant speaking" in html("agent_speaking")
    assert "you're speaking" in html("user_speaking")
    assert "mic is off" in html("user_speaking", mic_off=True)
    assert "○ connection lost" in html("disconnected", closed_reason="connection lost")
    error = html("failed", error="response failed: <b>unreachable</b>")
    assert "rtnb-state-failed" in error and "&lt;b&gt;unreachable" in error
    line = html("listening", mic_frames=493, delays={"browser_to_kernel_ms": 11.0,
                                                     "kernel_to_browser_ms": None})
    assert "data-frames='493'" in line and "mic 9.9 s" in line
    assert "browser→kernel 11 ms" in line and "kernel→browser" not in line
    assert NO_MATH in line


# -- the row list's messages ------------------------------------------------------------------


@pytest.fixture
def row_list():
    pytest.importorskip("anywidget")
    from rtnb.notebook.widgets import RowList

    sent = []
    rows = RowList()
    rows.send = lambda content, buffers=None: sent.append(content)
    return rows, sent


def test_row_list_sends_only_changes(row_list):
    rows, sent = row_list
    rows.put([Row("a", "A"), Row("b", "B", "body")])
    rows.flush()
    rows.put([Row("a", "A"), Row("b", "B2", "body")])  # a unchanged
    rows.put([Row("b", "B3", "body")])  # the same row twice: one op, the last content
    rows.flush()
    rows.flush()  # nothing queued: nothing sent
    assert [[(o["key"], o["summary"]) for o in m["ops"]] for m in sent] == [
        [("a", "A"), ("b", "B")], [("b", "B3")]]
    assert "after" not in sent[0]["ops"][0]  # put(): new rows go last
    assert "body" not in sent[1]["ops"][0]  # the body did not change: not sent again
    rows.put([Row("b", "B3", "new body")])
    rows.flush()
    assert sent[2]["ops"][0]["body"] == "new body"
    assert rows.value == "<div class='rtnb-row '>A</div><details class='rtnb-row '>" \
        "<summary>B3</summary><div class='rtnb-body'>new body</div></details>"


def test_row_list_sync_inserts_in_place_and_drops(row_list):
    rows, sent = row_list
    rows.sync([Row("a", "A"), Row("c", "C")])
    rows.flush()
    rows.sync([Row("a", "A"), Row("b", "B"), Row("c", "C2")])
    rows.flush()
    ops = sent[1]["ops"]
    assert ops[0] == {"op": "put", "after": "a", "key": "b", "summary": "B", "body": None,
                      "cls": ""}
    assert ops[1]["key"] == "c" and "after" not in ops[1]
    assert [r.key for r in rows.rows] == ["a", "b", "c"]
    rows.sync([Row("b", "B"), Row("c", "C2")])
    rows.flush()
    assert sent[2]["ops"] == [{"op": "drop", "key": "a"}]
    assert sent[0]["ops"][0]["after"] is None  # the first row of a list goes first


def test_a_rows_button_reaches_the_action_callbacks(row_list):
    rows, _ = row_list
    clicked = []
    rows.on_action(lambda action, call: clicked.append((action, call)))
    rows._on_msg(rows, {"type": "action", "action": "approve", "call": "c1"}, [])
    rows._on_msg(rows, {"type": "ready", "view": "v1"}, [])  # not an action
    assert clicked == [("approve", "c1")]


def test_a_new_view_gets_every_row(row_list):
    rows, sent = row_list
    rows.max_rows = 3
    rows.put([Row(str(i), f"row {i}") for i in range(5)])
    rows._on_msg(rows, {"type": "ready", "view": "v1"}, [])
    assert sent[-1]["type"] == "reset" and sent[-1]["view"] == "v1"
    assert [op["key"] for op in sent[-1]["ops"]] == ["2", "3", "4"]  # the newest max_rows
