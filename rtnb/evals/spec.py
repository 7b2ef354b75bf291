"""The unit of work of an evaluation: one call of a suite, one repetition.

A :class:`CallSpec` is plain, frozen, picklable data, so any executor (threads here, a
process pool, Ray actors) can ship it to a worker, which runs it with
:func:`rtnb.evals.runner.run_call` and sends back a JSON-able dict.
"""

from __future__ import annotations

from dataclasses import dataclass

BACKENDS = ("local", "openai")


@dataclass(frozen=True)
class CallSpec:
    """Run call ``call_index`` of the suite at ``suite_path``, repetition ``repeat``.

    - ``backend``: ``"local"`` (a warm engine in the worker's process), ``"openai"`` or a
      ``ws://`` URL.
    - ``mode``: ``"audio"`` or ``"text"`` to override the suite's mode, else None.
    - ``record_dir``: save the call's recording under this folder (None: don't).
    - ``judge``: ``"URL#model"`` of an OpenAI-compatible endpoint for ``judge:`` checks
      and goal-driven callers (None: OpenAI's Responses API when ``OPENAI_API_KEY`` is set,
      else those are skipped with the reason).
    """

    suite_path: str
    call_index: int
    repeat: int = 0
    backend: str = "local"
    mode: str | None = None
    record_dir: str | None = None
    judge: str | None = None

    def __post_init__(self) -> None:
        if self.call_index < 0 or self.repeat < 0:
            raise ValueError("call_index and repeat are >= 0")
        if self.backend not in BACKENDS and not self.backend.startswith(("ws://", "wss://")):
            raise ValueError(f"backend must be 'local', 'openai' or a ws:// URL, "
                             f"not {self.backend!r}")
        if self.mode not in (None, "audio", "text"):
            raise ValueError(f"mode must be 'audio', 'text' or None, not {self.mode!r}")


class ExecutorUnavailable(RuntimeError):
    """The executor asked for can't be used here (the CLI's exit 2). Here, not in
    :mod:`.executors`, so executors loaded from there (Ray's) can raise it."""
