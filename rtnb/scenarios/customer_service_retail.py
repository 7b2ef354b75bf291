"""Customer service for a snowboard shop: four agents with fully connected handoffs.

``authentication`` (the root) verifies the caller and updates address and offer choices;
``returns`` looks up orders and policies and checks return eligibility with a reasoning
model; ``sales`` sells from the catalogue with a per-session cart; ``simulatedHuman``
stands in for a human team lead. Powderline Boards is fictional (see :mod:`.data`).
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any, Literal

from ..agents import Agent, FunctionTool, ToolContext, tool
from ..engine.brain.extract import find_phone, stem, words_of
from . import Scenario, company_policy_guardrail
from .data import (
    CATALOGUE,
    CUSTOMERS,
    REGION_RULES,
    RETURN_RULES,
    RETURN_WINDOWS,
    SHOP_COMPETITORS,
    SHOP_NAME,
    dashed,
    phone_digits,
)

PHONE_PATTERN = r"^\(\d{3}\) \d{3}-\d{4}$"
CURRENT_OFFER = {"offer_id": "WAX-25", "text": "a free season wax and edge tune with any board "
                                              "bought this month"}
_CATEGORY_WORDS = {
    "snowboard": ("snowboard", "board", "deck"),
    "boots": ("boot", "boots"),
    "bindings": ("binding", "bindings", "strap"),
    "apparel": ("apparel", "jacket", "pants", "pant", "bib", "clothes", "clothing", "coat",
                "gloves", "hoodie"),
}
_REGION_ALIASES = {"us": "United States", "usa": "United States", "america": "United States",
                   "united states of america": "United States", "ca": "Canada"}
_FAULTY = re.compile(r"\b(?:chip\w*|crack\w*|broke\w*|defect\w*|damag\w*|delaminat\w*|faulty|"
                     r"split|snapped|tear|torn|ripped|leak\w*)\b", re.I)
_UNUSED = re.compile(r"\b(?:unused|never used|tags? (?:still )?on|unopened|new in box)\b", re.I)

AUTHENTICATION_INSTRUCTIONS = f"""\
You are the front desk of {SHOP_NAME}, a snowboard shop. You are upbeat and relaxed, like
someone who spends every weekend on the mountain, but you keep answers short.

# Greeting
Greet the user with "Hi, you've reached {SHOP_NAME}! What can I help you with today?"

# Verifying the caller
Before you discuss an order, a return or account changes, verify the caller. Collect, one
at a time, and read each back to confirm:
1. their phone number,
2. their date of birth,
3. the last four digits of the card or social security number on file.
Then call authenticate_user_information with exactly those details.

# After verification
- If the caller gave a new address, save it with save_or_update_address.
- Mention the current offer ({CURRENT_OFFER["text"]}) once, and record their answer with
  update_user_offer_response.
- Then transfer to the agent that fits: returns for returns and order problems, sales for
  new gear and deals, simulatedHuman when they ask for a person.

Never disparage other shops such as {", ".join(SHOP_COMPETITORS)}.
"""

RETURNS_INSTRUCTIONS = f"""\
You handle returns and order questions for {SHOP_NAME}. Be calm and empathetic; people who
call about returns are often frustrated.

Greet the user with "Hi, you're through to returns. Which order can I help you with?"

# How to help
1. Find the order: call lookupOrders with the caller's phone number and confirm which item
   they mean.
2. Explain the rules for that item with retrievePolicy when asked or when unsure.
3. Before promising anything, call checkEligibilityAndPossiblyInitiateReturn with what
   the caller wants and the relevant details, saying "Let me check with our specialist."
   first. Tell the caller the result in plain words.
- For new purchases transfer to sales; to re-verify transfer to authentication; if the
  caller is upset or asks for a person, transfer to simulatedHuman.

