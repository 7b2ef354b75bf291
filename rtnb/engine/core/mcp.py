"""A session's MCP servers, sans-I/O: their listed tools, approvals, and the list items.

A ``type: "mcp"`` tool in ``session.update`` names a server (``server_label`` and
``server_url``). Each new or changed server gets an ``mcp_list_tools`` item in the
conversation: ``conversation.item.added``, ``mcp_list_tools.in_progress``, then (once the
I/O layer has listed it, :class:`~.effects.ListMcpTools`) ``mcp_list_tools.completed`` or
``.failed`` and ``conversation.item.done`` with the tools. The brain sees the listed tools
(those ``allowed_tools`` lets through) as function tools; which calls wait for the user's
approval follows ``require_approval`` (unset means ``"always"``, as on OpenAI).

Secrets (``authorization``, header values) stay in this registry: the session object the
client sees has them masked.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...events import (
    ERROR,
    ITEM_ADDED,
    ITEM_DONE,
    MCP_LIST_TOOLS_COMPLETED,
    MCP_LIST_TOOLS_FAILED,
    MCP_LIST_TOOLS_IN_PROGRESS,
)
from ..conversation import Conversation, Entry
from ..errors import ProtocolError
from .effects import ListMcpTools, Output

#: What the masked secrets read as in the session object.
MASK = "[redacted]"
#: The fields that say which server a tool reaches (a change lists it again).
_IDENTITY = ("server_url", "connector_id", "headers", "authorization", "allowed_tools")


@dataclass
class McpServer:
    """One configured server: its tool config (secrets included) and list item."""

    config: dict[str, Any]
    item_id: str
    tools: list[dict[str, Any]] | None = None  # None until listed


def masked(tool: dict[str, Any]) -> dict[str, Any]:
    """The tool config as the session object shows it: secrets masked."""
    if tool.get("type") != "mcp":
        return tool
    shown = dict(tool)
    if shown.get("authorization"):
        shown["authorization"] = MASK
    if shown.get("headers"):
        shown["headers"] = {k: MASK for k in shown["headers"]}
    return shown


def _allowed(config: dict[str, Any], tool: dict[str, Any]) -> bool:
    allowed = config.get("allowed_tools")
    if allowed is None:
        return True
    if isinstance(allowed, list):
        return tool["name"] in allowed
    return _matches(allowed, tool)


def _matches(flt: dict[str, Any] | None, tool: dict[str, Any]) -> bool:
    """Does an MCP tool filter (``tool_names`` and/or ``read_only``) select ``tool``?"""
    if not flt:
        return False
    names = flt.get("tool_names")
    if names is not None and tool["name"] not in names:
        return False
    read_only = flt.get("read_only")
    if read_only is not None and bool((tool.get("annotations") or {}).get("readOnlyHint")) \
            != read_only:
        return False
    return names is not None or read_only is not None


def needs_approval(config: dict[str, Any], tool: dict[str, Any]) -> bool:
    """Does calling ``tool`` wait for the user's approval under ``require_approval``?"""
    rule = config.get("require_approval")
    if rule in (None, "always"):
        return True
    if rule == "never":
        return False
    # Only a "never" match skips the question; an "always" match or no match asks.
    return not _matches(rule.get("never"), tool)


class McpServers:
    """The session's MCP servers by label."""

    def __init__(self, conversation: Conversation, event: Callable[..., dict[str, Any]],
                 new_id: Callable[[str], str]) -> None:
        self.conversation = conversation
        self._event = event
        self._new_id = new_id
        self.servers: dict[str, McpServer] = {}

    def configure(self, tools: list[dict[str, Any]]) -> list[Output]:
        """The session's tools changed: list every new or changed server, forget the rest."""
        wanted = {t["server_label"]: t for t in tools if t.get("type") == "mcp"}
        for label in [k for k in self.servers if k not in wanted]:
            del self.servers[label]
        out: list[Output] = []
        for label, config in wanted.items():
            known = self.servers.get(label)
            if known is not None and all(known.config.get(k) == config.get(k)
                                         for k in _IDENTITY):
                known.config = copy.deepcopy(config)  # description, approvals: no new listing
                continue
            item_id = self._new_id("item")
            item = {"id": item_id, "object": "realtime.item", "type": "mcp_list_tools",
                    "server_label": label, "tools": []}
            previous = self.conversation.add(Entry(item=item))
            self.servers[label] = McpServer(copy.deepcopy(config), item_id)
            out += [self._event(ITEM_ADDED, previous_item_id=previous, item=copy.deepcopy(item)),
                    self._event(MCP_LIST_TOOLS_IN_PROGRESS, item_id=item_id)]
            if config.get("server_url"):
                out.append(ListMcpTools(item_id, copy.deepcopy(config)))
            else:
                out += self.failed(item_id, f"MCP server '{label}' has no server_url: the local "
                                            f"engine reaches MCP servers by URL (connectors "
                                            f"such as {config.get('connector_id')} are "
                                            f"OpenAI's).")
        return out

    def _server(self, item_id: str) -> McpServer | None:
        return next((s for s in self.servers.values() if s.item_id == item_id), None)

    def listed(self, item_id: str, tools: list[dict[str, Any]]) -> list[Output]:
        """The server's tools arrived; keeps those ``allowed_tools`` lets through."""
        server = self._server(item_id)
        if server is None or item_id not in self.conversation:
            return []  # reconfigured or deleted meanwhile
        server.tools = [t for t in tools if _allowed(server.config, t)]
        item = self.conversation.get(item_id).item
        item["tools"] = copy.deepcopy(server.tools)
        return [self._event(MCP_LIST_TOOLS_COMPLETED, item_id=item_id),
                self._event(ITEM_DONE, previous_item_id=self.conversation.previous_id(item_id),
                            item=copy.deepcopy(item))]

    def failed(self, item_id: str, message: str) -> list[Output]:
        """Listing failed: the item is done with no tools, and an ``error`` says why."""
        server = self._server(item_id)
        if server is None or item_id not in self.conversation:
            return []
        server.tools = []
        item = self.conversation.get(item_id).item
        err = ProtocolError("mcp_list_tools_failed", message, "session.tools")
        return [self._event(MCP_LIST_TOOLS_FAILED, item_id=item_id),
                self._event(ITEM_DONE, previous_item_id=self.conversation.previous_id(item_id),
                            item=copy.deepcopy(item)),
                self._event(ERROR, error=err.payload(None))]

    def _usable(self, tools_param: list[dict[str, Any]]) -> list[McpServer]:
        labels = [t.get("server_label") for t in tools_param if t.get("type") == "mcp"]
        return [self.servers[label] for label in labels
                if label in self.servers and self.servers[label].tools]

    def functions(self, tools_param: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The listed tools of the servers in ``tools_param``, as function tools (for a brain)."""
        return [{"type": "function", "name": t["name"], "description": t.get("description")
                 or "", "parameters": t.get("input_schema") or {"type": "object"}}
                for server in self._usable(tools_param) for t in server.tools or []]

    def find(self, tools_param: list[dict[str, Any]], name: str
             ) -> tuple[McpServer, dict[str, Any]] | None:
        """The server in ``tools_param`` that lists a tool called ``name``, and that tool."""
        for server in self._usable(tools_param):
            for t in server.tools or []:
                if t["name"] == name:
                    return server, t
        return None
