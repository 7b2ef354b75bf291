"""Two small anywidgets for the panel: a keyed row list and a press-and-hold button.

Their JavaScript lives next to this file (``row_list.js``, ``hold_button.js``);
``panel.css`` is served with the row list and styles the whole panel.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from .rows import Row

HERE = Path(__file__).parent


class RowList(anywidget.AnyWidget):
    """A scrolling list of keyed rows that updates in place (see ``row_list.js``).

    Rows live in Python; the browser gets only what changed, and a view that
    (re)renders asks for all of them. A row's ``<button data-rtnb-action=…
    data-rtnb-call=…>`` calls the :meth:`on_action` callbacks with both values. :meth:`put` adds new rows at the end or
    updates known ones; :meth:`sync` makes the list equal to a given one.
    Thread-safe: views ask for rows from the widget thread.
    """

    _esm = HERE / "row_list.js"
    _css = HERE / "panel.css"
    placeholder = traitlets.Unicode("").tag(sync=True)
    max_rows = traitlets.Int(500).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self._rows: dict[str, Row] = {}
        self._ops: list[dict[str, Any]] = []
        self._pending: dict[str, dict[str, Any]] = {}  # the last queued op of each key
        self._actions: list[Any] = []
        self.on_msg(self._on_msg)

    def on_action(self, callback: Any) -> None:
        """Call ``callback(action, call_id)`` when a row's button is clicked (widget thread)."""
        self._actions.append(callback)

    @property
    def rows(self) -> list[Row]:
        with self._lock:
            return list(self._rows.values())

    @property
    def value(self) -> str:
        """All rows as HTML, as the browser shows them."""
        return "".join(row.html() for row in self.rows)

    def put(self, rows: list[Row]) -> None:
        """Append new rows, update known ones in place (queued until :meth:`flush`)."""
        with self._lock:
            for row in rows:
                old = self._rows.get(row.key)
                if old != row:
                    self._rows[row.key] = row
                    self._queue(_put(row, old))
            self._trim()

    def sync(self, rows: list[Row]) -> None:
        """Make the list ``rows``, in that order (queued until :meth:`flush`)."""
        with self._lock:
            keys = {row.key for row in rows}
            for key in [k for k in self._rows if k not in keys]:
                del self._rows[key]
                self._queue({"op": "drop", "key": key})
            order = list(self._rows)
            after: str | None = None
            for row in rows:
                if row.key not in self._rows:
                    self._queue({"op": "put", "after": after, **row.to_json()})
                    order.insert(order.index(after) + 1 if after is not None else 0, row.key)
                elif self._rows[row.key] != row:
                    self._queue(_put(row, self._rows[row.key]))
                self._rows[row.key] = row
                after = row.key
            self._rows = {key: self._rows[key] for key in order}
            self._trim()

    def flush(self) -> None:
        """Send the queued changes to the browser, in one message."""
        with self._lock:  # sent under the lock: a view's reset never overtakes these
            ops, self._ops, self._pending = self._ops, [], {}
            if ops:
                self.send({"type": "rows", "ops": ops})

    def _queue(self, op: dict[str, Any]) -> None:
        """Queue ``op``; a later put of a queued row only replaces its content."""
        key = op["key"]
        queued = self._pending.get(key)
        if op["op"] == "put" and queued is not None and queued["op"] == "put":
            queued.update({k: v for k, v in op.items() if k != "after"})
            return
        self._pending[key] = op
        self._ops.append(op)

    def _trim(self) -> None:
        for key in list(self._rows)[:max(0, len(self._rows) - self.max_rows)]:
            del self._rows[key]

    def _on_msg(self, _widget: Any, content: dict[str, Any], _buffers: list[Any]) -> None:
        if content.get("type") == "action":
            for callback in self._actions:
                callback(str(content.get("action")), str(content.get("call")))
        elif content.get("type") == "ready":
            with self._lock:
                ops = [{"op": "put", **row.to_json()} for row in self._rows.values()]
                self.send({"type": "reset", "view": content.get("view"), "ops": ops})


def _put(row: Row, old: Row | None) -> dict[str, Any]:
    """The op that turns ``old`` into ``row``; an unchanged body is not sent again."""
    op = {"op": "put", **row.to_json()}
    if old is not None and old.body == row.body:
        del op["body"]
    return op


class HoldButton(anywidget.AnyWidget):
    """A button whose ``pressed`` is true while it is held (pointer, Space or Enter)."""

    _esm = HERE / "hold_button.js"
    description = traitlets.Unicode("").tag(sync=True)
    #: A Font Awesome icon name, as for ``ipywidgets.Button``.
    icon = traitlets.Unicode("").tag(sync=True)
    pressed_description = traitlets.Unicode("").tag(sync=True)
    tooltip = traitlets.Unicode("").tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)
    pressed = traitlets.Bool(False).tag(sync=True)
