"""The session's logic as a pure state machine: ``step(state, input) -> (state, actions)``.

Everything a session decides lives here: when a turn is answered, which response
is active, when tools run (after the user's approval, for tools that need it) and
when their outputs go back (through the tools' output guardrails), handoffs, output
guardrails and their corrective retry, barge-in, and whether the last interaction
failed. Nothing here does I/O or keeps time: the inputs are server events, what
the user asked for, tool and guardrail results and playback flushes; the actions
say what to send, run, flush and log. :class:`rtnb.Session` is the shell that runs
them (sockets, tasks, the player, the event log).

Actions come in order; a :class:`FlushPlayback` is answered at once by a
:class:`PlaybackStopped` input, whose actions run before the rest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import events as ev
from .config import Settings, codec_config, realtime_config

if TYPE_CHECKING:
    from ..agents import Agent, FunctionTool

#: Corrective retries after guardrail trips, per user input (a retry that trips again
#: is cut off without another retry, so a stubborn model cannot loop).
MAX_CORRECTIONS = 1
#: Error codes for requests the machine reconciles by itself, so they do not fail an
#: answer: a cancel that raced the response's own end, and a ``response.create`` sent
#: while another response was active (that response answers instead).
RECONCILED_ERRORS = frozenset({"response_cancel_not_active",
                               "conversation_already_has_active_response"})

# -- state -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """A function call of a response: a tool, a handoff, or an unknown name.

    A tool runs as soon as its call is complete (:class:`RunTool`) and its output
    is sent, in call order, once the response is done. A tool that needs approval
    waits here first (``approval``: ``"checking"`` while its policy decides,
    ``"pending"`` until the user answers, then ``"approved"`` or ``"rejected"``).
    """

    call_id: str
    name: str
    arguments: str = ""
    tool: FunctionTool | None = None
    #: The agent in charge when the call was made (the tool runs as that agent's).
    agent: Agent | None = None
    approval: str | None = None
    #: The output to send: the tool's result (None while it runs), or an error.
    output: str | None = None
    #: The agent a handoff call moves to.
    handoff: Agent | None = None
    #: Its output went out (a handoff counts once passed over; it is sent last).
    sent: bool = False


@dataclass(frozen=True)
class Response:
    """What the session tracks of one response until nothing more depends on it."""

    id: str
    item_id: str | None = None
    text: str = ""
    #: Guardrail checkpoints passed (multiples of ``guardrail_chars``) and runs in flight.
    checkpoints: int = 0
    checks: int = 0
    calls: tuple[Call, ...] = ()
    tripped: bool = False
    done: bool = False
    #: Done with calls: their outputs and a new ``response.create`` are still to go out.
    following_up: bool = False

    @property
    def finished(self) -> bool:
        return self.done and not self.checks and not self.following_up


@dataclass(frozen=True)
class Failure:
    """Why the latest interaction failed: a failed response, or a refused request."""

    message: str
    code: str | None = None
    event_id: str | None = None
    response_id: str | None = None


@dataclass(frozen=True)
class State:
    agent: Agent
    settings: Settings = field(default_factory=Settings)
    connected: bool = False
    #: Numbers event and item ids (``evt_rtnb_N``, ``item_rtnb00000N``).
    serial: int = 0
    #: User inputs sent, and how many of them are answered.
    inputs: int = 0
    answered: int = 0
    #: Responses asked for (by the client, or by server VAD) and not created yet, and
    #: the event ids of the client's ``response.create`` events among them (to match
    #: errors to them; forgotten once none is pending).
    pending_creates: int = 0
    create_ids: tuple[str, ...] = ()
    active_response: str | None = None
    responses: tuple[Response, ...] = ()
    #: Audio was sent (or the server heard speech) and no turn is committed yet.
    expect_commit: bool = False
    vad_item: str | None = None
    talking: bool = False
    corrections: int = 0
    failures: tuple[Failure, ...] = ()

    @property
    def following_up(self) -> bool:
        return any(r.following_up for r in self.responses)

    @property
    def pending_approvals(self) -> tuple[Call, ...]:
        """Tool calls waiting for the user's approval, oldest first."""
        return tuple(c for r in self.responses for c in r.calls if c.approval == "pending")

    @property
    def checking(self) -> bool:
        return any(r.checks for r in self.responses)

    @property
    def idle(self) -> bool:
        """Nothing is being answered: no response active or asked for, no follow-up due."""
        return (self.active_response is None and self.pending_creates == 0
                and not self.following_up and not self.expect_commit)

    @property
    def settled(self) -> bool:
        """The latest input is answered (what ``Session.wait()`` waits for)."""
        return self.idle and self.answered >= self.inputs

    @property
    def failed(self) -> bool:
        """The latest interaction failed and nothing is left in flight that could answer it."""
        return bool(self.failures) and (self.settled or (
            self.active_response is None and self.pending_creates == 0
            and not self.following_up and not self.checking))

    def response(self, response_id: str | None) -> Response | None:
        return next((r for r in self.responses if r.id == response_id), None)


