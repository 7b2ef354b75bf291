"""The ready-made scenarios: registry, agent graphs, tools, guardrail, and routing through the
deterministic rule brain (no sockets: the brain and the tools are called directly)."""

from __future__ import annotations

import json
from types import SimpleNamespace as NS
from typing import Any

import pytest

from rtnb.agents import Agent, FunctionTool, ToolContext, handoff_tool_name
from rtnb.engine.brain import BrainReply, BrainRequest, RuleBrain, ToolCall, item_text
from rtnb.engine.http_api import HttpApi
from rtnb.guardrails import GuardrailResult, OutputGuardrail
from rtnb.scenarios import (
    DEFAULT,
    SCENARIOS,
    Scenario,
    classify_company_policy,
    company_policy_guardrail,
    get,
    names,
)
from rtnb.scenarios import chat_supervisor as chat_mod
from rtnb.scenarios import customer_service_retail as retail_mod

FILLERS = ("One moment.", "Let me check that.", "Just a second.",
           "Let me look into that for you.")


# -- helpers ------------------------------------------------------------------------------------


def user(text: str) -> dict:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def bot(text: str) -> dict:
    return {"type": "message", "role": "assistant",
            "content": [{"type": "output_text", "text": text}]}


def decide(agent: Agent, *history: dict | str) -> BrainReply:
    items = [user(h) if isinstance(h, str) else h for h in history]
    return RuleBrain().decide(BrainRequest(instructions=agent.instructions,
                                           tools=agent.wire_tools(), history=items))


def agents_of(name: str) -> dict[str, Agent]:
    return {a.name: a for a in get(name).agents()}


class FakeResponses:
    """``client.responses.create`` answered by the engine's HTTP handler and rule brain."""

    def __init__(self, fail: bool = False, text: str | None = None) -> None:
        self.api = HttpApi(NS(brain=RuleBrain(), model="rtnb-local"))
        self.requests: list[dict] = []
        self.fail, self.text = fail, text

    async def create(self, **request: Any) -> NS:
        self.requests.append(request)
        if self.fail:
            raise ConnectionError("model unavailable")
        if self.text is not None:
            return NS(output=[], output_text=self.text)
        body = await self.api.responses(request)
        text = " ".join(p["text"] for o in body["output"] if o["type"] == "message"
                        for p in o["content"])
        return NS(output=[NS(**o) for o in body["output"]], output_text=text)


class FakeSession:
    """Just what tools use: ``http.responses``, model names, transcript and local log."""

    def __init__(self, **responses: Any) -> None:
        self.messages: list[dict[str, str]] = []
        self.http = NS(responses=FakeResponses(**responses))
        self.text_model = "rtnb-local"
        self.reasoning_model = "rtnb-reasoning"
        self.transcript = NS(messages=lambda: list(self.messages))
        self.logs: list[tuple[str, dict]] = []

    def log_local(self, record: Any, **fields: Any) -> None:
        if not isinstance(record, str):  # an rtnb.events record
            fields = {k: v for k, v in record.to_event().items() if k != "type"}
            record = record.TYPE
        self.logs.append((record, fields))


async def converse(root: Agent, lines: list[str]) -> tuple[list[tuple[str, Any]], Agent]:
    """Play ``lines`` against the rule brain like a session does: run tool calls, follow
    handoffs, let the (new) agent speak about the outputs. Returns ``(events, agent)`` with
    events ``("say", agent, text)`` and ``("call", agent, name, args, output)``."""
    session, agent, items, events = FakeSession(), root, [], []

    async def respond() -> None:
        nonlocal agent
        for _ in range(4):
            reply = decide(agent, *items)
            if reply.text:
                items.append(bot(reply.text))
                events.append(("say", agent.name, reply.text))
            if not reply.tool_calls:
                return
            session.messages = [{"role": i["role"], "content": item_text(i)} for i in items
                                if i.get("type") == "message"]
            for n, call in enumerate(reply.tool_calls):
                cid = f"call_{len(items)}_{n}"
                args = json.dumps(call.arguments)
                items.append({"type": "function_call", "name": call.name, "arguments": args,
                              "call_id": cid})
                caller, target = agent, agent.find_handoff(call.name)
                if target is not None:
                    output, agent = json.dumps({"assistant": target.name}), target
                else:
                    fn = agent.find_tool(call.name)
                    assert fn is not None, call.name
                    output = await fn.run(args, ToolContext(session, cid, agent))
                items.append({"type": "function_call_output", "call_id": cid, "output": output})
                events.append(("call", caller.name, call.name, call.arguments, output))

    await respond()
    for line in lines:
        items.append(user(line))
        await respond()
    return events, agent


