"""The agents of ``example.yaml`` (the suite in rtnb's issue 11): a front desk that
answers weather questions itself and hands billing questions to Billing."""

import rtnb


@rtnb.tool
def get_weather(city: str) -> dict:
    """Get the current weather for a city."""
    return {"city": city, "temperature_c": 18, "conditions": "sunny",
            "message": f"It's 18 degrees and sunny in {city}."}


@rtnb.tool
def get_invoice(invoice_id: str) -> dict:
    """Read an invoice by its id: the month, the total and each charge on it."""
    return {"invoice_id": invoice_id, "total": 63.40,
            "message": f"Invoice {invoice_id} comes to $63.40, with one duplicate charge."}


def triage() -> rtnb.Agent:
    """A fresh front desk for every call (the suite calls this)."""
    billing = rtnb.Agent(
        "Billing", "You handle bills, invoices, payments and refunds. Use get_invoice. "
        "Use get_weather for weather questions.",
        tools=[get_invoice, get_weather],
        handoff_description="Deals with bills, invoices, charges and refunds.")
    desk = rtnb.Agent(
        "Triage", "You are the front desk. Transfer billing questions to Billing. "
        "Use get_weather for weather questions.",
        tools=[get_weather], handoffs=[billing])
    return desk
