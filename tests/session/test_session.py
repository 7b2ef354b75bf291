"""rtnb.Session against the real local engine (real sockets, real models)."""

from __future__ import annotations

import asyncio
import io
import json

import pytest

import rtnb
from rtnb import Agent, output_guardrail, supervisor_tool, tool
from rtnb.session.playback import ClockPlayer

pytestmark = pytest.mark.slow


@tool
def get_weather(city: str) -> dict:
    """Get the current weather for a city.

    Args:
        city: The city name.
    """
    return {"city": city, "temperature_c": 18, "conditions": "sunny"}


@tool(timeout=0.3)
async def slow_lookup(order_id: str) -> str:
    """Look up the shipping status of an order by its order id."""
    await asyncio.sleep(5)
    return "never"


@tool
def broken_inventory(item: str) -> str:
    """Check inventory stock levels for an item."""
    raise RuntimeError("inventory database offline")


BILLING = Agent("Billing", "You handle invoices and payments.",
                handoff_description="Bills, invoices, charges and payments.")


def assistant(**kw):
    return Agent("Assistant", kw.pop("instructions", "You are helpful. Use tools."),
                 tools=kw.pop("tools", [get_weather]), **kw)


@pytest.fixture
async def session(engine):
    s = rtnb.Session(assistant(handoffs=[BILLING]), backend=engine)
    async with s:
        yield s


async def test_tool_round_trip(session):
    await session.say("What's the weather in Paris?")
    reply = await session.wait()
    assert "Paris" in reply and "sunny" in reply
    call = session.transcript.tool_calls[-1]
    assert call.name == "get_weather" and call.args == {"city": "Paris"}
    assert json.loads(call.output)["temperature_c"] == 18
    turn = session.turns[0]
    assert turn.kind == "text" and turn.tools[0][0] == "get_weather"
    assert 0 <= turn.tool_time < 2000 and turn.e2e > 0


async def test_latest_tool_call_is_shown(session):
    await session.say("What's the weather in Paris?")
    await session.wait()
    await session.say("And what's the weather in Rome?")
    await session.wait()
    calls = session.transcript.tool_calls
    assert [c.args["city"] for c in calls] == ["Paris", "Rome"]
    assert "Rome" in session.transcript.lines()[-2] or "Rome" in str(session.transcript)


async def test_handoff_keeps_context(session):
    await session.say("My name is Ada.")
    await session.wait()
    await session.say("I was charged twice on my last invoice.")
    reply = await session.wait()
    assert session.agent.name == "Billing"
    assert "billing" in reply.lower()
    crumbs = [e.title for e in session.transcript.entries if e.kind == "breadcrumb"]
    assert crumbs == ["Agent: Assistant", "Agent: Billing"]
    turn = session.turns[-1]
    assert turn.handoff_time is not None and turn.handoff_time < 2000
    # The engine still holds the earlier turns after the switch.
    messages = session.transcript.messages()
    assert messages[0] == {"role": "user", "content": "My name is Ada."}
    updates = [e for e in session.log if e.type == "session.updated"]
    assert "invoices" in updates[-1].event["session"]["instructions"]


async def test_tool_timeout_and_exception_become_outputs(engine):
    agent = assistant(tools=[slow_lookup, broken_inventory])
    async with rtnb.Session(agent, backend=engine) as s:
        await s.say("What's the shipping status of order 42?")
        await s.wait()
        await s.say("Check inventory stock for boots.")
        await s.wait()
    outputs = [json.loads(c.output) for c in s.transcript.tool_calls]
    assert "timed out" in outputs[0]["error"]
    assert "inventory database offline" in outputs[1]["error"]
    assert s.transcript.last("assistant").startswith("Sorry")