# -- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """The transport connected: configure the agent (``quiet``: a replay, send nothing).

    ``restore`` items are sent unlogged after a reconnect, so they don't read as new turns.
    """

    backend: str
    reconnect: bool = False
    previous: str | None = None
    restore: tuple[dict[str, Any], ...] = ()
    quiet: bool = False


@dataclass(frozen=True)
class Closed:
    reason: str | None
    quiet: bool = False


@dataclass(frozen=True)
class Reset:
    """Before reconnecting: what the old connection owed is dropped."""


@dataclass(frozen=True)
class UserMessage:
    """A typed (or image) user message; ``respond`` asks for a response."""

    content: tuple[dict[str, Any], ...]
    respond: bool = True


@dataclass(frozen=True)
class AudioStarted:
    """``send_audio`` begins: a new input when a turn will be detected or committed."""

    commit: bool = False


@dataclass(frozen=True)
class Commit:
    """End the audio turn by hand and ask for a response."""


@dataclass(frozen=True)
class StartTalking:
    pass


@dataclass(frozen=True)
class StopTalking:
    pass


@dataclass(frozen=True)
class Interrupt:
    pass


@dataclass(frozen=True)
class SwitchAgent:
    agent: Agent


@dataclass(frozen=True)
class SetCodec:
    codec: str


@dataclass(frozen=True)
class SendRaw:
    """Send a client event as it is (audio appends, ``send_event``)."""

    event: dict[str, Any]
    pcm: bytes | None = None


@dataclass(frozen=True)
class ServerEvent:
    event: dict[str, Any]


@dataclass(frozen=True)
class ToolFinished:
    """A tool returned ``output``; ``checks`` are its output guardrails' results."""

    call_id: str
    output: str
    checks: tuple[Any, ...] = ()  # rtnb.guardrails.GuardrailResult


@dataclass(frozen=True)
class ApprovalChecked:
    """A tool's approval policy decided whether this call waits for the user."""

    call_id: str
    needed: bool


@dataclass(frozen=True)
class Approve:
    """The user approved a waiting tool call."""

    call_id: str


@dataclass(frozen=True)
class Reject:
    """The user rejected a waiting tool call (``reason`` is passed on to the model)."""

    call_id: str
    reason: str | None = None


@dataclass(frozen=True)
class GuardrailsFinished:
    response_id: str
    item_id: str | None
    final: bool
    results: tuple[Any, ...]  # rtnb.guardrails.GuardrailResult


@dataclass(frozen=True)
class PlaybackStopped:
    """The player was flushed: what was playing and how much of it was heard."""

    reason: str
    item_id: str | None = None
    played_ms: float | None = None


