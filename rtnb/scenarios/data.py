"""Mock data for the scenarios: two fictional companies, their customers and their rules.

Brightwave Mobile is a made-up wireless carrier (chat supervisor and triage); Powderline
Boards is a made-up snowboard shop (customer service retail). Phone numbers use the
fictional 555-01xx range. Everything here is plain data, read-only at runtime: tools copy
what they change into per-session state.
"""

from __future__ import annotations

import re

# -- Brightwave Mobile (telecom) ----------------------------------------------------------------

TELECOM_NAME = "Brightwave Mobile"
TELECOM_COMPETITORS = ("Skyreach Wireless", "Corvex Mobile")

PLANS = {
    "Starter 5": {"price": 20, "data": "5 GB",
                  "extras": "unlimited talk and text in the US"},
    "Everyday 25": {"price": 40, "data": "25 GB",
                    "extras": "unlimited talk and text, plus calls to Canada and Mexico"},
    "Unlimited Max": {"price": 65, "data": "unlimited (50 GB at full speed)",
                      "extras": "5 roaming days per bill and a 15 GB hotspot allowance"},
}

#: topic → (keywords, policy text). Keywords are matched against word stems.
POLICIES: dict[str, tuple[tuple[str, ...], str]] = {
    "roaming": (
        ("roam", "abroad", "international", "travel", "overseas", "trip", "country", "mexico",
         "canada", "europe"),
        "Roaming in our 120-country Travel Zone costs $10 per day, charged only on days you "
        "use your phone abroad. Unlimited Max includes 5 roaming days per bill. Outside the "
        "Travel Zone, data costs $2 per megabyte, so we suggest turning data roaming off."),
    "fees": (
        ("fee", "late", "activation", "paper", "surcharge", "penalty", "restock"),
        "A late fee of $7 applies when a bill is more than 10 days overdue. Activation costs "
        "$15 in stores and nothing online. Paper bills cost $2 a month; e-bills are free."),
    "billing": (
        ("bill", "billing", "cycle", "due", "autopay", "payment", "pay", "invoice", "statement",
         "charge", "balance"),
        "Bills are issued on the 1st and due on the 21st of each month. Autopay takes $5 off "
        "every line. Charges for roaming or add-ons appear on the next bill."),
    "returns": (
        ("return", "refund", "exchange", "device", "phone", "accessory", "warranty", "defect",
         "broken"),
        "Phones and accessories can be returned within 14 days of purchase in their original "
        "packaging. Opened phones carry a $30 restocking fee. Defective devices are replaced "
        "free under the one-year warranty."),
    "plans": (
        ("plan", "plans", "price", "cost", "data", "unlimited", "starter", "everyday",
         "upgrade", "switch", "hotspot"),
        "We offer three plans: Starter 5 at $20 a month with 5 GB, Everyday 25 at $40 with "
        "25 GB, and Unlimited Max at $65 with unlimited data and 5 roaming days. You can "
        "change plans at any time with no fee."),
    "cancellation": (
        ("cancel", "cancellation", "contract", "leave", "terminate", "port", "transfer"),
        "There are no contracts: you can cancel or move your number at any time. Any "
        "remaining device instalments become due when the line closes."),
}

#: Accounts keyed by the ten digits of the phone number.
ACCOUNTS = {
    "2065550147": {
        "name": "Ada Okafor", "plan": "Everyday 25", "balance": 63.40, "due": "the 21st",
        "autopay": False, "city": "Seattle",
        "recent_charges": [
            {"item": "Everyday 25 plan", "amount": 40.00},
            {"item": "Travel Zone roaming, 2 days in Mexico", "amount": 20.00},
            {"item": "Taxes and fees", "amount": 3.40},
        ],
        "note": "The bill is higher than usual because of 2 roaming days in Mexico ($20).",
    },
    "4155550198": {
        "name": "Marco Lind", "plan": "Unlimited Max", "balance": 0.00, "due": "the 21st",
        "autopay": True, "city": "San Francisco",
        "recent_charges": [{"item": "Unlimited Max plan", "amount": 60.00}],
        "note": "Paid in full by autopay.",
    },
    "3125550123": {
        "name": "Priya Natarajan", "plan": "Starter 5", "balance": 27.00, "due": "last month",
        "autopay": False, "city": "Chicago",
        "recent_charges": [{"item": "Starter 5 plan", "amount": 20.00},
                           {"item": "Late fee", "amount": 7.00}],
        "note": "The last bill is overdue, so a $7 late fee was added.",
    },
}

#: Stores keyed by zip code.
STORES = {
    "98101": {"name": "Brightwave Seattle Harborfront", "address": "1200 Harbor Street, Seattle",
              "hours": "9am to 8pm daily"},
    "94107": {"name": "Brightwave Mission Bay", "address": "300 Channel Road, San Francisco",
              "hours": "10am to 7pm, closed Sundays"},
    "60601": {"name": "Brightwave Chicago Loop", "address": "88 Lake Row, Chicago",
              "hours": "9am to 9pm daily"},
    "10001": {"name": "Brightwave Chelsea", "address": "410 West Arbor Lane, New York",
              "hours": "8am to 10pm daily"},
}

