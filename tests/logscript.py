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
        from rtnb.session.metrics import compute_turns

        return compute_turns(self.log.entries)

    def text(self, t, text):
        return self.at(t, "client", "conversation.item.create", item={
            "type": "message", "role": "user", "content": [{"type": "input_text",
                                                            "text": text}]})