Input = (Opened | Closed | Reset | UserMessage | AudioStarted | Commit | StartTalking
         | StopTalking | Interrupt | SwitchAgent | SetCodec | SendRaw | ServerEvent
         | ToolFinished | ApprovalChecked | Approve | Reject | GuardrailsFinished
         | PlaybackStopped)

# -- actions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    """Send (and, unless ``log`` is False, log) a client event; ``pcm`` is its audio."""

    event: dict[str, Any]
    pcm: bytes | None = None
    log: bool = True


@dataclass(frozen=True)
class RunTool:
    """Run ``tool`` now; answer with :class:`ToolFinished`."""

    call_id: str
    tool: FunctionTool
    arguments: str
    agent: Agent


@dataclass(frozen=True)
class CheckApproval:
    """Ask ``tool``'s approval policy about this call; answer with :class:`ApprovalChecked`."""

    call_id: str
    tool: FunctionTool
    arguments: str
    agent: Agent


@dataclass(frozen=True)
class RunGuardrails:
    """Check ``text`` with every guardrail; answer with :class:`GuardrailsFinished`."""

    response_id: str
    item_id: str | None
    guardrails: tuple[Any, ...]
    text: str
    final: bool


@dataclass(frozen=True)
class FlushPlayback:
    """Stop local playback; answer at once with :class:`PlaybackStopped`."""

    reason: str


@dataclass(frozen=True)
class Log:
    record: ev.LocalEvent


Action = Send | RunTool | CheckApproval | RunGuardrails | FlushPlayback | Log

# -- the transition function -----------------------------------------------------------------


def _evolve(record: Any, **changes: Any) -> Any:
    """``dataclasses.replace`` for these plain frozen records, without its per-call field
    inspection (the machine replaces its state for nearly every streamed event)."""
    if not changes.keys() <= record.__dict__.keys():
        unknown = sorted(set(changes) - set(vars(record)))
        raise TypeError(f"{type(record).__name__} has no field {unknown}")
    new = object.__new__(type(record))
    new.__dict__.update(record.__dict__, **changes)
    return new


def step(state: State, event: Input) -> tuple[State, tuple[Action, ...]]:
    """The next state and the actions to run, for one input."""
    if type(event) is ServerEvent and event.event.get("type") not in _SERVER:
        return state, ()  # see REACTS_TO
    out = _Step(state)
    _HANDLERS[type(event)](out, event)
    state = out.state
    if state.pending_creates == 0 and state.create_ids:
        state = _evolve(state, create_ids=())
    if state.answered < state.inputs and state.idle and not state.checking:
        state = _evolve(state, answered=state.inputs)
    return state, tuple(out.actions)


class _Step:
    """The state being built and the actions collected, for one call of :func:`step`."""

    __slots__ = ("state", "actions")

    def __init__(self, state: State) -> None:
        self.state = state
        self.actions: list[Action] = []

    def set(self, **changes: Any) -> None:
        self.state = _evolve(self.state, **changes)

    def do(self, action: Action) -> None:
        self.actions.append(action)

    def log(self, record: ev.LocalEvent) -> None:
        self.actions.append(Log(record))

    def serial(self) -> int:
        self.set(serial=self.state.serial + 1)
        return self.state.serial

    def item_id(self, prefix: str = "item_rtnb") -> str:
        return f"{prefix}{self.serial():06d}"

    def send(self, event: dict[str, Any], pcm: bytes | None = None, log: bool = True) -> None:
        event = {"event_id": f"evt_rtnb_{self.serial()}", **event}
        if event["type"] == ev.RESPONSE_CREATE:
            self.set(pending_creates=self.state.pending_creates + 1,
                     create_ids=(*self.state.create_ids, event["event_id"]))
        self.actions.append(Send(event, pcm, log))

    def new_input(self) -> None:
        self.set(inputs=self.state.inputs + 1, corrections=0, failures=())

    def store(self, response: Response) -> None:
        """Keep ``response`` (replacing its old version), or drop it once finished."""
        others = tuple(r for r in self.state.responses if r.id != response.id)
        self.set(responses=others if response.finished else (*others, response))


