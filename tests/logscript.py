"""Synthetic event logs on a virtual clock, for exact metric and plot tests."""

from __future__ import annotations

import base64

from rtnb.session.eventlog import EventLog


class Script:
    """Builds a log with explicit times (seconds)."""

    def __init__(self):
        self.log = EventLog()
        self.agent = "Assistant"

    def at(self, t, direction, type_, pcm=None, **fields):
        event = {"type": type_, **fields}
        if type_ == "input_audio_buffer.append":
            event["audio"] = base64.b64encode(pcm).decode()
        if type_ == "response.output_audio.delta":
            event["delta"] = base64.b64encode(pcm).decode()
        self.log.add(t, direction, self.agent, event, pcm)
        return self

    def mic(self, t0, ms, chunk_ms=20):
        """Append ``ms`` of audio in real time from ``t0`` (a paced microphone)."""
        for i in range(0, ms, chunk_ms):
            self.at(t0 + (i + chunk_ms) / 1000, "client", "input_audio_buffer.append",
                    b"\x00" * (chunk_ms * 48))
        return self

    def audio(self, t, ms, item_id, response_id="r"):
        return self.at(t, "server", "response.output_audio.delta", pcm=b"\x00" * (ms * 48),
                       item_id=item_id, response_id=response_id)

    def turns(self):
        from rtnb.analysis import compute_turns

        return compute_turns(self.log.entries)

    def text(self, t, text):
        return self.at(t, "client", "conversation.item.create", item={
            "type": "message", "role": "user", "content": [{"type": "input_text",
                                                            "text": text}]})


SESSION = {"audio": {"input": {"turn_detection": {
    "type": "server_vad", "threshold": 0.5, "silence_duration_ms": 500,
    "prefix_padding_ms": 300}}}}


def three_turns() -> EventLog:
    """Voice turn; typed turn with a tool and a handoff; voice turn with supervisor + barge-in."""
    s = Script()
    s.at(0.0, "server", "session.updated", session=SESSION)
    s.mic(0.0, 1600)  # audio 0..1600 ms at t 0..1.6
    s.at(0.2, "server", "input_audio_buffer.speech_started", audio_start_ms=0, item_id="u1")
    s.at(1.530, "server", "input_audio_buffer.speech_stopped", audio_end_ms=1000, item_id="u1")
    s.at(1.531, "server", "input_audio_buffer.committed", item_id="u1")
    s.at(1.531, "server", "response.created", response={"id": "r1"})
    s.at(1.560, "server", "conversation.item.input_audio_transcription.completed",
         item_id="u1", transcript="hello there")
    s.audio(1.640, 100, "a1")
    s.at(1.700, "server", "response.done", response={"id": "r1", "status": "completed"})
    # turn 1, typed, at t=3.0
    s.text(3.0, "what's the weather, then billing please")
    s.at(3.010, "server", "response.created", response={"id": "r2"})
    s.at(3.050, "server", "response.function_call_arguments.done", call_id="c1",
         name="get_weather", arguments="{}", response_id="r2")
    s.at(3.125, "client", "conversation.item.create",
         item={"type": "function_call_output", "call_id": "c1", "output": "{}"})
    s.at(3.200, "server", "response.function_call_arguments.done", call_id="c2",
         name="transfer_to_billing", arguments="{}", response_id="r2")
    s.agent = "Billing"
    s.at(3.201, "local", "local.handoff", call_id="c2", to="Billing", **{"from": "Assistant"})
    s.audio(3.450, 100, "a2")
    # turn 2, voice: audio 1600..4600 ms at t 5.0..8.0; speech ends at audio 2600 (t 6.0)
    s.mic(5.0, 3000)
    s.at(5.3, "server", "input_audio_buffer.speech_started", audio_start_ms=1600, item_id="u2")
    s.at(6.630, "server", "input_audio_buffer.speech_stopped", audio_end_ms=2600, item_id="u2")
    s.at(6.631, "server", "input_audio_buffer.committed", item_id="u2")
    s.at(6.632, "server", "response.created", response={"id": "r3"})
    s.audio(6.700, 600, "filler", "r3")
    s.at(6.720, "server", "response.function_call_arguments.done", call_id="c3",
         name="getNextResponseFromSupervisor", arguments="{}", response_id="r3")
    s.at(6.730, "local", "local.supervisor.request", call_id="c3")
    s.at(7.530, "local", "local.supervisor.response", call_id="c3", text="ok")
    s.at(7.531, "client", "conversation.item.create",
         item={"type": "function_call_output", "call_id": "c3", "output": "{}"})
    s.audio(7.650, 400, "answer", "r4")
    # the user barges in: onset at audio 4100 + 300 padding = 4400 ms (t 7.8)
    s.at(7.85, "server", "input_audio_buffer.speech_started", audio_start_ms=4100, item_id="u3")
    s.at(7.95, "local", "local.playback.flushed", item_id="answer", played_ms=250.0,
         reason="barge_in")
    return s.log


def early_answer() -> Script:
    """A typed turn whose supervisor answer starts before the filler (600 ms) ends."""
    s = Script()
    s.text(0.0, "roaming?")
    s.audio(0.100, 600, "filler")  # plays until 0.700
    s.at(0.130, "local", "local.supervisor.request", call_id="c1")
    s.at(0.500, "local", "local.supervisor.response", call_id="c1", text="ok")
    s.audio(0.600, 100, "answer")
    return s
