"""Triage: a front desk that routes callers to support, sales, billing or technical.

Each specialist has one or two mock tools and can hand the caller back to triage. The
company is the fictional Brightwave Mobile (see :mod:`.data`).
"""

from __future__ import annotations

import re
from typing import Any

from ..agents import Agent, tool
from . import Scenario
from .data import INVOICES, LINE_STATUS, PLANS, TELECOM_NAME, dashed, phone_digits

TRIAGE_INSTRUCTIONS = f"""\
You are the front desk of the {TELECOM_NAME} help line. Your only job is to understand what
the caller needs and transfer them to the right specialist; don't try to solve it yourself.

Greet the user with "Hi, you've reached {TELECOM_NAME}. What can I help you with today?"

- Billing: bills, invoices, payments, unexpected charges and refunds.
- Technical: no signal, dropped calls, slow or dropping internet, outages, device errors.
- Sales: new plans, prices, upgrades, new phones or lines.
- Support: logins, passwords, account settings and general questions.
If the request is unclear, ask one short question to find out which it is.
"""

_BACK = ("Hand the caller back to triage, the front desk, when they need a different "
         "specialist or the request is outside your area.")

SUPPORT_INSTRUCTIONS = f"""\
You are the general support specialist at {TELECOM_NAME}.
Greet the user with "Support here. What can I sort out for you?"
Help with logins, passwords, account settings and general questions. When something needs
follow-up, open a ticket with openTicket and read the ticket number back. {_BACK}
"""

SALES_INSTRUCTIONS = f"""\
You are the sales specialist at {TELECOM_NAME}.
Greet the user with "Sales here! Are you looking for a new plan or a new phone?"
Help the caller choose a plan: use listPlans for current prices and suggest the smallest
plan that fits their needs. {_BACK}
"""

BILLING_INSTRUCTIONS = f"""\
You are the billing specialist at {TELECOM_NAME}.
Greet the user with "Billing here. Which invoice or charge should I look at?"
Look invoices up with getInvoice and explain each charge plainly. Refund a charge with
refundCharge only when it is clearly a mistake, and say how much was credited. {_BACK}
"""

TECHNICAL_INSTRUCTIONS = f"""\
You are the technical specialist at {TELECOM_NAME}.
Greet the user with "Technical support here. What's the number of the line that's acting up?"
Ask for the phone number of the affected line, run runLineDiagnostics, explain what it
found and walk the caller through the fix one step at a time. {_BACK}
"""


def _invoice_key(invoice_id: str) -> str:
    """``"1042"`` / ``"inv 1042"`` → ``"INV-1042"``."""
    digits = re.sub(r"\D", "", invoice_id)
    return f"INV-{digits.zfill(4)}" if digits else invoice_id.strip().upper()