# -- connection ------------------------------------------------------------------------------


def _opened(s: _Step, e: Opened) -> None:
    s.set(connected=True)
    if e.quiet:
        return
    agent = s.state.agent
    if e.reconnect:
        s.log(ev.Reconnected(agent=agent.name, backend=e.backend, previous=e.previous,
                             items=list(e.restore)))
    else:
        s.log(ev.Connected(agent=agent.name, backend=e.backend))
    s.send({"type": ev.SESSION_UPDATE, "session": realtime_config(agent, s.state.settings)})
    for item in e.restore:
        s.send({"type": ev.ITEM_CREATE, "item": item}, log=False)


def _closed(s: _Step, e: Closed) -> None:
    if not s.state.connected:
        return
    s.set(connected=False)
    if not e.quiet:
        s.log(ev.Disconnected(reason=e.reason))


def _reset(s: _Step, e: Reset) -> None:
    s.set(active_response=None, pending_creates=0, create_ids=(), responses=(),
          expect_commit=False, vad_item=None, talking=False, answered=s.state.inputs)


# -- user input ------------------------------------------------------------------------------


def _user_message(s: _Step, e: UserMessage) -> None:
    s.new_input()
    s.send({"type": ev.ITEM_CREATE, "item": {"id": s.item_id(), "type": "message",
                                             "role": "user", "content": list(e.content)}})
    if e.respond:
        s.send({"type": ev.RESPONSE_CREATE})


def _audio_started(s: _Step, e: AudioStarted) -> None:
    vad = s.state.settings.turn_detection is not None
    if vad or e.commit:
        s.new_input()
        s.set(expect_commit=vad)


def _commit(s: _Step, e: Commit) -> None:
    s.send({"type": ev.INPUT_AUDIO_COMMIT})
    s.send({"type": ev.RESPONSE_CREATE})


def _start_talking(s: _Step, e: StartTalking) -> None:
    s.set(talking=True)
    _interrupt(s, Interrupt())
    s.send({"type": ev.INPUT_AUDIO_CLEAR})


def _stop_talking(s: _Step, e: StopTalking) -> None:
    s.set(talking=False)
    s.new_input()
    _commit(s, Commit())


def _interrupt(s: _Step, e: Interrupt) -> None:
    s.do(FlushPlayback("interrupt"))
    if s.state.active_response is not None:
        s.send({"type": ev.RESPONSE_CANCEL})


def _switch_agent(s: _Step, e: SwitchAgent) -> None:
    previous = s.state.agent
    s.set(agent=e.agent)
    s.send({"type": ev.SESSION_UPDATE, "session": realtime_config(e.agent, s.state.settings)})
    s.log(ev.Handoff(to=e.agent.name, call_id=None, from_agent=previous.name))


def _set_codec(s: _Step, e: SetCodec) -> None:
    s.set(settings=_evolve(s.state.settings, codec=e.codec))
    if s.state.connected:
        s.send({"type": ev.SESSION_UPDATE, "session": codec_config(e.codec)})


def _send_raw(s: _Step, e: SendRaw) -> None:
    s.send(e.event, e.pcm)


def _playback_stopped(s: _Step, e: PlaybackStopped) -> None:
    played = round(e.played_ms, 1) if e.item_id is not None and e.played_ms is not None else None
    s.log(ev.PlaybackFlushed(reason=e.reason, item_id=e.item_id, played_ms=played))
    if e.item_id is not None and s.state.connected:
        s.send({"type": ev.ITEM_TRUNCATE, "item_id": e.item_id, "content_index": 0,
                "audio_end_ms": int(e.played_ms or 0)})


# -- server events ---------------------------------------------------------------------------


def _server(s: _Step, e: ServerEvent) -> None:
    handler = _SERVER.get(e.event.get("type", ""))
    if handler is not None:
        handler(s, e.event)


