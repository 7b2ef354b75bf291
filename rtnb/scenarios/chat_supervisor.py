"""Chat supervisor (the default): a quick realtime agent backed by a text-model supervisor.

``chatAgent`` handles greetings, small talk, repeats and collecting details itself, and
sends everything else to ``getNextResponseFromSupervisor``, saying a filler phrase first.
The supervisor (a text model with its own tools) decides the answer; ``chatAgent`` reads
it out word for word. The company, Brightwave Mobile, is fictional (see :mod:`.data`).
"""

from __future__ import annotations

import re

from ..agents import Agent, FunctionTool, tool
from ..engine.brain.extract import stem, words_of
from ..supervisor import supervisor_tool
from . import Scenario, company_policy_guardrail
from .data import (
    ACCOUNTS,
    PLANS,
    POLICIES,
    STORES,
    TELECOM_COMPETITORS,
    TELECOM_NAME,
    dashed,
    phone_digits,
)

CHAT_INSTRUCTIONS = f"""\
You are the voice of {TELECOM_NAME}, a wireless carrier. You are new on the job, so a senior
supervisor decides every real answer for you. Keep replies short, warm and easy to listen to.

# Greeting
- Greet the user with "Hi, thanks for calling {TELECOM_NAME}. How can I help you today?"
- If the user greets you again later, reply briefly without repeating the full greeting.

# What you may handle on your own
- Greetings, thanks, goodbyes and light small talk.
- Repeating or rephrasing something you already said, when asked.
- Asking the user for details the supervisor needs, such as the phone number on the account
  or a zip code, and reading numbers back to confirm them.

# Everything else goes to the supervisor
By default, always use getNextResponseFromSupervisor for anything outside that list:
accounts, bills, plans, fees, roaming, returns, stores or any factual question, even when
you think you know the answer. Pass the relevant part of the user's last message. Then read
the nextResponse you get back aloud, word for word, and add nothing of your own.

# Filler phrases
Before calling getNextResponseFromSupervisor, say one short filler phrase such as:
- "One moment."
- "Let me check that."
- "Just a second."
- "Let me look into that for you."
Never call the tool without saying a filler phrase first.
"""

SUPERVISOR_INSTRUCTIONS = f"""\
You supervise a junior voice agent at {TELECOM_NAME}, a wireless carrier. You see the
conversation so far and the latest request, and you write the exact words the agent should
say next.

Rules:
- Use your tools for facts about policies, accounts and stores; never guess numbers, fees
  or dates.
- To look at an account you need the phone number on it. If the user has not given one,
  your reply should ask for it.
- To find a store you need a zip code; ask for it if it is missing.
- Keep the reply to one to three short spoken sentences, with no lists, markdown or emoji.
- Stay polite and never criticise other carriers such as {", ".join(TELECOM_COMPETITORS)}.
- If a request is outside what {TELECOM_NAME} handles, say so kindly.

Plans: {"; ".join(f"{n} at ${p['price']} a month with {p['data']}" for n, p in PLANS.items())}.
"""


def _policy_for(topic: str) -> str | None:
    """The best-matching policy topic for ``topic`` (keyword stems; ties go to the first)."""
    asked = {stem(w) for w in words_of(topic)} | set(words_of(topic))
    best, best_score = None, 0
    for name, (keywords, _text) in POLICIES.items():
        score = sum(1 for k in keywords if k in asked or stem(k) in asked)
        score += 2 if stem(name) in asked else 0
        if score > best_score:
            best, best_score = name, score
    return best


def supervisor_tools() -> list[FunctionTool]:
    """The supervisor's own tools: policy documents, account lookup and store finder."""

    @tool
    def lookupPolicyDocument(topic: str) -> dict:
        """Read the company's written policy on a topic such as roaming, fees, billing,
        device returns, plans or cancellation.

        Args:
            topic: The policy topic to look up, e.g. roaming, late fees, returns.
        """
        name = _policy_for(topic)
        if name is None:
            known = ", ".join(POLICIES)
            return {"topic": topic, "found": False,
                    "message": f"I don't have a written policy on {topic}. I can tell you "
                               f"about {known}."}
        return {"topic": name, "found": True, "message": POLICIES[name][1]}

    @tool
    def getUserAccountInfo(phone_number: str) -> dict:
        """Read a customer's account by phone number: name, plan, balance, due date and the
        charges on the latest bill.

        Args:
            phone_number: The phone number on the account, e.g. 206-555-0147.
        """
        digits = phone_digits(phone_number)
        account = ACCOUNTS.get(digits)
        if account is None:
            return {"found": False, "phone_number": phone_number,
                    "message": f"I couldn't find an account for {dashed(digits) or 'that'} "
                               "number. Could you double-check it for me?"}
        first = account["name"].split()[0]
        owing = (f"the balance is ${account['balance']:.2f}, due {account['due']}"
                 if account["balance"] else "the balance is paid in full")
        message = (f"Thanks, {first}. You're on the {account['plan']} plan and {owing}. "
                   f"{account['note']}")
        return {"found": True, "phone_number": dashed(digits), "account": account,
                "message": message}

    @tool
    def findNearestStore(zip_code: str) -> dict:
        """Find the store closest to a zip code, with its address and opening hours.

        Args:
            zip_code: The five-digit zip code to search near.
        """
        zip5 = re.sub(r"\D", "", zip_code)[:5]
        if len(zip5) != 5:
            return {"found": False, "message": "Could you give me a five-digit zip code?"}
        nearest = min(STORES, key=lambda z: (abs(int(z) - int(zip5)), z))
        store = STORES[nearest]
        where = "near you" if nearest == zip5 else f"closest to {zip5}"
        return {"found": True, "zip_code": nearest, "store": store,
                "message": f"The store {where} is {store['name']} at {store['address']}, "
                           f"open {store['hours']}."}

    return [lookupPolicyDocument, getUserAccountInfo, findNearestStore]


def build(*, guardrail: bool = False) -> Scenario:
    """The chat-supervisor scenario; ``guardrail=True`` adds the company-policy guardrail."""
    ask = supervisor_tool(SUPERVISOR_INSTRUCTIONS, supervisor_tools())
    guardrails = [company_policy_guardrail(TELECOM_COMPETITORS)] if guardrail else []
    chat = Agent(name="chatAgent", instructions=CHAT_INSTRUCTIONS, tools=[ask],
                 handoff_description=f"Front-line voice agent for {TELECOM_NAME}.",
                 output_guardrails=guardrails)
    return Scenario(
        name="chat_supervisor",
        title=f"Chat supervisor ({TELECOM_NAME})",
        description=("One realtime agent (chatAgent) answers small talk itself and asks a "
                     "supervisor text model, which has policy, account and store tools, for "
                     "everything else; it says a filler phrase while it waits."),
        root=chat,
        sample_lines=[
            "Hi there!",
            "What's your policy on roaming?",
            "Why is my bill so high this month?",
            "It's 206 555 0147.",
            "Is there a store near zip code 98101?",
            "Thanks, that's all. Bye!",
        ],
    )