Never disparage other shops such as {", ".join(SHOP_COMPETITORS)}.
"""

SALES_INSTRUCTIONS = f"""\
You sell gear for {SHOP_NAME}: snowboards, boots, bindings and apparel. Be enthusiastic but
honest, and never pushy.

Greet the user with "Hey, sales here! Are you after a new board or some other gear?"

# How to help
- Ask what they ride and which category they want, then use lookupNewSales to share deals.
- Add items they choose with addToCart, reading back the item and price.
- When they are ready, confirm the items and their phone number, then call checkout.
- For returns or order problems transfer to returns; for account changes transfer to
  authentication; if they ask for a person, transfer to simulatedHuman.

Never disparage other shops such as {", ".join(SHOP_COMPETITORS)}.
"""

HUMAN_INSTRUCTIONS = f"""\
You are Casey, a team lead at {SHOP_NAME}, standing in for a human colleague. Speak plainly,
own the problem, and apologise once if something went wrong.

Greet the user with "Hi, this is Casey, a team lead here. How can I make this right?"

You can't run tools yourself: transfer back to returns, sales or authentication when the
caller needs something done.
"""

ELIGIBILITY_INSTRUCTIONS = f"""\
You are the returns specialist at {SHOP_NAME}. Decide whether the customer's item may be
returned or exchanged under the policy below, using the conversation and the order data.

Policy: {RETURN_RULES}
Return windows (days since delivery): {json.dumps(RETURN_WINDOWS)}.