def calls(events: list) -> list[str]:
    return [e[2] for e in events if e[0] == "call"]


def said(events: list) -> list[str]:
    return [e[2] for e in events if e[0] == "say"]


# -- registry -----------------------------------------------------------------------------------


def test_registry_lists_and_builds_every_scenario():
    assert names()[0] == DEFAULT == "chat_supervisor"
    assert set(names()) == set(SCENARIOS) == {"chat_supervisor", "customer_service_retail",
                                             "simple_handoff", "triage"}
    for name in names():
        scenario = get(name)
        assert isinstance(scenario, Scenario) and scenario.name == name
        assert scenario.title and scenario.description and scenario.sample_lines
        assert scenario.agents()[0] is scenario.root
    assert get().name == DEFAULT
    assert get("chatSupervisor").name == "chat_supervisor"
    assert get("customer-service-retail").name == "customer_service_retail"
    assert get("simpleHandoff").name == "simple_handoff"


def test_unknown_scenario_lists_valid_names():
    with pytest.raises(KeyError) as info:
        get("nope")
    assert "nope" in str(info.value)
    for name in names():
        assert name in str(info.value)
    with pytest.raises(KeyError, match="haikuWriter"):
        get("triage").agent("haikuWriter")


def test_every_build_makes_fresh_agents():
    for name in names():
        a, b = get(name), get(name)
        assert a.root is not b.root
        assert not {id(x) for x in a.agents()} & {id(x) for x in b.agents()}


async def test_cart_state_does_not_leak_between_builds():
    first, second = agents_of("customer_service_retail"), agents_of("customer_service_retail")
    added = json.loads(await first["sales"].find_tool("addToCart").run({"item_id": "SB-154"}))
    assert added["cart"] == ["SB-154"]
    again = json.loads(await second["sales"].find_tool("addToCart").run({"item_id": "AP-410"}))
    assert again["cart"] == ["AP-410"]


# -- graphs and tool schemas ----------------------------------------------------------------------

GRAPHS = {
    "chat_supervisor": {"chatAgent": set()},
    "simple_handoff": {"greeter": {"haikuWriter"}, "haikuWriter": set()},
    "customer_service_retail": {
        a: {"authentication", "returns", "sales", "simulatedHuman"} - {a}
        for a in ("authentication", "returns", "sales", "simulatedHuman")},
    "triage": {"triage": {"support", "sales", "billing", "technical"}, "support": {"triage"},
               "sales": {"triage"}, "billing": {"triage"}, "technical": {"triage"}},
}
TOOLS = {
    "chat_supervisor": {"chatAgent": {"getNextResponseFromSupervisor"}},
    "simple_handoff": {"greeter": set(), "haikuWriter": set()},
    "customer_service_retail": {
        "authentication": {"authenticate_user_information", "save_or_update_address",
                           "update_user_offer_response"},
        "returns": {"lookupOrders", "retrievePolicy",
                    "checkEligibilityAndPossiblyInitiateReturn"},
        "sales": {"lookupNewSales", "addToCart", "checkout"},
        "simulatedHuman": set()},
    "triage": {"triage": set(), "support": {"openTicket"}, "sales": {"listPlans"},
               "billing": {"getInvoice", "refundCharge"}, "technical": {"runLineDiagnostics"}},
}
ROOTS = {"chat_supervisor": "chatAgent", "simple_handoff": "greeter",
         "customer_service_retail": "authentication", "triage": "triage"}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_agent_graph_matches_the_description(name):
    scenario = get(name)
    assert scenario.root.name == ROOTS[name]
    graph = {a.name: {h.name for h in a.handoffs} for a in scenario.agents()}
    assert graph == GRAPHS[name]
    assert {a.name: {t.name for t in a.tools} for a in scenario.agents()} == TOOLS[name]
    for agent in scenario.agents():
        for target in agent.handoffs:
            assert target.handoff_description, target.name


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_tools_have_valid_wire_schemas(name):
    for agent in get(name).agents():
        wire = agent.wire_tools()
        json.loads(json.dumps(wire))
        for spec in wire:
            assert spec["type"] == "function" and spec["description"]
            params = spec["parameters"]
            assert params["type"] == "object"
            assert set(params["required"]) <= set(params["properties"])
            for prop in params["properties"].values():
                assert "type" in prop or "anyOf" in prop
        handoffs = [t["name"] for t in agent.handoff_tools()]
        assert handoffs == [handoff_tool_name(a.name) for a in agent.handoffs]
        assert all(h.startswith("transfer_to_") and h == h.lower() for h in handoffs)
        for fn in agent.tools:
            assert isinstance(fn, FunctionTool)
            assert fn.description and "ctx" not in fn.parameters["properties"]