#: Invoices for the triage billing specialist, keyed by id.
INVOICES = {
    "INV-1042": {"phone": "2065550147", "month": "this month", "total": 63.40,
                 "lines": {"plan": 40.00, "roaming": 20.00, "taxes": 3.40}},
    "INV-0977": {"phone": "2065550147", "month": "last month", "total": 40.00,
                 "lines": {"plan": 40.00}},
    "INV-1051": {"phone": "3125550123", "month": "this month", "total": 27.00,
                 "lines": {"plan": 20.00, "late fee": 7.00}},
}

#: Line diagnostics for the triage technical specialist, keyed by phone digits.
LINE_STATUS = {
    "2065550147": {"signal": "good", "outage": None, "last_reset": "never",
                   "finding": "The line looks healthy. A network reset usually fixes drops."},
    "4155550198": {"signal": "weak", "outage": "tower maintenance in Mission Bay until 6pm",
                   "last_reset": "2 days ago",
                   "finding": "There's planned tower maintenance near you until 6pm today."},
    "3125550123": {"signal": "good", "outage": None, "last_reset": "today",
                   "finding": "The line is suspended for an overdue balance of $27."},
}


def phone_digits(value: str) -> str:
    """The ten national digits of a US phone number ("(206) 555-0147" → "2065550147")."""
    digits = re.sub(r"\D", "", value or "")
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


def dashed(digits: str) -> str:
    """``2065550147`` → ``206-555-0147``."""
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}" if len(digits) == 10 else digits


# -- Powderline Boards (snowboard shop) ----------------------------------------------------------

SHOP_NAME = "Powderline Boards"
SHOP_COMPETITORS = ("Ridgeback Boards", "FrostPeak Outfitters")
CATEGORIES = ("snowboard", "apparel", "boots", "bindings", "any")

#: Catalogue keyed by item id; ``sale_price`` is set for items on sale.
CATALOGUE = {
    "SB-154": {"name": "Drift 154 all-mountain snowboard", "category": "snowboard",
               "price": 449.0, "sale_price": 379.0},
    "SB-158": {"name": "Apex 158 freeride snowboard", "category": "snowboard",
               "price": 529.0, "sale_price": None},
    "SB-142": {"name": "Sprout 142 youth snowboard", "category": "snowboard",
               "price": 259.0, "sale_price": 199.0},
    "BT-210": {"name": "Trailhead dual-dial boots", "category": "boots",
               "price": 289.0, "sale_price": 229.0},
    "BD-330": {"name": "Anchor Pro bindings", "category": "bindings",
               "price": 249.0, "sale_price": 199.0},
    "AP-410": {"name": "Stormshell insulated jacket", "category": "apparel",
               "price": 219.0, "sale_price": 159.0},
    "AP-412": {"name": "Stormshell bib pants", "category": "apparel",
               "price": 179.0, "sale_price": None},
}

#: Customers keyed by phone digits. ``days_since_delivery`` is None while in transit.
CUSTOMERS = {
    "2065550183": {
        "name": "Jordan Reyes", "date_of_birth": "1990-03-03", "last_4_digits": "4321",
        "region": "United States",
        "orders": [
            {"order_id": "ORD-5021", "item_id": "SB-154", "status": "delivered",
             "days_since_delivery": 12, "condition_note": "ridden twice, edge chipped on day one",
             "final_sale": False},
            {"order_id": "ORD-5022", "item_id": "AP-410", "status": "delivered",
             "days_since_delivery": 48, "condition_note": "tags still on", "final_sale": False},
        ],
    },
    "3035550182": {
        "name": "Sam Whitaker", "date_of_birth": "1985-11-20", "last_4_digits": "8842",
        "region": "Canada",
        "orders": [
            {"order_id": "ORD-5107", "item_id": "BD-330", "status": "in transit",
             "days_since_delivery": None, "condition_note": "", "final_sale": False},
            {"order_id": "ORD-4980", "item_id": "BT-210", "status": "delivered",
             "days_since_delivery": 75, "condition_note": "worn several times",
             "final_sale": False},
            {"order_id": "ORD-4975", "item_id": "SB-142", "status": "delivered",
             "days_since_delivery": 9, "condition_note": "unused", "final_sale": True},
        ],
    },
}

#: Return window in days per category.
RETURN_WINDOWS = {"snowboard": 30, "boots": 30, "bindings": 30, "apparel": 60}
RETURN_RULES = (
    "Items can be returned within the window for their category if unused or faulty. "
    "Faulty items (cracked cores, delaminated edges, broken buckles) are eligible within the "
    "window even after use. Items bought as final sale cannot be returned. In-transit orders "
    "can be refused at delivery instead.")
REGION_RULES = {
    "United States": "Return shipping is free with a prepaid label.",
    "Canada": "Returns ship free, but duties already paid are refunded by customs, not by us.",
    "other": "International returns are accepted, but the customer pays return shipping.",
}