async def test_supervisor_loop_with_its_own_tools(engine):
    lookups = []

    @tool
    def lookupPolicyDocument(topic: str) -> dict:  # noqa: N802
        """Look up the company policy documents on a topic: fees, roaming, plans, returns."""
        lookups.append(topic)
        return {"message": "Roaming in Europe costs five dollars a day."}

    supervisor = supervisor_tool("You are the supervisor. Use the policy tool.",
                                 [lookupPolicyDocument])
    agent = Agent("chatAgent", "Use getNextResponseFromSupervisor for anything factual.\n"
                               "Filler phrases: \"One moment.\", \"Let me check.\"",
                  tools=[supervisor])
    async with rtnb.Session(agent, backend=engine) as s:
        await s.say("What does roaming in Europe cost?")
        reply = await s.wait()
    assert reply == "Roaming in Europe costs five dollars a day."
    assert lookups and "roaming" in lookups[0].lower()
    call = s.transcript.tool_calls[0]
    kinds = [x["type"] for x in call.supervisor]
    assert kinds == ["local.supervisor.request", "local.supervisor.tool",
                     "local.supervisor.response"]
    turn = s.turns[0]
    assert turn.supervisor_time > 0 and turn.tool_time >= turn.supervisor_time
    assert turn.filler_gap is not None  # filler said, then the answer
    fillers = [m.text for m in s.transcript.entries if getattr(m, "role", "") == "assistant"]
    assert fillers[0] in ("One moment.", "Let me check.")


STORY = ("Once upon a time a small robot lived in a lighthouse by the sea. Every night it "
         "polished the great lamp. One stormy evening the robot saw a ship in trouble.")


@tool
def tell_story() -> str:
    """Tell the user a story."""
    return json.dumps({"nextResponse": STORY})


async def test_guardrail_trips_at_the_debounce_point(engine):
    seen = []

    @output_guardrail
    def no_storms(text: str):
        seen.append(len(text))
        return {"tripped": "stormy" in text, "category": "OFF_BRAND",
                "rationale": "no weather drama"}

    agent = assistant(tools=[tell_story], output_guardrails=[no_storms])
    async with rtnb.Session(agent, backend=engine, guardrail_chars=50) as s:
        await s.say("Tell me a story please.")
        await s.wait()
    trips = [e.event["result"] for e in s.log if e.type == "local.guardrail"
             and e.event["result"]["tripped"]]
    assert len(trips) == 1 and trips[0]["category"] == "OFF_BRAND"
    trip = next(e for e in s.log if e.type == "local.guardrail" and e.event["result"]["tripped"])
    assert not trip.event["final"]  # caught while speaking, at a multiple of 50 characters
    assert seen[0] >= 50
    kinds = [e.type for e in s.log if e.direction == "client"]
    after = kinds[kinds.index("conversation.item.truncate"):]
    assert after[:2] == ["conversation.item.truncate", "response.cancel"] or after[0] == \
        "conversation.item.truncate"
    corrective = [e for e in s.log if e.type == "conversation.item.create"
                  and "blocked by the no_storms guardrail" in json.dumps(e.event)]
    assert corrective
    story = [m for m in s.transcript.entries if getattr(m, "guardrails", None)]
    assert any(g["tripped"] for m in story for g in m.guardrails)
    assert len(s.turns) == 1  # the corrective message is not a user turn


async def test_guardrail_trips_at_the_end(engine):
    @output_guardrail(name="no_weather")
    def no_weather(text: str):
        return {"tripped": "sunny" in text, "category": "OFF_TOPIC", "rationale": "x"}

    agent = assistant(output_guardrails=[no_weather])
    async with rtnb.Session(agent, backend=engine, guardrail_chars=500) as s:
        await s.say("What's the weather in Oslo?")
        await s.wait()
    trips = [e.event for e in s.log if e.type == "local.guardrail"
             and e.event["result"]["tripped"]]
    assert len(trips) == 1 and trips[0]["final"]  # the short reply never hit 500 chars


async def test_guardrail_fail_open_and_fail_closed(engine):
    def broken(text):
        raise RuntimeError("classifier down")

    for fail_closed, expect in ((False, False), (True, True)):
        g = rtnb.OutputGuardrail("flaky", broken, fail_closed=fail_closed)
        async with rtnb.Session(assistant(output_guardrails=[g]), backend=engine) as s:
            await s.say("Hello!")
            await s.wait()
        results = [e.event["result"] for e in s.log if e.type == "local.guardrail"]
        assert results[0]["error"] and results[0]["tripped"] is expect