def test_instructions_name_only_their_own_tools():
    for name in names():
        agents = get(name).agents()
        for agent in agents:
            assert "transfer_to_" not in agent.instructions, agent.name
            for tool_name in {t.name for a in agents for t in a.tools}:
                if tool_name in agent.instructions:
                    assert agent.find_tool(tool_name), (agent.name, tool_name)


def test_authentication_phone_has_a_format_pattern():
    auth = agents_of("customer_service_retail")["authentication"]
    schema = auth.find_tool("authenticate_user_information").parameters
    assert schema["properties"]["phone_number"]["pattern"] == retail_mod.PHONE_PATTERN
    assert set(schema["required"]) == {"phone_number", "date_of_birth", "last_4_digits"}
    assert schema["properties"]["last_4_digits_type"]["enum"] == ["credit_card", "ssn"]
    sales = agents_of("customer_service_retail")["sales"]
    enum = sales.find_tool("lookupNewSales").parameters["properties"]["category"]["enum"]
    assert enum == ["snowboard", "apparel", "boots", "bindings", "any"]


# -- routing through the rule brain -----------------------------------------------------------

ROUTES = [
    ("triage", "triage", "My bill is wrong.", "transfer_to_billing"),
    ("triage", "triage", "I was charged twice this month", "transfer_to_billing"),
    ("triage", "triage", "can I get a refund", "transfer_to_billing"),
    ("triage", "triage", "my internet keeps dropping", "transfer_to_technical"),
    ("triage", "triage", "my calls keep dropping", "transfer_to_technical"),
    ("triage", "triage", "the app shows an error", "transfer_to_technical"),
    ("triage", "triage", "I want to upgrade my plan", "transfer_to_sales"),
    ("triage", "triage", "how much is the unlimited plan", "transfer_to_sales"),
    ("triage", "triage", "I forgot my password", "transfer_to_support"),
    ("triage", "triage", "I have a general question about my account", "transfer_to_support"),
    ("triage", "billing", "show me invoice INV-1042", "getInvoice"),
    ("triage", "billing", "refund the late fee on INV-1051", "refundCharge"),
    ("triage", "billing", "can I talk to another department", "transfer_to_triage"),
    ("triage", "technical", "run a diagnostic on 206 555 0147", "runLineDiagnostics"),
    ("triage", "technical", "transfer me to someone else", "transfer_to_triage"),
    ("triage", "sales", "what plans do you have", "listPlans"),
    ("triage", "support", "please open a ticket, my voicemail won't set up", "openTicket"),
    ("customer_service_retail", "authentication", "I want to return my snowboard.",
     "transfer_to_returns"),
    ("customer_service_retail", "authentication", "my snowboard is broken",
     "transfer_to_returns"),
    ("customer_service_retail", "authentication", "I want to buy a new snowboard",
     "transfer_to_sales"),
    ("customer_service_retail", "authentication", "any deals on boots?", "transfer_to_sales"),
    ("customer_service_retail", "authentication", "can I talk to a real person",
     "transfer_to_simulatedhuman"),
    ("customer_service_retail", "returns", "where is my order, my number is 206 555 0183",
     "lookupOrders"),
    ("customer_service_retail", "returns", "what's the return policy for boots",
     "retrievePolicy"),
    ("customer_service_retail", "returns", "what is your return policy on jackets in canada",
     "retrievePolicy"),
    ("customer_service_retail", "returns", "The edge of my snowboard chipped on the first day, "
     "can I return it?", "checkEligibilityAndPossiblyInitiateReturn"),
    ("customer_service_retail", "returns", "I want a refund for order ORD-5021",
     "checkEligibilityAndPossiblyInitiateReturn"),
    ("customer_service_retail", "returns", "can I exchange the boots from ORD-4980",
     "checkEligibilityAndPossiblyInitiateReturn"),
    ("customer_service_retail", "returns", "Actually, are there any deals on snowboards?",
     "transfer_to_sales"),
    ("customer_service_retail", "returns", "I want to speak to a human",
     "transfer_to_simulatedhuman"),
    ("customer_service_retail", "returns", "I need to update my address",
     "transfer_to_authentication"),
    ("customer_service_retail", "sales", "what's on sale", "lookupNewSales"),
    ("customer_service_retail", "sales", "Add SB-158 to my cart.", "addToCart"),
    ("customer_service_retail", "sales", "I want to return my boots", "transfer_to_returns"),
    ("customer_service_retail", "sales", "I need a manager", "transfer_to_simulatedhuman"),
    ("customer_service_retail", "simulatedHuman", "show me deals", "transfer_to_sales"),
]


