"""The session's event log: every client, server and local event, timestamped.

Each entry has ``t`` (seconds on the session's monotonic clock, from its start),
the direction (``client`` ▲, ``server`` ▼ or ``local`` for things the session
did itself, such as flushing playback), the agent active at the time, and the
input audio clock. Bulk audio is moved out of the events into two streams (all
input audio as appended, all output audio as received), so the log stays small
and a recording can restore every event exactly.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import events as ev

FORMAT_VERSION = 1
_AUDIO_FIELDS = {ev.INPUT_AUDIO_APPEND: "audio", ev.AUDIO_DELTA: "delta"}


@dataclass(frozen=True)
class LoggedEvent:
    t: float
    direction: str
    agent: str
    event: dict[str, Any]
    #: Milliseconds of input audio appended so far (the server's audio clock).
    input_ms: float

    @property
    def type(self) -> str:
        return self.event.get("type", "")

    def to_json(self) -> dict[str, Any]:
        return {"t": self.t, "dir": self.direction, "agent": self.agent,
                "input_ms": self.input_ms, "event": self.event}


class EventLog:
    """Append-only; audio lives in :attr:`input_audio` / :attr:`output_audio` (24 kHz PCM16)."""

    def __init__(self) -> None:
        self.entries: list[LoggedEvent] = []
        self.input_audio = bytearray()
        self.output_audio = bytearray()

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[LoggedEvent]:
        return iter(self.entries)

    def __getitem__(self, index):
        return self.entries[index]

    @property
    def input_ms(self) -> float:
        return len(self.input_audio) / 48

    def add(self, t: float, direction: str, agent: str, event: dict[str, Any],
            pcm: bytes | None = None) -> LoggedEvent:
        """Log an event; ``pcm`` is its 24 kHz PCM16 audio, stored in the matching stream."""
        field = _AUDIO_FIELDS.get(event.get("type", ""))
        if field is not None and field in event:
            stream = self.input_audio if direction == "client" else self.output_audio
            audio = pcm if pcm is not None else base64.b64decode(event[field])
            event = {**event, field: {"$audio": [len(stream), len(audio)]}}
            stream.extend(audio)
        # Rounded as saved, so a loaded recording derives exactly the same figures.
        entry = LoggedEvent(round(t, 6), direction, agent, event, round(self.input_ms, 3))
        self.entries.append(entry)
        return entry

    def audio_of(self, entry: LoggedEvent) -> bytes:
        """The PCM that an append or output delta carried."""
        field = _AUDIO_FIELDS.get(entry.type)
        ref = entry.event.get(field, {}) if field else {}
        if not isinstance(ref, dict) or "$audio" not in ref:
            return b""
        start, length = ref["$audio"]
        stream = self.input_audio if entry.direction == "client" else self.output_audio
        return bytes(stream[start:start + length])

    # -- files -------------------------------------------------------------------------------

    def save(self, path: str | Path, meta: dict[str, Any] | None = None) -> Path:
        """Write ``events.jsonl``, ``input.wav``, ``output.wav`` and ``meta.json`` to a folder."""
        from .. import audio as wav

        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "events.jsonl", "w") as f:
            for entry in self.entries:
                f.write(json.dumps(entry.to_json(), separators=(",", ":")) + "\n")
        wav.write_wav(folder / "input.wav", bytes(self.input_audio))
        wav.write_wav(folder / "output.wav", bytes(self.output_audio))
        info = {"format": "rtnb-recording", "version": FORMAT_VERSION, "events": len(self),
                **(meta or {})}
        (folder / "meta.json").write_text(json.dumps(info, indent=2))
        return folder

    @classmethod
    def load(cls, path: str | Path) -> tuple[EventLog, dict[str, Any]]:
        from .. import audio as wav

        folder = Path(path)
        if not (folder / "events.jsonl").exists():
            raise FileNotFoundError(f"{folder} is not an rtnb recording (no events.jsonl)")
        meta = json.loads((folder / "meta.json").read_text()) if (
            folder / "meta.json").exists() else {}
        log = cls()
        log.input_audio = bytearray(_pcm(wav, folder / "input.wav"))
        log.output_audio = bytearray(_pcm(wav, folder / "output.wav"))
        with open(folder / "events.jsonl") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    d = json.loads(line)
                    log.entries.append(LoggedEvent(d["t"], d["dir"], d["agent"], d["event"],
                                                   d["input_ms"]))
                except (ValueError, KeyError) as exc:
                    raise ValueError(f"{folder / 'events.jsonl'} line {n} is damaged: "
                                     f"{exc}") from None
        return log, meta


def _pcm(wav: Any, path: Path) -> bytes:
    if not path.exists():
        return b""
    samples, rate = wav.read_wav(path)
    if rate != 24000:
        samples = wav.resample(samples, rate, 24000)
    return wav.to_pcm16(samples)
