"""The event vocabulary: local records round-trip, markers are recognised."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from rtnb import events as ev


@pytest.mark.parametrize("record", [
    ev.Connected(agent="Greeter", backend="local"),
    ev.Reconnected(agent="Greeter", backend="url", previous="dropped",
                   items=[{"id": "i1", "type": "message"}]),
    ev.Disconnected(reason="closed"),
    ev.Handoff(to="Billing", call_id="call_1", from_agent="Triage"),
    ev.GuardrailChecked(response_id="r1", item_id="i2", final=True,
                        result={"tripped": False, "guardrail": "g"}),
    ev.GuardrailGaveUp(response_id="r1", guardrail="g"),
    ev.PlaybackFlushed(reason="barge_in", item_id="i3", played_ms=120.5),
    ev.SupervisorRequest(call_id="c", context="ctx"),
    ev.SupervisorTool(call_id="c", name="lookup", arguments="{}", output="{}"),
    ev.SupervisorResponse(call_id="c", text="answer", rounds=2),
    ev.Note(extra={"complaint": "late"}),
])
def test_local_records_round_trip_through_json(record):
    event = json.loads(json.dumps(record.to_event()))
    assert event["type"] == record.TYPE and ev.is_local(event["type"])
    assert ev.parse_local(event) == record


def test_handoff_keeps_the_wire_name_from():
    event = ev.Handoff(to="B", call_id=None, from_agent="A").to_event()
    assert event == {"type": "local.handoff", "to": "B", "call_id": None, "from": "A"}


def test_every_local_kind_is_registered_once():
    kinds = [cls.TYPE for cls in ev.LOCAL_EVENTS.values()]
    assert len(kinds) == len(set(kinds)) == 16
    assert ev.parse_local({"type": "local.unknown"}) is None


def test_old_recordings_with_unknown_fields_still_parse():
    rec = ev.parse_local({"type": "local.disconnected", "reason": "x", "added_later": 1})
    assert rec == ev.Disconnected(reason="x")


def test_handoff_names():
    name = ev.handoff_tool_name("Billing agent")
    assert name == "transfer_to_billing_agent"
    assert ev.is_handoff(name) and ev.handoff_target(name) == "billing_agent"
    assert not ev.is_handoff("get_weather") and not ev.is_handoff(None)
    assert ev.handoff_target("get_weather") == ""


def test_correction_is_recognised_by_id_or_wording():
    text = ev.correction_text("moderation", "violence", None)
    assert "no reason given" in text
    assert ev.is_correction({"id": ev.CORRECTION_ID_PREFIX + "000001"})
    assert ev.is_correction({"id": "item_other"}, text)
    assert not ev.is_correction({"id": "item_other"}, "What's the weather?")


# -- one vocabulary: no module spells an event name out ---------------------------------------

#: Modules allowed to spell event names out (none: every module imports rtnb.events).
NOT_YET: tuple[str, ...] = ()


def _vocabulary() -> set[str]:
    wire = {v for k, v in vars(ev).items() if k.isupper() and isinstance(v, str)
            and re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", v)}
    return wire | set(ev.LOCAL_EVENTS) | {ev.LOCAL_PREFIX, ev.HANDOFF_PREFIX,
                                           ev.CORRECTION_ID_PREFIX}


def _spelled_out(tree: ast.AST, names: set[str]) -> list[tuple[int, str]]:
    """String literals equal to an event name; ``"error"`` only where it can be a type
    (compared, or a dict's ``"type"``), since it is also a field name."""
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value in names:
            hits.append((node.lineno, node.value))
        elif isinstance(node, ast.Compare):
            hits += [(c.lineno, c.value) for c in ast.walk(node)
                     if isinstance(c, ast.Constant) and c.value == ev.ERROR]
        elif isinstance(node, ast.Dict):
            hits += [(v.lineno, v.value) for k, v in zip(node.keys, node.values, strict=True)
                     if isinstance(k, ast.Constant) and k.value == "type"
                     and isinstance(v, ast.Constant) and v.value == ev.ERROR]
    return hits


def test_the_scan_finds_spelled_out_names():
    code = ('if e.type == "input_audio_buffer.committed" or kind == "error":\n'
            '    send({"type": "error", "error": {}})\n'
            'name.startswith("transfer_to_")\n'
            'log({"error": "x"}, "local.handoff")\n')
    assert sorted(_spelled_out(ast.parse(code), _vocabulary())) == [
        (1, "error"), (1, "input_audio_buffer.committed"), (2, "error"), (3, "transfer_to_"),
        (4, "local.handoff")]


def test_no_event_name_is_spelled_out_outside_the_vocabulary():
    root = Path(ev.__file__).parent
    names = _vocabulary()
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel == "events.py" or rel.startswith(NOT_YET):
            continue
        found += [f"rtnb/{rel}:{line}: {value!r}"
                  for line, value in _spelled_out(ast.parse(path.read_text()), names)]
    assert not found, "use the constants of rtnb.events:\n" + "\n".join(found)