@pytest.mark.parametrize(("scenario", "agent", "line", "expected"), ROUTES)
def test_rule_brain_routes_sample_lines(scenario, agent, line, expected):
    reply = decide(agents_of(scenario)[agent], line)
    if reply.tool_calls:
        assert [c.name for c in reply.tool_calls] == [expected]
        if expected.startswith("transfer_to_"):
            assert reply.tool_calls[0].arguments == {}
    else:  # the right tool, but a required argument is missing: it asks for it
        assert reply.text and reply.text.endswith("?")
        assert expected in ("lookupOrders", "getInvoice", "runLineDiagnostics")


@pytest.mark.parametrize(("scenario", "agent", "line", "question"), [
    ("triage", "technical", "my internet keeps dropping", "What's your phone number?"),
    ("customer_service_retail", "returns", "Can you look up my orders?",
     "What's your phone number?"),
    ("customer_service_retail", "authentication", "please verify my identity",
     "What's your phone number?"),
])
def test_missing_arguments_are_asked_for(scenario, agent, line, question):
    assert decide(agents_of(scenario)[agent], line) == BrainReply(question)


def test_arguments_come_from_the_users_words():
    retail = agents_of("customer_service_retail")
    reply = decide(retail["authentication"],
                   "My phone number is two oh six five five five zero one eight three, I was "
                   "born March 3rd 1990, and the last four digits of my card are 4321.")
    assert reply.tool_calls == [ToolCall("authenticate_user_information", {
        "phone_number": "(206) 555-0183", "date_of_birth": "1990-03-03",
        "last_4_digits": "4321", "last_4_digits_type": "credit_card"})]
    assert decide(retail["sales"], "any deals on snowboards?").tool_calls == [
        ToolCall("lookupNewSales", {"category": "snowboard"})]
    assert decide(retail["returns"], "what is your return policy on jackets in canada"
                  ).tool_calls == [ToolCall("retrievePolicy", {"itemCategory": "apparel",
                                                               "region": "Canada"})]
    triage = agents_of("triage")
    assert decide(triage["billing"], "show me invoice 1042").tool_calls == [
        ToolCall("getInvoice", {"invoice_id": "1042"})]


def test_authentication_collects_details_over_several_turns():
    auth = agents_of("customer_service_retail")["authentication"]
    history: list[dict | str] = ["please verify my identity"]
    for answer, question in [("it's 206 555 0183", "What's your date of birth?"),
                             ("March 3rd 1990", "What are the last four digits of your card?")]:
        history += [bot(decide(auth, *history).text or ""), answer]
        assert decide(auth, *history).text == question
    history += [bot("What are the last four digits?"), "four three two one"]
    assert decide(auth, *history).tool_calls == [ToolCall("authenticate_user_information", {
        "phone_number": "(206) 555-0183", "date_of_birth": "1990-03-03",
        "last_4_digits": "4321"})]


