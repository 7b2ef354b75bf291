"""Checks, through the real runner, on ScriptedTransport sessions (milliseconds each)."""

from __future__ import annotations

import json
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from rtnb.evals.checks import args_match
from rtnb.evals.judge import UNAVAILABLE, parse_verdict
from rtnb.evals.runner import run_call_async
from rtnb.evals.spec import CallSpec
from rtnb.session.scripted import ScriptedTransport, audio, handoff, text, tool_call

HEAD = "agent: tests.evals.eval_agents:desk\nmode: text\ncalls:\n"


async def run_scripted(tmp_path, calls_yaml: str, *script, judge: str | None = None,
                       head: str = HEAD):
    path = tmp_path / "suite.yaml"
    path.write_text(head + textwrap.indent(textwrap.dedent(calls_yaml), "  "))
    transport = ScriptedTransport(*script)
    entry = await run_call_async(CallSpec(str(path), 0, judge=judge), transport=transport)
    return entry, {(c["turn"], c["check"]): c for c in entry["checks"]}


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.mark.parametrize("expected, actual, ok", [
    ({"city": "Boston"}, {"city": "boston ", "units": "c"}, True),     # subset, case-blind
    ({"city": "Boston"}, {"town": "Boston"}, False),
    ({"city": "Boston"}, {"city": "Austin"}, False),
    ({"n": 2}, {"n": 2.0}, True),
    ({"n": 2}, {"n": "2"}, False),
    ({"flag": True}, {"flag": 1}, False),
    ({"a": {"b": "X"}}, {"a": {"b": "x", "c": 1}}, True),
    ({"ids": ["A", "b"]}, {"ids": ["a", "B"]}, True),
    ({"ids": ["a"]}, {"ids": ["a", "b"]}, False),
    ({}, {"anything": 1}, True),
])
def test_args_subset_match(expected, actual, ok):
    assert args_match(expected, actual) is ok


async def test_handoff_tool_and_reply_pass(tmp_path):
    entry, checks = await run_scripted(tmp_path, """\
        - name: billing then weather
          turns:
            - say: I was charged twice
              expect: {handoff: billing, reply_contains: billing}
            - say: Weather in Boston?
              expect:
                tool: {name: get_weather, args: {city: boston}}
                reply_contains: [Boston, SUNNY]
                reply_matches: "(?i)\\\\d+ degrees"
                max_e2e_ms: 5000
                guardrail_tripped: false
        """,
        handoff("Billing"), audio("Billing here."),
        tool_call("get_weather", city="Boston"), audio("It's 18 degrees and sunny in Boston."))
    assert entry["passed"] is True, entry["checks"]
    assert checks[(1, "handoff")]["actual"] == ["Billing"]
    assert checks[(2, "tool")]["actual"] == [{"name": "get_weather", "args": {"city": "Boston"}}]
    e2e = checks[(2, "max_e2e_ms")]["actual"]
    assert 0 < e2e < 5000
    # the per-turn metrics are the analysis layer's, keyed by the suite turn they fell in
    rows = entry["metrics"]["turns"]
    assert [r["suite_turn"] for r in rows] == [1, 2]
    assert rows[1]["e2e"] == e2e and rows[1]["tools"][0][0] == "get_weather"
    assert rows[0]["handoff_time"] is not None
    assert entry["metrics"]["summary"]["e2e"]["n"] == 2


async def test_each_wrong_expectation_fails_with_what_happened(tmp_path):
    entry, checks = await run_scripted(tmp_path, """\
        - name: wrong on every count
          turns:
            - say: Weather in Paris?
              expect:
                handoff: Billing
                tool: {name: get_weather, args: {city: Boston}}
                reply_contains: [Boston]
                reply_matches: "rain"
                max_e2e_ms: 5000
                guardrail_tripped: true
        """,
        tool_call("get_weather", city="Paris"), text("Sunny in Paris."))
    assert entry["passed"] is False
    assert {k: c["passed"] for k, c in checks.items()} == {
        (1, name): False for name in ("handoff", "tool", "reply_contains", "reply_matches",
                                      "max_e2e_ms", "guardrail_tripped")}
    assert checks[(1, "handoff")]["actual"] is None
    assert checks[(1, "tool")]["actual"] == [{"name": "get_weather", "args": {"city": "Paris"}}]
    assert checks[(1, "reply_contains")]["actual"] == "Sunny in Paris."
    assert checks[(1, "max_e2e_ms")]["actual"] is None       # a text reply has no audio
    assert checks[(1, "guardrail_tripped")]["actual"] is False


async def test_guardrail_trip_is_seen(tmp_path):
    entry, checks = await run_scripted(tmp_path, """\
        - name: blocked
          turns:
            - say: Say something bad
              expect: {guardrail_tripped: true}
        """,
        text("That is a forbidden thing to say."), text("Sorry, let me rephrase."))
    assert checks[(1, "guardrail_tripped")] == {
        "turn": 1, "check": "guardrail_tripped", "expected": True, "actual": True,
        "passed": True}
    assert entry["passed"] is True


async def test_judge_offline_is_skipped_with_reason_never_passed(tmp_path):
    entry, checks = await run_scripted(tmp_path, """\
        - name: judged
          turns:
            - say: Hello
              expect: {judge: The agent greets the caller}
        """, text("Hello there!"))
    judged = checks[(1, "judge")]
    assert judged["passed"] is None and judged["skipped"] == UNAVAILABLE
    assert "OPENAI_API_KEY" in judged["skipped"] and "--judge" in judged["skipped"]
    assert entry["passed"] is None          # nothing was verified: not a pass


