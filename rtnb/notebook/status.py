"""The panel's status line (pure): what the conversation is doing, and how fast it was.

One line that never wraps: a coloured state pill, the last turn's latency
against the targets (green within, red beyond), then details that may be cut
off with an ellipsis when the cell is narrow.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from ..plots import TARGETS
from .activity import Phase

#: How the last turn's figures are named next to the targets they are held to.
LATENCY_NAMES = {"e2e": "reply", "barge_in": "interruption", "handoff_time": "handoff"}
#: Mark rtnb's HTML so Jupyter's math typesetting leaves "$379, down from $449" alone.
NO_MATH = "tex2jax_ignore mathjax_ignore"


@dataclass(frozen=True)
class StatusView:
    phase: Phase
    agent: str
    #: Seconds in this phase (shown while thinking).
    for_s: float = 0.0
    error: str | None = None
    closed_reason: str | None = None
    turns: int = 0
    last_turn: Any = None
    mic_frames: int = 0
    delays: dict[str, float | None] | None = None
    #: The talk button is held but the browser's mic is off.
    mic_off: bool = False


def pill(view: StatusView) -> str:
    agent = html.escape(view.agent)
    label = {
        "disconnected": "○ " + html.escape(view.closed_reason or "not connected"),
        "listening": "● listening",
        "user_speaking": "● talking, but the mic is off" if view.mic_off else "● you're speaking",
        "thinking": f"● thinking {view.for_s:.1f} s",
        "approval": f"● a tool call waits for your approval ({view.for_s:.0f} s)",
        "agent_speaking": f"● {agent} speaking",
        "failed": "⚠ " + html.escape(view.error or "failed"),
    }[view.phase]
    title = html.escape(view.error or "", quote=True)
    return (f"<span class='rtnb-state rtnb-state-{view.phase}' data-phase='{view.phase}'"
            f" title='{title}'>{label}</span>")


def latency(turn: Any) -> str:
    """The last turn's figures that have a target, each coloured against it."""
    parts = []
    for metric, name in LATENCY_NAMES.items():
        value = getattr(turn, metric, None) if turn is not None else None
        if value is None:
            continue
        target = TARGETS[metric]
        verdict = "ok" if value < target else "late"
        parts.append(f"<span class='rtnb-lat rtnb-{verdict}' data-metric='{metric}' "
                     f"title='target: under {target / 1000:g} s'>{name} {_ms(value)}</span>")
    return ("last turn: " + " ".join(parts)) if parts else "last turn: —"


def status_html(view: StatusView) -> str:
    more = [f"<b>{html.escape(view.agent)}</b>", f"{view.turns} turn{'s' * (view.turns != 1)}"]
    if view.mic_frames:
        more.append(f"<span data-frames='{view.mic_frames}' title='{view.mic_frames} frames of "
                    f"20 ms reached the kernel'>mic {view.mic_frames / 50:.1f} s</span>")
    hops = (("browser→kernel", "browser_to_kernel_ms"), ("kernel→browser", "kernel_to_browser_ms"))
    more += [f"{arrow} {view.delays[k]:.0f} ms" for arrow, k in hops
             if view.delays and view.delays.get(k) is not None]
    return (f"<div class='rtnb-statusbar {NO_MATH}'>{pill(view)}"
            f"<span class='rtnb-latency'>{latency(view.last_turn)}</span>"
            f"<span class='rtnb-more'>{' · '.join(more)}</span></div>")


def _ms(value: float) -> str:
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.2f} s"