def test_chat_agent_sends_questions_to_the_supervisor_with_a_filler():
    chat = get("chat_supervisor").root
    for line in ("What's your policy on roaming?", "Why is my bill so high this month?",
                 "Is there a store near zip code 98101?", "what plans do you have?"):
        reply = decide(chat, line)
        assert reply.text in FILLERS
        assert reply.tool_calls == [ToolCall("getNextResponseFromSupervisor", {
            "relevantContextFromLastUserMessage": line})]
    spoken = decide(chat, "my number is two oh six five five five zero one four seven")
    assert spoken.tool_calls[0].arguments == {
        "relevantContextFromLastUserMessage": "my number is 2065550147"}


@pytest.mark.parametrize("line", ["hi", "Hello there!", "how are you?", "thanks so much",
                                  "ok bye", "who are you?"])
def test_chat_agent_handles_small_talk_itself(line):
    reply = decide(get("chat_supervisor").root, line)
    assert reply.tool_calls == [] and reply.text


def test_quoted_greetings_open_each_scenario():
    greeting = "Hi, thanks for calling Brightwave Mobile. How can I help you today?"
    chat = get("chat_supervisor").root
    assert decide(chat).text == greeting == decide(chat, "hi").text
    assert decide(get("customer_service_retail").root).text == (
        "Hi, you've reached Powderline Boards! What can I help you with today?")
    assert decide(get("simple_handoff").root).text == (
        "Hi there! Would you like me to write you a haiku?")
    assert decide(get("triage").root).text == (
        "Hi, you've reached Brightwave Mobile. What can I help you with today?")


# -- whole conversations --------------------------------------------------------------------------


async def test_chat_supervisor_sample_conversation():
    scenario = get("chat_supervisor")
    session, chat = FakeSession(), scenario.root
    ask = chat.find_tool("getNextResponseFromSupervisor")
    answers = []
    for line in scenario.sample_lines:
        session.messages.append({"role": "user", "content": line})
        history = [user(m["content"]) if m["role"] == "user" else bot(m["content"])
                   for m in session.messages]
        reply = decide(chat, *history)
        assert reply.text
        session.messages.append({"role": "assistant", "content": reply.text})
        for call in reply.tool_calls:
            out = json.loads(await ask.run(json.dumps(call.arguments),
                                           ToolContext(session, "c1", chat)))
            answers.append(out["nextResponse"])
            session.messages.append({"role": "assistant", "content": out["nextResponse"]})
    roaming, ask_phone, account, store = answers
    assert roaming.startswith("Roaming in our 120-country Travel Zone costs $10 per day")
    assert ask_phone == "What's your phone number?"
    assert account.startswith("Thanks, Ada. You're on the Everyday 25 plan")
    assert "roaming days in Mexico" in account
    assert store.startswith("The store near you is Brightwave Seattle Harborfront")
    tools_used = [f["name"] for k, f in session.logs if k.endswith("supervisor.tool")]
    assert tools_used == ["lookupPolicyDocument", "getUserAccountInfo", "findNearestStore"]
    request = session.http.responses.requests[0]
    assert request["instructions"] == chat_mod.SUPERVISOR_INSTRUCTIONS
    assert [t["name"] for t in request["tools"]] == [
        "lookupPolicyDocument", "getUserAccountInfo", "findNearestStore"]


async def test_retail_sample_conversation():
    scenario = get("customer_service_retail")
    events, last = await converse(scenario.root, scenario.sample_lines)
    assert calls(events) == [
        "authenticate_user_information", "update_user_offer_response", "transfer_to_returns",
        "lookupOrders", "checkEligibilityAndPossiblyInitiateReturn", "transfer_to_sales",
        "lookupNewSales", "addToCart", "checkout", "transfer_to_simulatedhuman"]
    outputs = {e[2]: (e[3], json.loads(e[4])) for e in events if e[0] == "call"}
    assert outputs["authenticate_user_information"][1]["verified"] is True
    assert outputs["update_user_offer_response"][0]["user_response"] == "ACCEPT"
    assert outputs["lookupOrders"][0] == {"phoneNumber": "2065550183"}
    verdict = outputs["checkEligibilityAndPossiblyInitiateReturn"][1]
    assert verdict["eligible"] is True and verdict["return_id"] == "RMA-5021"
    assert outputs["checkout"][0] == {"item_ids": ["SB-154"], "phone_number": "2065550183"}
    assert outputs["checkout"][1]["total"] == 379.0
    lines = said(events)
    assert "Hi, you're through to returns. Which order can I help you with?" in lines
    assert "Hey, sales here! Are you after a new board or some other gear?" in lines
    assert lines[-1] == "Hi, this is Casey, a team lead here. How can I make this right?"
    assert last.name == "simulatedHuman"