Answer with only a JSON object and nothing else:
{{"eligible": true | false | "need_more_information", "message": "<one or two sentences for
the customer>"}}
Use "need_more_information" if you cannot tell which order or item is meant, or what
condition it is in.
"""


def _with_pattern(fn: FunctionTool, param: str, pattern: str) -> FunctionTool:
    """Add a ``pattern`` to one parameter's wire schema (the function normalises anyway)."""
    fn.parameters["properties"][param]["pattern"] = pattern
    return fn


def _category(text: str) -> str | None:
    """``"my new board"`` → ``"snowboard"``; None if no category is mentioned."""
    toks = set(words_of(text)) | {stem(w) for w in words_of(text)}
    for category, words in _CATEGORY_WORDS.items():
        if toks & set(words):
            return category
    return None


def _order_view(order: dict[str, Any], today: date) -> dict[str, Any]:
    item = CATALOGUE[order["item_id"]]
    days = order["days_since_delivery"]
    return {"order_id": order["order_id"], "item_id": order["item_id"], "item": item["name"],
            "category": item["category"], "price": item["price"], "status": order["status"],
            "delivered_on": None if days is None else (today - timedelta(days=days)).isoformat(),
            "days_since_delivery": days, "final_sale": order["final_sale"],
            "condition": order["condition_note"]}


def _spoken_order(view: dict[str, Any]) -> str:
    when = (f"delivered {view['days_since_delivery']} days ago"
            if view["days_since_delivery"] is not None else view["status"])
    return f"{view['order_id']}, the {view['item']}, {when}"


def parse_verdict(text: str) -> dict[str, Any] | None:
    """A verdict from the reasoning model's text, or None when it isn't clear."""
    m = re.search(r"\{.*\}", text or "", re.S)
    if m:
        try:
            obj = json.loads(m.group(0))
        except ValueError:
            obj = None
        if isinstance(obj, dict) and obj.get("eligible") in (True, False,
                                                              "need_more_information"):
            message = str(obj.get("message") or obj.get("rationale") or "").strip()
            return {"eligible": obj["eligible"], "message": message}
    low = (text or "").lower()
    if re.search(r"need(?:s)?[ _]more[ _]info", low):
        return {"eligible": "need_more_information", "message": text.strip()}
    if re.search(r"\b(?:not eligible|ineligible|isn't eligible|can ?not be returned|"
                 r"can't be returned)\b", low):
        return {"eligible": False, "message": text.strip()}
    if re.search(r"\b(?:is eligible|are eligible|eligible for (?:a )?(?:return|refund|"
                 r"exchange))\b", low):
        return {"eligible": True, "message": text.strip()}
    return None


def _mention_score(order: dict[str, Any], text: str) -> int:
    """How clearly ``text`` points at ``order``: 3 by id, 2 by item name, 1 by category."""
    low = text.lower()
    item = CATALOGUE[order["item_id"]]
    if re.search(rf"\b{order['order_id'][-4:]}\b", low) or order["item_id"].lower() in low:
        return 3
    generic = {w for words in _CATEGORY_WORDS.values() for w in words} | {"all", "dual"}
    name_words = {w for w in words_of(item["name"]) if len(w) > 3 and w not in generic}
    if name_words & set(words_of(low)):
        return 2
    return 1 if _category(text) == item["category"] else 0


def decide_eligibility(orders: list[dict[str, Any]], texts: list[str]) -> tuple[
        bool | str, str, dict[str, Any] | None]:
    """The offline fallback: ``(eligible, reason, order)`` from mock orders and policy.

    ``texts`` are what was said, most specific first; the first one that points at one order
    best (order number or item id, then a word of the item's name, then its category)
    picks it.
    """
    order = None
    for text in texts:
        scores = [(_mention_score(o, text), i) for i, o in enumerate(orders)]
        best = max((s for s, _ in scores), default=0)
        top = [orders[i] for s, i in scores if s == best]
        if best and len(top) == 1:
            order = top[0]
            break
        if best and text is texts[0]:
            break
    if order is None:
        return ("need_more_information", "Which order or item is this about? An order number "
                "like ORD-5021 or the item's name will do.", None)
    item = CATALOGUE[order["item_id"]]
    name = item["name"]
    days = order["days_since_delivery"]
    window = RETURN_WINDOWS[item["category"]]
    said = " ".join(texts)
    if days is None:
        return (False, f"The {name} hasn't been delivered yet, so there is nothing to return; "
                       "you can refuse the parcel and the refund is automatic.", order)
    if order["final_sale"]:
        return (False, f"The {name} was bought as final sale, so it can't be returned.", order)
    if days > window:
        return (False, f"The {name} arrived {days} days ago, past the {window}-day return "
                       f"window for {item['category']}.", order)
    if _FAULTY.search(said) or _FAULTY.search(order["condition_note"]):
        return (True, f"The {name} arrived {days} days ago and sounds faulty, so it's "
                      "covered even though it was used.", order)
    if _UNUSED.search(said) or _UNUSED.search(order["condition_note"]):
        return (True, f"The {name} is unused and within the {window}-day window.", order)
    return (False, f"The {name} has been used and nothing sounds faulty; used gear can only "
                   "be returned when it's defective.", order)


def build() -> Scenario:
    """The snowboard-shop scenario, with fresh per-session state (cart, verification)."""
    mem: dict[str, Any] = {"verified": None, "addresses": {}, "offers": {}, "cart": [],
                             "returns": {}, "orders_placed": 0}
    guardrail = company_policy_guardrail(SHOP_COMPETITORS)

    def customer_for(phone: str | None) -> tuple[str, dict[str, Any] | None]:
        digits = phone_digits(phone or "")
        return digits, CUSTOMERS.get(digits)

    # -- authentication -------------------------------------------------------------------

    @tool
    def authenticate_user_information(
            phone_number: str, date_of_birth: str, last_4_digits: str,
            last_4_digits_type: Literal["credit_card", "ssn"] = "credit_card") -> dict:
        """Verify the caller's identity with their phone number, date of birth and the last
        four digits of their card or social security number.

        Args:
            phone_number: The caller's phone number, formatted as (xxx) xxx-xxxx.
            date_of_birth: The caller's date of birth, formatted as YYYY-MM-DD.
            last_4_digits: The last four digits of the credit card on file.
            last_4_digits_type: Whether the digits are from a credit card or a social security
                number.
        """
        digits, customer = customer_for(phone_number)
        ok = (customer is not None and date_of_birth.strip() == customer["date_of_birth"]
              and re.sub(r"\D", "", last_4_digits) == customer["last_4_digits"])
        if not ok:
            return {"verified": False,
                    "message": "Those details don't match our records. Could you repeat your "
                               "phone number, date of birth and last four digits?"}
        mem["verified"] = digits
        first = customer["name"].split()[0]
        return {"verified": True, "customer": customer["name"],
                "message": f"Thanks, {first}, you're verified. By the way, we have "
                           f"{CURRENT_OFFER['text']}. Would you like it?"}

    @tool
    def save_or_update_address(phone_number: str, street: str, city: str, state: str,
                               postal_code: str) -> dict:
        """Save or update the caller's shipping address on file.

        Args:
            phone_number: The caller's phone number.
            street: Street address, e.g. 12 Pine Street.
            city: City.
            state: State, province or region.
            postal_code: Zip or postal code.
        """
        digits = phone_digits(phone_number)
        address = f"{street}, {city}, {state} {postal_code}"
        mem["addresses"][digits] = address
        return {"saved": True, "address": address,
                "message": f"Got it, I've saved {address} as your shipping address."}

    @tool
    def update_user_offer_response(
            phone_number: str, user_response: Literal["ACCEPT", "DECLINE", "REMIND_ME_LATER"],
            offer_id: str = CURRENT_OFFER["offer_id"]) -> dict:
        """Record whether the caller accepts, declines or wants a reminder about an offer.

        Args:
            phone_number: The caller's phone number.
            user_response: The caller's answer to the offer.
            offer_id: The offer's id.
        """
        mem["offers"][(phone_digits(phone_number), offer_id)] = user_response
        said = {"ACCEPT": "You're all set, the offer is added to your account.",
                "DECLINE": "No problem, I won't add the offer.",
                "REMIND_ME_LATER": "Sure, we'll remind you about it later."}[user_response]
        return {"recorded": True, "offer_id": offer_id, "response": user_response,
                "message": said}

    _with_pattern(authenticate_user_information, "phone_number", PHONE_PATTERN)

    # -- returns ------------------------------------------------------------------------

    @tool
    def lookupOrders(phoneNumber: str) -> dict:
        """Find the caller's orders by phone number: items bought, shipping status and
        delivery dates.

        Args:
            phoneNumber: The caller's phone number.
        """
        digits, customer = customer_for(phoneNumber)
        if customer is None:
            return {"orders": [], "message": f"I couldn't find orders for {dashed(digits)}. "
                                             "Could you check the number?"}
        today = date.today()
        views = [_order_view(o, today) for o in customer["orders"]]
        spoken = "; ".join(_spoken_order(v) for v in views)
        return {"customer": customer["name"], "orders": views,
                "message": f"I found {len(views)} orders: {spoken}. Which one is it about?"}

    @tool
    def retrievePolicy(itemCategory: str, region: str = "United States") -> dict:
        """Read the store's written return policy for a category of gear in a region: how
        long the return window is, conditions and return shipping.

        Args:
            itemCategory: The kind of gear, e.g. snowboard, boots, bindings or apparel.
            region: Where the caller lives, e.g. United States or Canada.
        """
        category = _category(itemCategory) or itemCategory.lower()
        region = "United States" if re.search(r"\d", region) else region
        window = RETURN_WINDOWS.get(category)
        where = _REGION_ALIASES.get(region.strip().lower(), region.strip().title())
        shipping = REGION_RULES.get(where, REGION_RULES["other"])
        head = (f"{category.capitalize()} can be returned within {window} days of delivery "
                "if unused or faulty." if window else RETURN_RULES)
        return {"category": category, "region": region, "window_days": window,
                "rules": RETURN_RULES, "message": f"{head} Final-sale items can't be "
                                                  f"returned. {shipping}"}

    @tool(timeout=60)
    async def checkEligibilityAndPossiblyInitiateReturn(
            userDesiredAction: str, question: str, ctx: ToolContext) -> dict:
        """Ask the returns specialist whether the caller may return, refund or exchange an item
        from one of their orders (a snowboard, boots, bindings or apparel; damaged, chipped,
        broken or unused), and start the return if so. Use before promising a return.

        A reasoning model decides from the last 10 messages. When its answer isn't a clear
        eligible/not eligible (always so offline, where the model is the rule brain), the
        verdict comes from the mock orders and policy instead.

        Args:
            userDesiredAction: What the caller wants, e.g. return, exchange or refund.
            question: The details that matter: which item, its condition and what happened.
        """
        history = [m for m in (ctx.history() if ctx else [])
                   if m.get("role") in ("user", "assistant") and m.get("content")][-10:]
        texts = [f"{userDesiredAction}. {question}"] + [m["content"] for m in reversed(history)]
        phone = mem["verified"] or next(
            (p for p in map(find_phone, texts) if p and phone_digits(p) in CUSTOMERS), None)
        customer = CUSTOMERS.get(phone_digits(phone or ""))
        orders = customer["orders"] if customer else [
            o for c in CUSTOMERS.values() for o in c["orders"]]
        verdict, source = None, "rules"
        session = ctx.session if ctx else None
        if session is not None and getattr(session, "http", None) is not None:
            model = getattr(session, "reasoning_model", None) or session.text_model
            today = date.today()
            data = json.dumps([_order_view(o, today) for o in orders])
            try:
                response = await session.http.responses.create(
                    model=model, instructions=f"{ELIGIBILITY_INSTRUCTIONS}\nOrders: {data}",
                    input=[*({"role": m["role"], "content": m["content"]} for m in history),
                           {"role": "user", "content": texts[0]}])
                verdict = parse_verdict(response.output_text or "")
                source = "model" if verdict else "rules"
            except Exception as exc:  # offline fallback below
                source = f"rules (model failed: {type(exc).__name__})"
        eligible, reason, order = decide_eligibility(orders, texts)
        if verdict is not None:
            eligible, reason = verdict["eligible"], verdict["message"] or reason
        result: dict[str, Any] = {"eligible": eligible, "source": source,
                                  "order_id": order["order_id"] if order else None}
        wants = re.search(r"\b(?:return|refund|exchange|send (?:it )?back)\b", texts[0], re.I)
        if eligible is True and order is not None and wants:
            rma = f"RMA-{order['order_id'][-4:]}"
            mem["returns"][rma] = order["order_id"]
            result["return_id"] = rma
            reason += (f" I've started return {rma}; a prepaid label is on its way by text, "
                       "and the refund follows once it arrives.")
        elif eligible is True:
            reason += " Shall I start the return?"
        result["message"] = reason
        return result

    # -- sales ----------------------------------------------------------------------------

    @tool
    def lookupNewSales(category: Literal["snowboard", "apparel", "boots", "bindings",
                                         "any"] = "any") -> dict:
        """Check current promotions, discounts and deals on gear in a category.

        Args:
            category: The product category to check.
        """
        items = [{"item_id": k, **v} for k, v in CATALOGUE.items() if v["sale_price"]
                 and category in ("any", v["category"])]
        if not items:
            return {"items": [], "message": f"Nothing in {category} is on sale right now."}
        spoken = "; ".join(f"{i['name']} ({i['item_id']}) for ${i['sale_price']:.0f}, down "
                           f"from ${i['price']:.0f}" for i in items[:3])
        return {"items": items, "message": f"On sale right now: {spoken}."}

    @tool
    def addToCart(item_id: str) -> dict:
        """Put an item in the caller's shopping cart.

        Args:
            item_id: The item's id, e.g. SB-154.
        """
        key = item_id.strip().upper().replace(" ", "")
        if key not in CATALOGUE:
            return {"added": False, "cart": list(mem["cart"]),
                    "message": f"I can't find an item {item_id}. Item ids look like SB-154."}
        mem["cart"].append(key)
        item = CATALOGUE[key]
        price = item["sale_price"] or item["price"]
        return {"added": True, "cart": list(mem["cart"]),
                "message": f"Added the {item['name']} at ${price:.0f}. You have "
                           f"{len(mem['cart'])} item{'s' * (len(mem['cart']) != 1)} in "
                           "your cart."}

    @tool
    def checkout(item_ids: list[str], phone_number: str) -> dict:
        """Check out the selected items for the caller and place the order.

        Args:
            item_ids: Ids of the items to buy, e.g. SB-154.
            phone_number: The caller's phone number.
        """
        keys = [i.strip().upper().replace(" ", "") for i in item_ids]
        unknown = [k for k in keys if k not in CATALOGUE]
        if not keys or unknown:
            return {"success": False, "message": "I couldn't check out: "
                    + (f"unknown items {', '.join(unknown)}." if unknown else "no items.")}
        total = sum(CATALOGUE[k]["sale_price"] or CATALOGUE[k]["price"] for k in keys)
        mem["orders_placed"] += 1
        order_id = f"ORD-{6000 + mem['orders_placed']}"
        mem["cart"] = [k for k in mem["cart"] if k not in keys]
        return {"success": True, "order_id": order_id, "total": total,
                "phone_number": dashed(phone_digits(phone_number)),
                "message": f"Your order {order_id} is placed: {len(keys)} item"
                           f"{'s' * (len(keys) != 1)} for ${total:.2f}. We'll text "
                           "tracking details to your phone."}

    # -- agents ---------------------------------------------------------------------------

    authentication = Agent(
        name="authentication", instructions=AUTHENTICATION_INSTRUCTIONS,
        tools=[authenticate_user_information, save_or_update_address,
               update_user_offer_response],
        handoff_description="Verifies the caller's identity and updates their address or "
                            "account details. Use to sign in or change account information.",
        output_guardrails=[guardrail])
    returns = Agent(
        name="returns", instructions=RETURNS_INSTRUCTIONS,
        tools=[lookupOrders, retrievePolicy, checkEligibilityAndPossiblyInitiateReturn],
        handoff_description="Handles returns, exchanges and refunds, damaged, broken or faulty "
                            "items, and the status of orders already bought.",
        output_guardrails=[guardrail])
    sales = Agent(
        name="sales", instructions=SALES_INSTRUCTIONS,
        tools=[lookupNewSales, addToCart, checkout],
        handoff_description="Helps buy new gear: current deals and promotions, product "
                            "questions, the shopping cart and checkout.",
        output_guardrails=[guardrail])
    human = Agent(
        name="simulatedHuman", instructions=HUMAN_INSTRUCTIONS,
        handoff_description="A human team lead or manager for escalations and complaints, "
                            "or when the caller asks for a real person.",
        output_guardrails=[guardrail])
    agents = [authentication, returns, sales, human]
    for agent in agents:
        agent.handoffs = [a for a in agents if a is not agent]

    return Scenario(
        name="customer_service_retail",
        title=f"Customer service ({SHOP_NAME})",
        description=("Authentication verifies the caller, then hands off to returns, sales "
                     "or a simulated human; every agent can hand off to every other. Returns "
                     "checks eligibility with a reasoning model."),
        root=authentication,
        sample_lines=[
            "My phone number is 206 555 0183, I was born March 3rd 1990, and the last four "
            "digits of my card are 4321.",
            "Yes please, I'd like the offer.",
            "I want to return my snowboard.",
            "Can you look up my orders?",
            "I'd like to return the snowboard from order ORD-5021, the edge chipped on the "
            "first day.",
            "Thanks. I'd also like to buy some new gear.",
            "What snowboards are on sale?",
            "Add SB-154 to my cart.",
            "I'm ready to check out.",
            "Can I talk to a real person?",
        ],
    )