async def test_goal_driven_caller_offline_is_skipped(tmp_path):
    entry, checks = await run_scripted(tmp_path, """\
        - name: by goal
          caller: {goal: find out the weather in Boston, max_turns: 3}
          expect: {tool: get_weather}
        """)
    assert entry["passed"] is None
    assert checks[(0, "caller")]["skipped"] == UNAVAILABLE
    assert checks[(0, "tool")]["passed"] is None          # never run, never passed
    assert checks[(0, "tool")]["skipped"] == UNAVAILABLE


async def test_unreached_turns_fail(tmp_path):
    from rtnb.session.scripted import failed

    entry, checks = await run_scripted(tmp_path, """\
        - name: breaks
          turns:
            - say: One
              expect: {reply_contains: one}
            - say: Two
              expect: {reply_contains: two}
        """, failed("the brain is down"))
    assert entry["passed"] is False
    assert "the brain is down" in checks[(1, "completed")]["actual"]
    assert checks[(2, "reply_contains")]["actual"] == "not reached"


class FakeModel(BaseHTTPRequestHandler):
    """An OpenAI-compatible /v1/chat/completions: passes a last reply that says 18 degrees;
    as the goal-driven caller, asks about Boston then says DONE."""

    prompts: list[str] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][-1]["content"]
        FakeModel.prompts.append(prompt)
        if prompt.startswith("You play a caller"):
            answer = "DONE" if "Boston" in prompt.split("Conversation so far:")[1] else \
                "What's the weather in Boston?"
        else:
            said = prompt.split("Conversation so far")[1].splitlines()
            ok = "18 degrees" in [x for x in said if x.startswith("agent ")][-1]
            answer = json.dumps({"verdict": "pass" if ok else "fail",
                                 "reason": "states it" if ok else "no temperature"})
        data = json.dumps({"id": "c1", "object": "chat.completion", "created": 0,
                           "model": body["model"],
                           "choices": [{"index": 0, "finish_reason": "stop", "message": {
                               "role": "assistant", "content": answer}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_model():
    server = HTTPServer(("127.0.0.1", 0), FakeModel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeModel.prompts.clear()
    yield f"http://127.0.0.1:{server.server_port}/v1#fake-judge"
    server.shutdown()
    server.server_close()


async def test_judge_on_an_openai_compatible_endpoint(tmp_path, fake_model):
    entry, checks = await run_scripted(tmp_path, """\
        - name: judged
          turns:
            - say: Weather?
              expect: {judge: The agent states the temperature}
            - say: And tomorrow?
              expect: {judge: The agent states the temperature}
        """, text("It's 18 degrees."), text("No idea."), judge=fake_model)
    assert checks[(1, "judge")]["passed"] is True
    assert checks[(1, "judge")]["actual"] == "states it"
    assert checks[(2, "judge")]["passed"] is False
    assert entry["passed"] is False
    assert "Criterion: The agent states the temperature" in FakeModel.prompts[0]
    assert "caller: Weather?" in FakeModel.prompts[0]


async def test_goal_driven_caller_with_a_model(tmp_path, fake_model):
    entry, checks = await run_scripted(tmp_path, """\
        - name: by goal
          caller: {goal: find out the weather in Boston, max_turns: 4}
          expect:
            tool: {name: get_weather, args: {city: Boston}}
            judge: The agent states the temperature
        """, tool_call("get_weather", city="Boston"), text("It's 18 degrees in Boston."),
        judge=fake_model)
    assert entry["passed"] is True, entry["checks"]
    assert set(checks) == {(0, "tool"), (0, "judge")}
    assert entry["metrics"]["turns"][0]["user_text"] == "What's the weather in Boston?"


@pytest.mark.parametrize("text_, passed", [
    ('{"verdict": "pass", "reason": "ok"}', True),
    ('Sure: {"verdict": "FAIL", "reason": "no"}', False),
    ("PASS. It does.", True),
    ("fail", False),
    ("I think so", False),
])
def test_parse_verdict(text_, passed):
    assert parse_verdict(text_).passed is passed


async def test_max_stall_ms_reads_the_turns_stalls():
    """A reply whose second sentence came 250 ms late fails a 100 ms stall budget; one whose
    audio always came in time passes a budget of 0; a text reply has nothing to check."""
    from rtnb.analysis import compute_turns
    from rtnb.evals.checks import Evidence, check_turn
    from rtnb.evals.suite import Expect
    from tests.analysis.test_timeline import stalled_reply
    from tests.logscript import Script

    stalled = stalled_reply()
    evidence = Evidence(1, stalled.log.entries, compute_turns(stalled.log.entries))
    (late,) = await check_turn(Expect(max_stall_ms=100), evidence, None)
    assert (late["passed"], late["actual"]) == (False, pytest.approx(250.0))

    smooth = Script()
    smooth.text(0.0, "hi")
    smooth.audio(0.1, 300, "a1", "r1")
    smooth.audio(0.3, 300, "a1", "r1")
    evidence = Evidence(1, smooth.log.entries, compute_turns(smooth.log.entries))
    (ok,) = await check_turn(Expect(max_stall_ms=0), evidence, None)
    assert (ok["passed"], ok["actual"]) == (True, 0.0)

    typed = Script()
    typed.text(0.0, "hi")
    evidence = Evidence(1, typed.log.entries, compute_turns(typed.log.entries))
    (none,) = await check_turn(Expect(max_stall_ms=0), evidence, None)
    assert (none["passed"], none["actual"]) == (False, None)