async def test_triage_sample_conversation():
    scenario = get("triage")
    events, last = await converse(scenario.root, scenario.sample_lines)
    assert calls(events) == ["transfer_to_billing", "getInvoice", "refundCharge",
                             "transfer_to_triage", "transfer_to_technical",
                             "runLineDiagnostics"]
    lines = said(events)
    assert "Billing here. Which invoice or charge should I look at?" in lines
    assert "Technical support here. What's the number of the line that's acting up?" in lines
    assert any(t.startswith("Done: $20.00 is credited back to your account for INV-1042.")
               for t in lines)
    assert lines[-1].startswith("I ran a check on 415-555-0198.")
    assert last.name == "technical"


async def test_simple_handoff_sample_conversation():
    scenario = get("simple_handoff")
    events, last = await converse(scenario.root, scenario.sample_lines)
    assert calls(events) == ["transfer_to_haikuwriter"]
    lines = said(events)
    assert "Hi, this is the haiku writer. What topic would you like?" in lines
    poems = [t for t in lines if t.count("\n") == 2]
    assert len(poems) == 2 and poems[1].startswith("Ocean")
    assert last.name == "haikuWriter"


# -- the tools themselves --------------------------------------------------------------------------


async def test_supervisor_tools_run_from_json():
    tools = {t.name: t for t in chat_mod.supervisor_tools()}
    policy = json.loads(await tools["lookupPolicyDocument"].run('{"topic": "late fees"}'))
    assert policy["topic"] == "fees" and policy["message"].startswith("A late fee of $7")
    returns = json.loads(await tools["lookupPolicyDocument"].run('{"topic": "returning a phone"}'))
    assert returns["topic"] == "returns"
    unknown = json.loads(await tools["lookupPolicyDocument"].run('{"topic": "pets"}'))
    assert unknown["found"] is False and "roaming" in unknown["message"]
    account = json.loads(await tools["getUserAccountInfo"].run(
        '{"phone_number": "(312) 555-0123"}'))
    assert account["account"]["name"] == "Priya Natarajan" and "late fee" in account["message"]
    paid = json.loads(await tools["getUserAccountInfo"].run('{"phone_number": "+14155550198"}'))
    assert "paid in full" in paid["message"]
    missing = json.loads(await tools["getUserAccountInfo"].run('{"phone_number": "555"}'))
    assert missing["found"] is False
    store = json.loads(await tools["findNearestStore"].run('{"zip_code": "60601"}'))
    assert store["store"]["name"] == "Brightwave Chicago Loop"
    near = json.loads(await tools["findNearestStore"].run('{"zip_code": "98115"}'))
    assert near["zip_code"] == "98101" and "closest to 98115" in near["message"]
    bad = json.loads(await tools["findNearestStore"].run('{"zip_code": "abc"}'))
    assert bad["found"] is False
    invalid = json.loads(await tools["findNearestStore"].run("{}"))
    assert "invalid arguments" in invalid["error"]


def test_chat_supervisor_tool_and_guardrail_option():
    chat = get("chat_supervisor").root
    ask = chat.find_tool("getNextResponseFromSupervisor")
    assert ask.parameters["required"] == ["relevantContextFromLastUserMessage"]
    assert chat.output_guardrails == []
    guarded = get("chat_supervisor", guardrail=True).root
    assert [g.name for g in guarded.output_guardrails] == ["company_policy"]


def test_authentication_tools():
    auth = agents_of("customer_service_retail")["authentication"]
    verify = auth.find_tool("authenticate_user_information").func
    ok = verify("(206) 555-0183", "1990-03-03", "4321")
    assert ok["verified"] is True and ok["customer"] == "Jordan Reyes"
    assert verify("(206) 555-0183", "1990-03-04", "4321")["verified"] is False
    assert verify("(999) 555-0183", "1990-03-03", "4321")["verified"] is False
    saved = auth.find_tool("save_or_update_address").func(
        "(206) 555-0183", "12 Pine Street", "Denver", "Colorado", "80202")
    assert saved["address"] == "12 Pine Street, Denver, Colorado 80202"
    offer = auth.find_tool("update_user_offer_response").func("(206) 555-0183", "DECLINE")
    assert offer["offer_id"] == "WAX-25" and offer["response"] == "DECLINE"


