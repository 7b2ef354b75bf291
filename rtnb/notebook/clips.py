"""Record a clip in the browser with ipywebrtc, decode it, and send it as a turn.

ipywebrtc only produces finished clips (webm/opus), so this is the
"record, then send" path; live streaming is :class:`~rtnb.notebook.LiveAudio`.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

import ipywidgets as W
import numpy as np


def decode_clip(data: bytes, rate: int = 24000) -> np.ndarray:
    """Decode a webm/opus (or any FFmpeg-readable) clip to mono float32 at ``rate``."""
    import av

    if not data:
        raise ValueError("the clip is empty: record something first")
    chunks = []
    with av.open(io.BytesIO(data)) as container:
        stream = next((s for s in container.streams if s.type == "audio"), None)
        if stream is None:
            raise ValueError("the clip has no audio track")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)


class ClipRecorder(W.VBox):
    """An ipywebrtc ``AudioRecorder`` plus a button that sends the clip to the session."""

    def __init__(self, session: Any) -> None:
        from ipywebrtc import AudioRecorder, CameraStream

        self.session = session
        self._loop = asyncio.get_event_loop()
        stream = CameraStream(constraints={"audio": True, "video": False})
        self.recorder = AudioRecorder(stream=stream)
        self.send_button = W.Button(description="Send clip", icon="paper-plane")
        self.status = W.HTML()
        self.send_button.on_click(lambda _b: self._loop.call_soon_threadsafe(self._start_send))
        super().__init__([self.recorder, W.HBox([self.send_button, self.status])])

    def _start_send(self) -> None:
        self._loop.create_task(self.send())

    async def send(self) -> float:
        """Decode the recorded clip and send it (committing it in push-to-talk mode)."""
        try:
            samples = decode_clip(bytes(self.recorder.audio.value))
            ms = await self.session.send_audio(
                samples, 24000, commit=self.session.turn_detection is None)
            self.status.value = f"sent {ms / 1000:.1f} s of audio"
            return ms
        except Exception as exc:
            self.status.value = f"<span style='color:#c62828'>⚠ {exc}</span>"
            raise
