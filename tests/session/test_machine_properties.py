"""Properties of the session machine, over any interleaving hypothesis can find.

A small world runs the machine the way ``Session`` does, against a fake server that
behaves like the protocol says (one active response at a time; cancels, barge-in
and errors as specified), tools that finish in any order, tools that need the user's
approval (always, or by a policy that answers later) approved or rejected in any order,
and guardrails that pass, trip sometimes, or always trip. No sockets, no models, no clock.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtnb import Agent, GuardrailResult, tool
from rtnb.events import REJECTION_MESSAGE, ToolApprovalRequested
from rtnb.session import machine as m
from rtnb.session.config import Settings

from .machine_helpers import BILLING, get_weather

PLANS = ["text", "audio", "tool", "handoff", "unknown", "text+tool", "failed", "long",
         "approval", "policy"]


@tool(needs_approval=True)
def refund_order(order_id: str) -> dict:
    """Refund an order."""
    return {"refunded": order_id}


@tool(needs_approval=lambda arguments: True)  # the world answers for the policy
def transfer(amount: float) -> dict:
    """Transfer money."""
    return {"sent": amount}


@dataclass
class Server:
    """A protocol-abiding fake server: it receives the machine's sends and queues events."""

    plans: list[str]
    out: deque = field(default_factory=deque)  # events on the wire to the client
    job: deque | None = None  # the active response's remaining events
    job_id: str | None = None
    n: int = 0
    creates: int = 0
    answered_creates: int = 0  # response.created sent or the create refused
    auto_responses: int = 0
    vad: Any = "server_vad"
    auto_items: set = field(default_factory=set)  # VAD turns the server answers by itself
    calls: Counter = field(default_factory=Counter)
    outputs: Counter = field(default_factory=Counter)
    output_text: dict = field(default_factory=dict)
    last_was_output: bool = False

    def new(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def receive(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "response.create":
            self.creates += 1
            if self.job is not None:
                self.answered_creates += 1
                self.out.append({"type": "error", "error": {
                    "code": "conversation_already_has_active_response", "message": "busy",
                    "event_id": event["event_id"]}})
            else:
                self.start_response()
        elif kind == "response.cancel":
            if self.job is not None:
                self.cancel()
            else:
                self.out.append({"type": "error", "error": {
                    "code": "response_cancel_not_active", "event_id": event["event_id"]}})
        elif kind == "conversation.item.create":
            item = event["item"]
            if item.get("type") == "function_call_output":
                self.outputs[item["call_id"]] += 1
                self.output_text[item["call_id"]] = item["output"]
                self.last_was_output = True
            elif item.get("role") == "user":
                self.last_was_output = False
        elif kind == "input_audio_buffer.commit":
            self.out.append({"type": "input_audio_buffer.committed", "item_id": self.new("u")})

    def start_response(self, auto: bool = False) -> None:
        self.answered_creates += not auto
        self.auto_responses += auto
        rid = self.job_id = self.new("r")
        plan = "text" if self.last_was_output else self.plans[self.n % len(self.plans)]
        item = self.new("i")
        events: list[dict[str, Any]] = [{"type": "response.created", "response": {"id": rid}}]
        if plan in ("text", "audio", "long", "text+tool"):
            words = ["It is a stormy day."] * (12 if plan == "long" else 1)
            for words_ in words:
                events.append({"type": "response.output_audio_transcript.delta",
                               "response_id": rid, "item_id": item, "delta": words_})
                if plan in ("audio", "long"):
                    events.append({"type": "response.output_audio.delta", "response_id": rid,
                                   "item_id": item, "delta": ""})
        names = {"tool": "get_weather", "text+tool": "get_weather",
                 "handoff": "transfer_to_billing", "unknown": "no_such_tool",
                 "approval": "refund_order", "policy": "transfer"}
        if plan in names:
            call_id = self.new("c")
            self.calls[call_id] += 1
            events.append({"type": "response.function_call_arguments.done", "response_id": rid,
                           "call_id": call_id, "name": names[plan],
                           "arguments": json.dumps({"city": "Oslo"})})
        self.job = deque(events)
        self.job.append(self.done("failed" if plan == "failed" else "completed"))

    def done(self, status: str) -> dict[str, Any]:
        details = {"error": {"message": "brain down"}} if status == "failed" else None
        return {"type": "response.done", "response": {"id": self.job_id, "status": status,
                                                      "status_details": details}}

    def cancel(self) -> None:
        """End the active response now (after its response.created, if not sent yet)."""
        assert self.job is not None
        head = [e for e in self.job if e["type"] == "response.created"]
        self.job = deque([*head, self.done("cancelled")])

    def progress(self) -> None:
        assert self.job is not None
        event = self.job.popleft()
        self.out.append(event)
        if event["type"] == "response.done":
            self.job = self.job_id = None

    def hear_speech(self) -> None:
        """Server VAD hears a user turn (and cancels the active response)."""
        item = self.new("u")
        self.out.append({"type": "input_audio_buffer.speech_started", "item_id": item})
        if self.job is not None:
            self.cancel()
            while self.job is not None:
                self.progress()
        self.out.append({"type": "input_audio_buffer.speech_stopped", "item_id": item})
        self.out.append({"type": "input_audio_buffer.committed", "item_id": item})
        if self.vad is not None and not (isinstance(self.vad, dict)
                                         and self.vad.get("create_response") is False):
            self.auto_items.add(item)
            self.start_response(auto=True)


class World:
    """Runs the machine like the Session shell does, against the fake server."""

    def __init__(self, agent: Agent, vad: Any, plans: list[str]) -> None:
        self.state = m.State(agent, Settings(turn_detection=vad))
        self.server = Server(plans, vad=vad)
        self.tools: list[m.RunTool] = []
        self.checks: list[m.RunGuardrails] = []
        self.policies: list[m.CheckApproval] = []
        #: Calls that asked for approval, and what the user decided.
        self.asked: set[str] = set()
        self.decided: dict[str, str] = {}
        self.ran: set[str] = set()
        self.corrections: Counter = Counter()  # per user input
        self.sent: list[dict[str, Any]] = []
        #: Responses the client has asked for (or seen server VAD commit to) and not yet
        #: seen created or refused: what the machine's pending_creates must equal.
        self.owed = 0
        #: Calls the machine saw complete, by response; those it must answer.
        self.seen_calls: dict[str, list[str]] = {}
        self.owed_outputs: set[str] = set()
        self.feed(m.Opened("test"))

    def feed(self, event: m.Input) -> None:
        if isinstance(event, m.ServerEvent):
            self.account(event.event)
        self.state, actions = m.step(self.state, event)
        self.owed += sum(isinstance(a, m.Send) and a.event["type"] == "response.create"
                         for a in actions)
        for action in actions:
            if isinstance(action, m.Send):
                self.sent.append(action.event)
                item = action.event.get("item") or {}
                if str(item.get("id", "")).startswith("item_rtnbfix"):
                    self.corrections[self.state.inputs] += 1
                self.server.receive(action.event)
            elif isinstance(action, m.RunTool):
                # A call that asked for approval runs only once it is approved.
                assert action.call_id not in self.asked or (
                    self.decided.get(action.call_id) == "approved")
                assert action.call_id not in self.ran
                self.ran.add(action.call_id)
                self.tools.append(action)
            elif isinstance(action, m.CheckApproval):
                self.policies.append(action)
            elif isinstance(action, m.Log) and isinstance(action.record, ToolApprovalRequested):
                self.asked.add(action.record.call_id)
            elif isinstance(action, m.RunGuardrails):
                self.checks.append(action)
            elif isinstance(action, m.FlushPlayback):
                self.feed(m.PlaybackStopped(action.reason, "i1", 120.0))
        assert self.state.pending_creates == self.owed
        assert not self.state.settled or self.state.idle

    def account(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "response.function_call_arguments.done":
            self.seen_calls.setdefault(event["response_id"], []).append(event["call_id"])
        elif kind == "response.done":
            rid = event["response"]["id"]
            response = self.state.response(rid)
            if response is not None and not response.tripped:  # a trip stops the follow-up
                self.owed_outputs |= set(self.seen_calls.get(rid, []))
        creates = {e["event_id"] for e in self.sent if e["type"] == "response.create"}
        if kind == "input_audio_buffer.committed" and event["item_id"] in self.server.auto_items:
            self.owed += 1
        elif kind == "response.created" or (
                kind == "error" and event["error"].get("event_id") in creates):
            self.owed -= 1

    # -- what can happen next --------------------------------------------------------------

    def moves(self) -> list[str]:
        moves = ["say", "speak", "interrupt", "switch"] if self.state.connected else []
        if self.state.settings.turn_detection is None:
            moves += ["push_to_talk"]
        if self.server.job is not None:
            moves.append("server_works")
        if self.server.out:
            moves.append("deliver")
        if self.tools:
            moves.append("tool_done")
        if self.checks:
            moves.append("check_done")
        if self.policies:
            moves.append("policy_done")
        if self.state.pending_approvals:
            moves.append("decide")
        return moves

    def do(self, move: str, pick: int, trips: bool) -> None:
        if move == "say":
            self.feed(m.UserMessage(({"type": "input_text", "text": "hello"},)))
        elif move == "speak":
            self.feed(m.AudioStarted())
            if self.state.settings.turn_detection is not None:
                self.server.hear_speech()
        elif move == "push_to_talk":
            self.feed(m.StartTalking())
            self.feed(m.StopTalking())
        elif move == "interrupt":
            self.feed(m.Interrupt())
        elif move == "switch":
            self.feed(m.SwitchAgent(self.state.agent))
        elif move == "server_works":
            self.server.progress()
        elif move == "deliver":
            self.feed(m.ServerEvent(self.server.out.popleft()))
        elif move == "tool_done":
            run = self.tools.pop(pick % len(self.tools))
            self.feed(m.ToolFinished(run.call_id, "{}"))
        elif move == "policy_done":
            check = self.policies.pop(pick % len(self.policies))
            self.feed(m.ApprovalChecked(check.call_id, needed=pick % 2 == 0))
        elif move == "decide":
            waiting = self.state.pending_approvals
            call = waiting[pick % len(waiting)]
            verdict = "approved" if pick % 2 == 0 else "rejected"
            self.decided[call.call_id] = verdict
            self.feed(m.Approve(call.call_id) if verdict == "approved"
                      else m.Reject(call.call_id, None))
        elif move == "check_done":
            run = self.checks.pop(pick % len(self.checks))
            tripped = trips and "stormy" in run.text
            self.feed(m.GuardrailsFinished(run.response_id, run.item_id, run.final, tuple(
                GuardrailResult(g.name, tripped, "X" if tripped else "NONE")
                for g in run.guardrails)))

    def drain(self, limit: int = 1000) -> None:
        """Let everything in flight finish, first come first served."""
        for _ in range(limit):
            moves = [x for x in self.moves() if x in ("server_works", "deliver", "tool_done",
                                                       "check_done", "policy_done", "decide")]
            if not moves:
                return
            self.do(moves[0], 0, trips=True)
        raise AssertionError("the interaction never settled (a loop?)")


def always(text: str) -> bool:
    return True


VADS = st.sampled_from(["server_vad", None, {"type": "server_vad", "create_response": False}])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(vad=VADS, plans=st.lists(st.sampled_from(PLANS), min_size=1, max_size=6),
       guarded=st.booleans(), trips=st.booleans(), data=st.data())
def test_any_interleaving_settles_and_matches_every_create(vad, plans, guarded, trips, data):
    from rtnb import OutputGuardrail

    guard = OutputGuardrail("no_storms", always if trips else (lambda text: False))
    billing = replace_guardrails(BILLING, [guard] if guarded else [])
    agent = Agent("Assistant", tools=[get_weather, refund_order, transfer], handoffs=[billing],
                  output_guardrails=[guard] if guarded else [])
    world = World(agent, vad, plans)
    for _ in range(data.draw(st.integers(0, 40), label="steps")):
        moves = world.moves()
        if not moves:
            break
        move = data.draw(st.sampled_from(moves), label="move")
        world.do(move, data.draw(st.integers(0, 3), label="pick"), trips)
    world.drain()
    state, server = world.state, world.server
    # Quiescent: wait()'s condition holds (answered, or failed with the server's reason).
    assert state.settled or state.failed
    assert state.failed == bool(state.failures)
    assert state.pending_creates == world.owed == 0 and state.active_response is None
    assert not state.responses, "finished responses are not kept"
    # Every response.create the client sent was answered by the server exactly once,
    # and every response the server created was expected by the machine.
    assert server.answered_creates == server.creates
    # A tripped guardrail never loops: at most one corrective retry per user input.
    assert all(n <= m.MAX_CORRECTIONS for n in world.corrections.values())
    # Every function call the machine saw complete gets exactly one output (unless a
    # guardrail stopped its response first), and a response.create follows it.
    assert all(n == 1 for n in server.outputs.values())
    assert set(server.outputs) == world.owed_outputs
    kinds = [(e["type"], (e.get("item") or {}).get("type")) for e in world.sent]
    last_output = max((i for i, k in enumerate(kinds) if k[1] == "function_call_output"),
                      default=-1)
    assert ("response.create", None) in kinds[last_output + 1:] or last_output == -1
    # Approvals: every call that asked was decided (nothing waits at rest); a rejected
    # call never ran, and the model was told so in its output.
    assert not state.pending_approvals and world.asked == set(world.decided)
    rejected = {c for c, v in world.decided.items() if v == "rejected"}
    assert not rejected & world.ran
    assert all(server.output_text[c] == REJECTION_MESSAGE for c in rejected
               if c in server.output_text)


@settings(max_examples=50, deadline=None)
@given(plans=st.lists(st.sampled_from(["text", "long", "audio"]), min_size=1, max_size=3),
       inputs=st.integers(1, 4))
def test_an_always_tripping_guardrail_costs_one_retry_per_input(plans, inputs):
    from rtnb import OutputGuardrail

    agent = Agent("Assistant", output_guardrails=[OutputGuardrail("strict", always)])
    world = World(agent, None, plans)
    for _ in range(inputs):
        world.do("say", 0, trips=True)
        world.drain()
    creates = sum(e["type"] == "response.create" for e in world.sent)
    assert creates == 2 * inputs  # the answer and one corrective retry, never more
    assert world.state.settled and not world.state.failures


def test_a_tool_call_is_answered_once_even_when_the_tool_finishes_after_the_response():
    world = World(Agent("Assistant", tools=[get_weather]), None, ["tool"])
    world.do("say", 0, trips=False)
    while world.server.job is not None or world.server.out:
        world.do("server_works" if world.server.job is not None else "deliver", 0, False)
    assert world.tools and world.state.following_up and not world.state.settled
    world.drain()
    assert world.state.settled and sum(world.server.outputs.values()) == 1


def replace_guardrails(agent: Agent, guardrails: list) -> Agent:
    return replace(agent, output_guardrails=guardrails)


def test_a_held_call_waits_for_the_user_then_is_answered_once():
    world = World(Agent("Assistant", tools=[refund_order]), None, ["approval"])
    world.do("say", 0, trips=False)
    while set(world.moves()) & {"server_works", "deliver"}:
        world.do("server_works" if world.server.job is not None else "deliver", 0, False)
    assert world.state.pending_approvals and not world.tools and not world.state.settled
    world.do("decide", 1, trips=False)  # reject
    world.drain()
    assert world.state.settled and not world.ran
    assert list(world.server.output_text.values()) == [REJECTION_MESSAGE]