def build() -> Scenario:
    """The triage scenario, with fresh per-session state (tickets, refunds)."""
    mem: dict[str, Any] = {"tickets": [], "refunds": {}}

    @tool
    def openTicket(summary: str) -> dict:
        """Open a support ticket describing the caller's problem so the team can follow up,
        for example login or password trouble or an account change.

        Args:
            summary: A one-sentence summary of the problem.
        """
        ticket = f"TCK-{1001 + len(mem['tickets'])}"
        mem["tickets"].append({"ticket_id": ticket, "summary": summary})
        return {"ticket_id": ticket, "summary": summary,
                "message": f"I've opened ticket {ticket} for you. The team will follow up "
                           "within one business day."}

    @tool
    def listPlans() -> dict:
        """List the mobile plans on offer with monthly prices, data and extras."""
        spoken = "; ".join(f"{name} at ${p['price']} a month with {p['data']} of data"
                           for name, p in PLANS.items())
        return {"plans": [{"name": n, **p} for n, p in PLANS.items()],
                "message": f"We have {len(PLANS)} plans: {spoken}. Which sounds closest to "
                           "what you need?"}

    @tool
    def getInvoice(invoice_id: str) -> dict:
        """Read an invoice by its id: the month, the total and each charge on it.

        Args:
            invoice_id: The invoice id, e.g. INV-1042.
        """
        key = _invoice_key(invoice_id)
        invoice = INVOICES.get(key)
        if invoice is None:
            return {"found": False, "message": f"I can't find invoice {invoice_id}. Invoice "
                                               "ids look like INV-1042."}
        lines = ", ".join(f"{name} ${amount:.2f}" for name, amount in invoice["lines"].items())
        return {"found": True, "invoice_id": key, **invoice,
                "message": f"Invoice {key} for {invoice['month']} comes to "
                           f"${invoice['total']:.2f}: {lines}."}

    @tool
    def refundCharge(invoice_id: str, reason: str, amount: float = 0.0) -> dict:
        """Refund a wrong charge on an invoice as account credit.

        Args:
            invoice_id: The invoice id, e.g. INV-1042.
            reason: Why the charge is wrong, naming the charge (e.g. roaming, late fee).
            amount: Dollars to refund; 0 refunds the whole charge named in the reason.
        """
        key = _invoice_key(invoice_id)
        invoice = INVOICES.get(key)
        if invoice is None:
            return {"refunded": False, "message": f"I can't find invoice {invoice_id}."}
        if not amount:
            line = next((n for n in invoice["lines"] if n in reason.lower()), None)
            if line is None:
                return {"refunded": False,
                        "message": "Which charge should I refund, and how much?"}
            amount = invoice["lines"][line]
        already = mem["refunds"].get(key, 0.0)
        if amount <= 0 or already + amount > invoice["total"]:
            return {"refunded": False, "message": f"I can't refund ${amount:.2f} on {key}; "
                                                  f"that's more than is left on the bill."}
        mem["refunds"][key] = already + amount
        return {"refunded": True, "invoice_id": key, "amount": amount,
                "message": f"Done: ${amount:.2f} is credited back to your account for {key}. "
                           "You'll see it on your next bill."}

    @tool
    def runLineDiagnostics(phone_number: str) -> dict:
        """Run a remote check on a phone line when calls drop, the internet is slow or
        keeps dropping, or there is no signal: signal, outages nearby and line status.

        Args:
            phone_number: The phone number of the affected line.
        """
        digits = phone_digits(phone_number)
        status = LINE_STATUS.get(digits)
        if status is None:
            return {"found": False, "message": f"I couldn't find the line {dashed(digits)}. "
                                              "Could you check the number?"}
        return {"found": True, "phone_number": dashed(digits), **status,
                "message": f"I ran a check on {dashed(digits)}. {status['finding']}"}

    triage = Agent(
        name="triage", instructions=TRIAGE_INSTRUCTIONS,
        handoff_description="The front desk. Use when the caller asks for another department "
                            "or someone else, or starts over with a new request.")
    specialists = [
        Agent(name="support", instructions=SUPPORT_INSTRUCTIONS, tools=[openTicket],
              handoff_description="Answers general questions and account problems such as "
                                  "logins, passwords and settings, and opens support tickets."),
        Agent(name="sales", instructions=SALES_INSTRUCTIONS, tools=[listPlans],
              handoff_description="Helps with pricing, plans, upgrades and buying new phones "
                                  "or lines."),
        Agent(name="billing", instructions=BILLING_INSTRUCTIONS,
              tools=[getInvoice, refundCharge],
              handoff_description="Deals with bills, invoices, payments, unexpected charges "
                                  "and refunds."),
        Agent(name="technical", instructions=TECHNICAL_INSTRUCTIONS,
              tools=[runLineDiagnostics],
              handoff_description="Fixes technical problems: no signal, dropped calls, slow or "
                                  "dropping internet, outages and error messages."),
    ]
    triage.handoffs = list(specialists)
    for agent in specialists:
        agent.handoffs = [triage]
    return Scenario(
        name="triage",
        title=f"Triage ({TELECOM_NAME} help line)",
        description=("A triage agent routes the caller to support, sales, billing or "
                     "technical; each specialist has its own tools and can hand back to "
                     "triage."),
        root=triage,
        sample_lines=[
            "My bill is wrong.",
            "Can you pull up invoice INV-1042?",
            "Please refund the roaming charge on invoice INV-1042, I never left the country.",
            "Thanks. Can you transfer me to another department?",
            "My internet keeps dropping.",
            "It's 415 555 0198.",
        ],
    )