def _response_created(s: _Step, event: dict[str, Any]) -> None:
    rid = event["response"]["id"]
    s.set(pending_creates=max(0, s.state.pending_creates - 1), active_response=rid)
    s.store(Response(rid))


def _output_text(s: _Step, event: dict[str, Any]) -> None:
    response = s.state.response(event.get("response_id"))
    if response is None:
        return
    text = response.text + event.get("delta", "")
    response = _evolve(response, item_id=event.get("item_id"), text=text)
    checkpoints = len(text) // s.state.settings.guardrail_chars
    if checkpoints > response.checkpoints:
        response = _check(s, _evolve(response, checkpoints=checkpoints), final=False)
    s.store(response)


def _call_arguments_done(s: _Step, event: dict[str, Any]) -> None:
    agent = s.state.agent
    name, call_id = event["name"], event["call_id"]
    call = Call(call_id, name, event.get("arguments", ""))
    tool = agent.find_tool(name)
    if tool is not None:
        call = _evolve(call, tool=tool, agent=agent)
        if tool.needs_approval is True:
            call = _request_approval(s, call)
        elif tool.needs_approval:  # a policy decides, per call
            call = _evolve(call, approval="checking")
            s.do(CheckApproval(call_id, tool, call.arguments, agent))
        else:  # runs now, concurrently with the rest of the response
            s.do(RunTool(call_id, tool, call.arguments, agent))
    elif (target := agent.find_handoff(name)) is not None:
        call = _evolve(call, handoff=target)
    else:
        call = _evolve(call, output=json.dumps({"error": f"unknown tool {name}"}))
    response = s.state.response(event.get("response_id"))
    if response is not None:
        s.store(_evolve(response, calls=(*response.calls, call)))


def _response_done(s: _Step, event: dict[str, Any]) -> None:
    obj = event["response"]
    rid, status = obj["id"], obj.get("status")
    if s.state.active_response == rid:
        s.set(active_response=None)
    if status == "failed":
        error = (obj.get("status_details") or {}).get("error") or {}
        s.set(failures=(*s.state.failures, Failure(
            error.get("message") or "the server gave no reason", error.get("code"),
            response_id=rid)))
    response = s.state.response(rid)
    if response is None:
        return
    response = _evolve(response, done=True)
    if status == "completed" and not response.tripped and response.text:
        response = _check(s, response, final=True)
    if response.calls and not response.tripped:
        response = _follow_up(s, _evolve(response, following_up=True))
    s.store(response)


def _speech_started(s: _Step, event: dict[str, Any]) -> None:
    s.set(expect_commit=True)
    s.do(FlushPlayback("barge_in"))


def _speech_stopped(s: _Step, event: dict[str, Any]) -> None:
    s.set(vad_item=event.get("item_id"))


def _buffer_end(s: _Step, event: dict[str, Any]) -> None:
    s.set(expect_commit=False)
    kind = event["type"]
    if s.state.settings.server_responds and (kind == ev.TIMEOUT_TRIGGERED or (
            kind == ev.COMMITTED and event.get("item_id") == s.state.vad_item)):
        s.set(pending_creates=s.state.pending_creates + 1)  # server VAD answers by itself


def _error(s: _Step, event: dict[str, Any]) -> None:
    error = event.get("error") or {}
    code, event_id = error.get("code"), error.get("event_id")
    if event_id in s.state.create_ids or (
            event_id is None and code == "conversation_already_has_active_response"):
        s.set(pending_creates=max(0, s.state.pending_creates - 1),
              create_ids=tuple(i for i in s.state.create_ids if i != event_id))
    if event_id is not None and code not in RECONCILED_ERRORS:  # it answers our request
        s.set(failures=(*s.state.failures, Failure(
            error.get("message") or "the server gave no reason", code, event_id)))


# -- tools and handoffs ----------------------------------------------------------------------