async def test_offer_response_rejects_unknown_choices():
    auth = agents_of("customer_service_retail")["authentication"]
    out = json.loads(await auth.find_tool("update_user_offer_response").run(
        {"phone_number": "2065550183", "user_response": "MAYBE"}))
    assert "invalid arguments" in out["error"]


def test_returns_lookup_and_policy_tools():
    returns = agents_of("customer_service_retail")["returns"]
    orders = returns.find_tool("lookupOrders").func("303-555-0182")
    assert [o["order_id"] for o in orders["orders"]] == ["ORD-5107", "ORD-4980", "ORD-4975"]
    assert orders["orders"][0]["delivered_on"] is None
    assert "ORD-4980, the Trailhead dual-dial boots, delivered 75 days ago" in orders["message"]
    assert returns.find_tool("lookupOrders").func("000")["orders"] == []
    policy = returns.find_tool("retrievePolicy").func
    boots = policy("boots", "United States")
    assert boots["window_days"] == 30 and "prepaid label" in boots["message"]
    assert policy("jacket", "Canada")["window_days"] == 60
    assert "customer pays" in policy("board", "France")["message"]
    assert "prepaid label" in policy("snowboard", "ORD-4980")["message"]


@pytest.mark.parametrize(("question", "eligible", "order_id"), [
    ("return the snowboard from ORD-5021, the edge chipped", True, "ORD-5021"),
    ("can I return the jacket? tags are still on", True, "ORD-5022"),
    ("return my boots from order 4980", False, "ORD-4980"),
    ("return the youth snowboard", False, "ORD-4975"),
    ("send back the bindings", False, "ORD-5107"),
    ("I want to return something", "need_more_information", None),
])
def test_offline_eligibility_rules(question, eligible, order_id):
    orders = [o for c in retail_mod.CUSTOMERS.values() for o in c["orders"]]
    verdict, reason, order = retail_mod.decide_eligibility(orders, [question])
    assert verdict == eligible and reason
    assert (order["order_id"] if order else None) == order_id


@pytest.mark.parametrize(("text", "expected"), [
    ('{"eligible": true, "message": "Yes, within 30 days."}', True),
    ('Sure: {"eligible": "need_more_information", "message": "Which order?"}',
     "need_more_information"),
    ("The item is not eligible because it is past the window.", False),
    ("Good news, this item is eligible for a refund.", True),
    ("I'm a simple offline engine, so I can't answer that myself.", None),
    ('{"eligible": "perhaps"}', None),
])
def test_parse_verdict(text, expected):
    verdict = retail_mod.parse_verdict(text)
    assert (verdict["eligible"] if verdict else None) == expected


async def test_eligibility_asks_the_reasoning_model_then_falls_back():
    returns = agents_of("customer_service_retail")["returns"]
    check = returns.find_tool("checkEligibilityAndPossiblyInitiateReturn")
    session = FakeSession()
    session.messages = [{"role": "user", "content": f"line {i}"} for i in range(14)] + [
        {"role": "user", "content": "my number is 206 555 0183"}]
    args = {"userDesiredAction": "return",
            "question": "the snowboard from ORD-5021 has a chipped edge"}
    out = json.loads(await check.run(args, ToolContext(session, "c1", returns)))
    assert out["eligible"] is True and out["source"] == "rules"
    assert out["order_id"] == "ORD-5021" and out["return_id"] == "RMA-5021"
    request = session.http.responses.requests[0]
    assert request["model"] == "rtnb-reasoning"
    assert len(request["input"]) == 11 and request["input"][0]["content"] == "line 5"
    assert "ORD-5021" in request["instructions"] and '"eligible"' in request["instructions"]

    model_says = FakeSession(text='{"eligible": false, "message": "Used boards are final."}')
    out = json.loads(await check.run(args, ToolContext(model_says, "c2", returns)))
    assert out == {"eligible": False, "source": "model", "order_id": "ORD-5021",
                   "message": "Used boards are final."}

    broken = FakeSession(fail=True)
    out = json.loads(await check.run(args, ToolContext(broken, "c3", returns)))
    assert out["eligible"] is True and out["source"].startswith("rules (model failed")

    offline = json.loads(await check.run({"userDesiredAction": "just asking",
                                          "question": "is the jacket returnable? tags on"}))
    assert offline["eligible"] is True and "Shall I start the return?" in offline["message"]


