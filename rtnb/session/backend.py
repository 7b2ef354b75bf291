"""Where a session connects: the local engine, OpenAI, a ws:// URL or a recording."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..models import LOCAL as LOCAL_MODEL
from ..models import openai_model


@dataclass
class Backend:
    """Where a session connects: ``kind`` is local, openai, url or replay (or the
    ``kind`` of a transport passed in, such as ``scripted``)."""

    kind: str
    ws_url: str | None = None
    http_url: str | None = None
    model: str = LOCAL_MODEL
    text_model: str = LOCAL_MODEL
    reasoning_model: str = LOCAL_MODEL
    path: Path | None = None
    _key: str | None = None  # never shown

    def __repr__(self) -> str:
        where = self.ws_url or self.path or ("api.openai.com" if self.kind == "openai"
                                             else "in process")
        return f"Backend({self.kind}, {where})"

    def http_client(self) -> Any:
        from openai import AsyncOpenAI

        if self.kind == "openai":
            return AsyncOpenAI(api_key=self._key)
        return AsyncOpenAI(api_key=self._key or "local", base_url=self.http_url)


def resolve_backend(backend: Any = None, *, model: str | None = None) -> Backend:
    """``None`` → OpenAI when ``OPENAI_API_KEY`` is set, else the local engine.

    On OpenAI, ``model`` (else ``RTNB_REALTIME_MODEL``, else :mod:`rtnb.models`' default)
    is the realtime model; the text and reasoning models come from :mod:`rtnb.models`.
    """
    if backend is None:
        backend = "openai" if os.environ.get("OPENAI_API_KEY") else "local"
    if isinstance(backend, Backend):
        return backend
    if hasattr(backend, "url") and hasattr(backend, "http_url"):  # a RunningEngine
        return Backend("url", backend.url, backend.http_url, model or LOCAL_MODEL)
    if not isinstance(backend, (str, Path)):
        raise TypeError(f"backend must be 'local', 'openai', a ws:// URL, a running engine or "
                        f"a recording path, not {type(backend).__name__}")
    text = str(backend)
    if text == "local":
        from ..engine.background import shared_engine

        engine = shared_engine()
        return Backend("local", engine.url, engine.http_url, model or LOCAL_MODEL)
    if text == "openai":
        key = os.environ.get("OPENAI_API_KEY")
        if not key:
            raise RuntimeError("backend='openai' needs OPENAI_API_KEY in the environment; "
                               "use backend='local' to run offline on the embedded engine.")
        return Backend("openai", None, None, model or openai_model("realtime"),
                       openai_model("text"), openai_model("reasoning"), _key=key)
    if text.startswith(("ws://", "wss://")):
        base = text.split("/realtime", 1)[0].rstrip("/")
        http = "http" + base[2:]
        return Backend("url", base, http, model or LOCAL_MODEL,
                       _key=os.environ.get("RTNB_TOKEN"))
    path = Path(text)
    if (path / "events.jsonl").exists():
        return Backend("replay", path=path)
    raise ValueError(f"unknown backend {text!r}: use 'local', 'openai', a ws:// URL or the "
                     f"folder of a saved recording")