def _find_call(state: State, call_id: str) -> tuple[Response, int] | None:
    for response in state.responses:
        for index, call in enumerate(response.calls):
            if call.call_id == call_id:
                return response, index
    return None


def _update_call(s: _Step, call_id: str, follow: bool = False, **changes: Any) -> Call | None:
    """Change one call; with ``follow``, send what is now ready if its response is done."""
    found = _find_call(s.state, call_id)
    if found is None:
        return None
    response, index = found
    call = _evolve(response.calls[index], **changes)
    response = _evolve(response, calls=(*response.calls[:index], call,
                                        *response.calls[index + 1:]))
    s.store(_follow_up(s, response) if follow and response.following_up else response)
    return call


def _tool_finished(s: _Step, e: ToolFinished) -> None:
    found = _find_call(s.state, e.call_id)
    if found is None:
        return
    call = found[0].calls[found[1]]
    output = e.output
    for result in e.checks:
        replacement = None
        if result.tripped:
            replacement = _safe_output(call, result)
            output = replacement
        s.log(ev.ToolGuardrailChecked(call_id=call.call_id, name=call.name,
                                      result=result.to_dict(), output=replacement))
        if result.tripped:
            break
    _update_call(s, e.call_id, follow=True, output=output)


def _safe_output(call: Call, result: Any) -> str:
    """What the model gets in place of an output a guardrail stopped."""
    guardrails = call.tool.output_guardrails if call.tool is not None else ()
    guardrail = next((g for g in guardrails if g.name == result.guardrail), None)
    message = getattr(guardrail, "message", None)
    return message or ev.blocked_output_text(call.name, result.guardrail, result.category)


# -- approvals -------------------------------------------------------------------------------


def _request_approval(s: _Step, call: Call) -> Call:
    s.log(ev.ToolApprovalRequested(call_id=call.call_id, name=call.name,
                                   arguments=call.arguments))
    return _evolve(call, approval="pending")


def _approval_checked(s: _Step, e: ApprovalChecked) -> None:
    found = _find_call(s.state, e.call_id)
    if found is None or found[0].calls[found[1]].approval != "checking":
        return
    call = found[0].calls[found[1]]
    if e.needed:
        _update_call(s, e.call_id, approval=_request_approval(s, call).approval)
    else:
        _update_call(s, e.call_id, approval=None)
        s.do(RunTool(call.call_id, call.tool, call.arguments, call.agent))  # type: ignore[arg-type]


def _waiting(s: _Step, call_id: str) -> Call | None:
    found = _find_call(s.state, call_id)
    call = found[0].calls[found[1]] if found is not None else None
    return call if call is not None and call.approval == "pending" else None


def _approve(s: _Step, e: Approve) -> None:
    call = _waiting(s, e.call_id)
    if call is None:
        return
    _update_call(s, e.call_id, approval="approved")
    s.log(ev.ToolApproved(call_id=call.call_id, name=call.name))
    s.do(RunTool(call.call_id, call.tool, call.arguments, call.agent))  # type: ignore[arg-type]


def _reject(s: _Step, e: Reject) -> None:
    call = _waiting(s, e.call_id)
    if call is None:
        return
    output = ev.rejection_text(e.reason)
    s.log(ev.ToolRejected(call_id=call.call_id, name=call.name, reason=e.reason, output=output))
    _update_call(s, e.call_id, follow=True, approval="rejected", output=output)


