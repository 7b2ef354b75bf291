"""Agents the eval tests' suites name (``tests.evals.eval_agents:desk``)."""

import rtnb


@rtnb.tool
def get_weather(city: str) -> dict:
    """Get the current weather for a city."""
    return {"city": city, "temperature_c": 18, "conditions": "sunny"}


def _no_forbidden(text: str) -> rtnb.GuardrailResult:
    tripped = "forbidden" in text.lower()
    return rtnb.GuardrailResult("words", tripped, "OFF_BRAND" if tripped else "NONE",
                                "said a forbidden word" if tripped else "fine", text)


def desk() -> rtnb.Agent:
    """A front desk with a weather tool, a Billing handoff and a guardrail."""
    billing = rtnb.Agent("Billing", "Handle bills.", tools=[get_weather],
                         handoff_description="Bills, invoices and refunds.")
    return rtnb.Agent("Desk", "Transfer billing questions to Billing; use get_weather.",
                      tools=[get_weather], handoffs=[billing],
                      output_guardrails=[rtnb.output_guardrail(_no_forbidden, name="words")])


#: An Agent attribute (shared by every call), not a factory.
SHARED = rtnb.Agent("Shared", "Answer briefly.")