async def test_sales_tools():
    sales = agents_of("customer_service_retail")["sales"]
    deals = sales.find_tool("lookupNewSales").func("boots")
    assert [i["item_id"] for i in deals["items"]] == ["BT-210"]
    everything = json.loads(await sales.find_tool("lookupNewSales").run("{}"))
    assert len(everything["items"]) == 5
    add = sales.find_tool("addToCart").func
    assert add("sb-158")["cart"] == ["SB-158"]
    assert add("AP-410")["cart"] == ["SB-158", "AP-410"]
    assert add("XX-1")["added"] is False
    checkout = sales.find_tool("checkout").func
    done = checkout(["SB-158", "AP-410"], "(206) 555-0183")
    assert done["success"] is True and done["total"] == 529.0 + 159.0
    assert done["order_id"] == "ORD-6001"
    assert checkout(["SB-154"], "2065550183")["order_id"] == "ORD-6002"
    assert checkout(["NOPE-1"], "2065550183")["success"] is False
    assert add("BT-210")["cart"] == ["BT-210"]


async def test_triage_tools():
    agents = agents_of("triage")
    ticket = agents["support"].find_tool("openTicket").func("Voicemail won't set up")
    assert ticket["ticket_id"] == "TCK-1001"
    assert agents["support"].find_tool("openTicket").func("again")["ticket_id"] == "TCK-1002"
    plans = agents["sales"].find_tool("listPlans").func()
    assert len(plans["plans"]) == 3 and "Unlimited Max at $65" in plans["message"]
    invoice = json.loads(await agents["billing"].find_tool("getInvoice").run(
        '{"invoice_id": "1042"}'))
    assert invoice["invoice_id"] == "INV-1042" and invoice["total"] == 63.40
    assert agents["billing"].find_tool("getInvoice").func("INV-9")["found"] is False
    refund = agents["billing"].find_tool("refundCharge").func
    assert refund("INV-1051", "the late fee is wrong")["amount"] == 7.0
    assert refund("INV-1051", "please", 25.0)["refunded"] is False
    assert refund("INV-1051", "something")["message"].endswith("how much?")
    assert refund("INV-0977", "plan", 10.0)["amount"] == 10.0
    line = agents["technical"].find_tool("runLineDiagnostics").func("312-555-0123")
    assert "suspended" in line["message"]
    assert agents["technical"].find_tool("runLineDiagnostics").func("1")["found"] is False


# -- company-policy guardrail ----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "category"), [
    ("Skyreach Wireless is a total rip-off, don't bother with them.", "OFF_BRAND"),
    ("Honestly, Ridgeback boards fall apart after a season.", "OFF_BRAND"),
    ("That's a stupid question.", "OFFENSIVE"),
    ("If they come back I'll kill them.", "VIOLENCE"),
    ("Our Drift 154 is a great all-mountain board.", "NONE"),
    ("Skyreach Wireless has plans too, but ours include roaming days.", "NONE"),
    ("That's a killer deal. Kill the app and restart it.", "NONE"),
    ("Our bad weather policy is generous.", "NONE"),
])
def test_company_policy_categories(text, category):
    got, rationale = classify_company_policy(text)
    assert got == category and rationale


async def test_company_policy_guardrail_is_attached_to_retail_agents():
    for agent in get("customer_service_retail").agents():
        assert [g.name for g in agent.output_guardrails] == ["company_policy"]
    guardrail = company_policy_guardrail(["Acme Boards"], fail_closed=True)
    assert isinstance(guardrail, OutputGuardrail) and guardrail.fail_closed
    result = await guardrail.check("Acme Boards are junk.")
    assert isinstance(result, GuardrailResult)
    assert (result.tripped, result.category) == (True, "OFF_BRAND")
    assert "Acme Boards" in result.rationale and result.text == "Acme Boards are junk."
    assert (await guardrail.check("Skyreach Wireless is junk.")).tripped is False
    clean = await get("customer_service_retail").root.output_guardrails[0].check("Hi there!")
    assert (clean.tripped, clean.category) == (False, "NONE")