def _follow_up(s: _Step, response: Response) -> Response:
    """Send the outputs that are ready, in call order; once all are out, hand off if a
    handoff was called, then ask for the next response."""
    calls = list(response.calls)
    for i, call in enumerate(calls):
        if call.sent:
            continue
        if call.handoff is None and call.output is None:  # a tool still running
            return _evolve(response, calls=tuple(calls))
        if call.handoff is None:
            _send_output(s, call.call_id, call.output or "")
        calls[i] = _evolve(call, sent=True)
    handoffs = [c for c in calls if c.handoff is not None]
    if handoffs:
        call, target = handoffs[-1], handoffs[-1].handoff
        assert target is not None
        previous = s.state.agent
        s.set(agent=target)
        s.send({"type": ev.SESSION_UPDATE, "session": realtime_config(target, s.state.settings)})
        s.log(ev.Handoff(to=target.name, call_id=call.call_id, from_agent=previous.name))
        _send_output(s, call.call_id, json.dumps({"assistant": target.name}))
    s.send({"type": ev.RESPONSE_CREATE})
    return _evolve(response, calls=tuple(calls), following_up=False)


def _send_output(s: _Step, call_id: str, output: str) -> None:
    s.send({"type": ev.ITEM_CREATE, "item": {"type": "function_call_output",
                                             "call_id": call_id, "output": output}})


# -- guardrails ------------------------------------------------------------------------------


def _check(s: _Step, response: Response, final: bool) -> Response:
    guardrails = tuple(s.state.agent.output_guardrails)
    if not guardrails:
        return response
    s.do(RunGuardrails(response.id, response.item_id, guardrails, response.text, final))
    return _evolve(response, checks=response.checks + 1)


def _guardrails_finished(s: _Step, e: GuardrailsFinished) -> None:
    response = s.state.response(e.response_id)
    if response is None:
        return
    response = _evolve(response, checks=max(0, response.checks - 1))
    for result in e.results:
        if response.tripped:
            break
        s.log(ev.GuardrailChecked(response_id=response.id, item_id=e.item_id, final=e.final,
                                  result=result.to_dict()))
        if result.tripped:
            response = _evolve(response, tripped=True)
            _trip(s, response.id, result)
    s.store(response)


def _trip(s: _Step, rid: str, result: Any) -> None:
    """Cut the response off; retry once with a corrective message, then give up."""
    s.do(FlushPlayback("guardrail"))
    if s.state.active_response == rid:
        s.send({"type": ev.RESPONSE_CANCEL, "response_id": rid})
    if s.state.corrections >= MAX_CORRECTIONS:
        s.log(ev.GuardrailGaveUp(response_id=rid, guardrail=result.guardrail))
        return
    s.set(corrections=s.state.corrections + 1)
    text = ev.correction_text(result.guardrail, result.category, result.rationale)
    s.send({"type": ev.ITEM_CREATE, "item": {
        "id": s.item_id(ev.CORRECTION_ID_PREFIX), "type": "message", "role": "user",
        "content": [{"type": "input_text", "text": text}]}})
    s.send({"type": ev.RESPONSE_CREATE})


_SERVER = {
    ev.RESPONSE_CREATED: _response_created,
    **{kind: _output_text for kind in ev.TEXT_DELTAS},
    ev.CALL_ARGUMENTS_DONE: _call_arguments_done,
    ev.RESPONSE_DONE: _response_done,
    ev.SPEECH_STARTED: _speech_started,
    ev.SPEECH_STOPPED: _speech_stopped,
    **{kind: _buffer_end for kind in ev.BUFFER_ENDS},
    ev.ERROR: _error,
}

_HANDLERS: dict[type, Any] = {
    Opened: _opened, Closed: _closed, Reset: _reset, UserMessage: _user_message,
    AudioStarted: _audio_started, Commit: _commit, StartTalking: _start_talking,
    StopTalking: _stop_talking, Interrupt: _interrupt, SwitchAgent: _switch_agent,
    SetCodec: _set_codec, SendRaw: _send_raw, ServerEvent: _server,
    ToolFinished: _tool_finished, ApprovalChecked: _approval_checked, Approve: _approve,
    Reject: _reject, GuardrailsFinished: _guardrails_finished,
    PlaybackStopped: _playback_stopped,
}

#: The server events the machine reacts to; any other leaves the state as it is.
REACTS_TO = frozenset(_SERVER)
