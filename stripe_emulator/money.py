"""Price amounts and proration, written from Stripe's documentation (not shared with any client).

- Per-unit prices: ``unit_amount x quantity``.
- Tiered prices (https://docs.stripe.com/subscriptions/pricing-models/tiered-pricing):
  ``volume`` bills the whole quantity at the unit amount of the tier the quantity falls in
  (plus that tier's flat amount); ``graduated`` bills each unit at the tier it falls in and
  adds the flat amount of every tier reached. ``up_to`` is inclusive; the last tier is ``inf``.
- Proration (https://docs.stripe.com/billing/subscriptions/prorations): per second of the
  remaining period, each line rounded to the minor unit on its own.
"""

from __future__ import annotations

from stripe_emulator.protocol import Obj


def check_tiers(tiers: list[Obj]) -> None:
    """Stripe's rules for ``tiers``: ascending ``up_to``, the last one (and only it) ``inf``."""
    if not tiers:
        raise ValueError("at least one tier is required")
    floor = 0
    for position, tier in enumerate(tiers, start=1):
        if tier["unit_amount"] < 0 or tier["flat_amount"] < 0:
            raise ValueError(f"tier {position} has a negative amount")
        is_last = position == len(tiers)
        if tier["up_to"] is None and not is_last:
            raise ValueError(f"tier {position}: only the last tier may be up_to=inf")
        if tier["up_to"] is not None:
            if is_last:
                raise ValueError("the last tier must have up_to=inf")
            if tier["up_to"] <= floor:
                raise ValueError(f"tier {position}: up_to must be greater than {floor}")
            floor = tier["up_to"]


def _volume(tiers: list[Obj], quantity: int) -> int:
    tier = next(t for t in tiers if t["up_to"] is None or quantity <= t["up_to"])
    return int(quantity * tier["unit_amount"] + tier["flat_amount"])


def _graduated(tiers: list[Obj], quantity: int) -> int:
    total, start = 0, 1  # first unit the current tier covers
    for tier in tiers:
        if start > quantity:
            break
        end = quantity if tier["up_to"] is None else min(quantity, tier["up_to"])
        total += (end - start + 1) * tier["unit_amount"] + tier["flat_amount"]
        start = end + 1
    return total


def amount_for(price: Obj, quantity: int) -> int:
    """What one period of ``price`` costs for ``quantity`` units, in minor units."""
    if quantity <= 0:
        return 0
    if price["billing_scheme"] == "tiered":
        tiers = price.get("_tiers", [])
        if price.get("tiers_mode") == "volume":
            return _volume(tiers, quantity)
        return _graduated(tiers, quantity)
    return int(price["unit_amount"] or 0) * quantity


def prorate(amount: int, remaining: int, total: int) -> int:
    """``amount x remaining / total`` rounded to the nearest minor unit (halves away from zero)."""
    if total <= 0 or remaining <= 0:
        return 0
    sign = -1 if amount < 0 else 1
    return sign * ((2 * abs(amount) * remaining + total) // (2 * total))


def format_amount(amount: int, currency: str) -> str:
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency, currency.upper() + " ")
    return f"{symbol}{amount / 100:,.2f}"
