"""HTML for results: a pass/fail grid (calls × repetitions), the failed checks, and the
latency distribution plot, inline, so the ``--report`` file stands alone."""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .results import Results

_MARK = {True: ("✓", "#2a9d8f", "passed"), False: ("✗", "#d62828", "failed"),
         None: ("–", "#6c757d", "skipped")}


def latency_plot(results: Results) -> Any:
    """Each call's turn e2e (ms) as dots on one row per call, with the p50 and p95 of all;
    an :class:`rtnb.plots.Plot`."""
    from ..analysis.metrics import percentile
    from ..plots.figure import COLORS, SMALL, Plot, message, new_figure, short, style

    names = list(dict.fromkeys(c["name"] for c in results.calls))
    if not results.e2e_values():
        return Plot(message("No turn was answered with audio: no e2e to plot."))
    fig = new_figure(1.2 + 0.32 * len(names))
    ax = fig.add_subplot()
    for y, name in enumerate(names):
        for c in results.calls:
            if c["name"] != name:
                continue
            xs = [t["e2e"] for t in c["metrics"]["turns"] if t.get("e2e") is not None]
            color = COLORS["target"] if c["passed"] is False else COLORS["audio"]
            ax.scatter(xs, [y] * len(xs), s=22, color=color, alpha=0.75, zorder=3)
    values = sorted(results.e2e_values())
    for p, ls in ((50, "-"), (95, "--")):
        x = percentile(values, p)
        ax.axvline(x, color=COLORS["muted"], ls=ls, lw=1)
        ax.text(x, 1.01, f"p{p} {x:.0f} ms", fontsize=SMALL, color=COLORS["muted"],
                va="bottom", ha="center", transform=ax.get_xaxis_transform())
    ax.set_yticks(range(len(names)), [short(n, 40) for n in names])
    ax.set_ylim(-0.6, len(names) - 0.1)
    ax.invert_yaxis()
    ax.set_xlim(0, values[-1] * 1.06)
    ax.set_xlabel("e2e per turn (ms): end of the caller's input → first reply audio; "
                  "red: a failed call")
    ax.grid(axis="x", alpha=0.3)
    style(ax)
    return Plot(fig)


def _link(recording: str | None, base: Path | None) -> str:
    if not recording:
        return ""
    target = Path(recording)
    href = target.as_uri() if base is None else os.path.relpath(target, base)
    return f" <a href='{html.escape(href)}/'>recording</a>"


def results_html(results: Results, *, standalone: bool, base: Path | None = None) -> str:
    s = results.summary()
    names = list(dict.fromkeys(c["name"] for c in results.calls))
    repeats = sorted({c["repeat"] for c in results.calls})
    by_key = {(c["name"], c["repeat"]): c for c in results.calls}
    head = "".join(f"<th>r{r}</th>" for r in repeats)
    rows = ""
    for name in names:
        cells = ""
        for r in repeats:
            c = by_key.get((name, r))
            if c is None:
                cells += "<td></td>"
                continue
            mark, color, word = _MARK[c["passed"]]
            bad = [f"turn {k['turn']} {k['check']}" for k in c["checks"] if k["passed"] is False]
            title = html.escape("; ".join(bad) or word)
            cells += (f"<td style='text-align:center;color:{color};font-weight:bold' "
                      f"title='{title}'>{mark}</td>")
        rows += f"<tr><td>{html.escape(name)}</td>{cells}</tr>"
    grid = (f"<table class='rtnb-eval-grid'><thead><tr><th>call</th>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table>")
    fails = ""
    for f in results.failures:
        items = "".join(
            f"<li>{'whole call' if k['turn'] == 0 else 'turn ' + str(k['turn'])}: "
            f"<b>{html.escape(k['check'])}</b> expected <code>{html.escape(_text(k['expected']))}"
            f"</code>, got <code>{html.escape(_text(k['actual']))}</code></li>"
            for k in f.checks)
        fails += (f"<div><b>{html.escape(f.name)}</b> (r{f.repeat})"
                  f"{_link(f.recording, base if standalone else None)}<ul>{items}</ul></div>")
    skipped = {k["skipped"] for k in results.checks if k.get("skipped")}
    notes = "".join(f"<p><i>skipped: {html.escape(r)}</i></p>" for r in sorted(skipped))
    png = base64.b64encode(latency_plot(results).png()).decode("ascii")
    e2e = s.get("e2e_ms")
    e2e_text = f", e2e p50 {e2e['p50']:.0f} ms, p95 {e2e['p95']:.0f} ms" if e2e else ""
    title = (f"{html.escape(s['suite'])}: {s['passed']} passed, {s['failed']} failed, "
             f"{s['skipped']} skipped of {s['calls']} calls ({s['mode']} mode, "
             f"{s['seconds']:.1f} s{e2e_text})")
    body = (f"<div class='rtnb-eval tex2jax_ignore mathjax_ignore'><h3>{title}</h3>{grid}"
            f"{'<h4>Failures</h4>' + fails if fails else ''}{notes}"
            f"<img alt='latency distribution' style='max-width:100%;margin-top:1em' "
            f"src='data:image/png;base64,{png}'></div>")
    if not standalone:
        return body
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>rtnb eval {html.escape(s['suite'])}</title><style>"
            "body{font-family:system-ui,sans-serif;margin:2em}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}"
            f"</style></head><body>{body}</body></html>\n")


def _text(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value, default=str)
