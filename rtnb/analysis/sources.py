"""What the analysis accepts: a Session, a Recording, an EventLog, or a list of its entries.

Read by duck typing (an event log has ``entries`` and ``input_audio``; an entry has ``t``,
``direction``, ``event`` and ``input_ms``), so this layer never imports the session
package, which imports it.
"""

from __future__ import annotations

from typing import Any

from .metrics import MetricsTable, Turn, compute_turns

_ENTRY_FIELDS = ("t", "direction", "agent", "event", "input_ms")


def is_entry(obj: Any) -> bool:
    """True for a logged event (:class:`rtnb.session.eventlog.LoggedEvent` or alike)."""
    return all(hasattr(obj, name) for name in _ENTRY_FIELDS)


def event_log(source: Any) -> Any | None:
    """The EventLog of a Session or Recording (or the log itself), else None."""
    log = getattr(source, "log", source)
    return log if hasattr(log, "entries") and hasattr(log, "input_audio") else None


def entries_of(source: Any) -> list[Any] | None:
    """The log entries of a Session, Recording, EventLog or list of entries, else None."""
    log = event_log(source)
    if log is not None:
        return list(log.entries)
    if isinstance(source, (list, tuple)) and all(is_entry(e) for e in source):
        return list(source)
    return None


def metrics_of(source: Any) -> MetricsTable:
    """A MetricsTable from any of the above, or from a MetricsTable or a list of turns."""
    if isinstance(source, MetricsTable):
        return source
    if isinstance(source, (list, tuple)) and all(isinstance(t, Turn) for t in source):
        return MetricsTable(list(source))
    entries = entries_of(source)
    if entries is None:
        raise TypeError(f"cannot analyse {type(source).__name__}; expected a Session, "
                        "a Recording, a MetricsTable or an event log")
    return MetricsTable(compute_turns(entries))