async def test_barge_in_truncates_at_played_position(engine, speech):
    now = [0.0]
    player = ClockPlayer(lambda: now[0])
    agent = assistant(tools=[tell_story])
    async with rtnb.Session(agent, backend=engine, player=player) as s:
        await s.say("Tell me a story.")
        while len(s.log.output_audio) < 2 * 48_000:  # wait for 2 s of the story's audio
            await asyncio.sleep(0.02)
        now[0] += 1.234  # the simulated speaker has played 1.234 s
        await s.send_audio(speech.with_silence(speech.utterance("Stop please."), 400, 700))
        await s.wait()
    truncates = [e.event for e in s.log if e.type == "conversation.item.truncate"]
    assert truncates[0]["audio_end_ms"] == 1234
    flushed = [e.event for e in s.log if e.type == "local.playback.flushed"
               and e.event["item_id"]]
    assert flushed[0]["reason"] == "barge_in" and flushed[0]["played_ms"] == 1234.0
    story = next(m for m in s.transcript.entries if getattr(m, "interrupted_ms", None))
    assert story.interrupted_ms == 1234 and story.status == "interrupted"
    # Only the words whose audio had started by 1.234 s stay in the transcript.
    assert STORY.startswith(story.text) and 0 < len(story.text) < len(STORY) / 3
    assert s.turns[0].barge_in is not None


async def test_push_to_talk(engine, speech):
    async with rtnb.Session(assistant(), backend=engine, turn_detection=None) as s:
        await s.start_talking()
        await s.send_audio(speech.utterance("What's the weather in Madrid?"))
        assert not any(e.type == "input_audio_buffer.speech_started" for e in s.log)
        await s.stop_talking()
        reply = await s.wait()
    assert "Madrid" in reply
    turn = s.turns[0]
    assert turn.kind == "voice" and "madrid" in turn.user_text.lower()


async def test_image_turn(engine):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 3))
    fig.add_subplot().plot([1, 2, 3])
    async with rtnb.Session(assistant(), backend=engine) as s:
        await s.send_image(fig, "What do you see?")
        reply = await s.wait()
    assert "320 by 240 pixel PNG" in reply
    assert s.turns[0].kind == "image"
    with pytest.raises(ValueError):
        await s.send_image(b"GIF89a...")


async def test_saved_session_replays_with_identical_metrics(engine, speech, tmp_path):
    async with rtnb.Session(assistant(handoffs=[BILLING]), backend=engine) as s:
        await s.say("What's the weather in Paris?")
        await s.wait()
        await s.send_audio(speech.with_silence(speech.utterance("Hello there."), 300, 800),
                           paced=True)
        await s.wait()
        path = s.save(tmp_path / "call")
    assert {p.name for p in path.iterdir()} == {"events.jsonl", "input.wav", "output.wav",
                                               "meta.json"}
    recording = rtnb.load(path)
    assert recording.metrics().rows() == s.metrics().rows()
    assert recording.transcript.lines() == s.transcript.lines()
    replay = recording.replay(speed=None)
    await replay.connect()
    await asyncio.wait_for(replay._reader, 10)
    assert replay.metrics().rows() == s.metrics().rows()
    assert bytes(replay.log.output_audio) == bytes(s.log.output_audio)
    assert "<table" in recording.metrics()._repr_html_()


async def test_clear_errors(engine, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(RuntimeError, match="OPENAI_API_KEY"):
        rtnb.Session(assistant(), backend="openai")
    s = rtnb.Session(assistant(), backend="ws://127.0.0.1:9/v1")
    with pytest.raises(ConnectionError, match="Is the engine running"):
        await s.connect()
    with pytest.raises(rtnb.SessionError, match="not connected"):
        await s.say("hi")
    with pytest.raises(ValueError):
        rtnb.Session(assistant(), backend="/nonexistent/recording")
    with pytest.raises(TypeError):
        rtnb.Session("not an agent")


def test_api_key_never_in_repr_or_log(engine, monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET-123")
    s = rtnb.Session(assistant(), backend="openai")
    assert "SECRET" not in repr(s) and "SECRET" not in repr(s.backend)
    buf = io.StringIO()
    s.log_local("local.note", text="hello")
    s.save(tmp_path / "rec")
    for f in (tmp_path / "rec").iterdir():
        assert b"SECRET" not in f.read_bytes()
    assert "SECRET" not in buf.getvalue()


def test_sync_facade(engine):
    with rtnb.SyncSession(assistant(), backend=engine) as s:
        assert "Lisbon" in s.say("What's the weather in Lisbon?")
        assert len(s.turns) == 1 and "SyncSession" in repr(s)
