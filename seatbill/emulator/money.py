"""Amounts of prices (through seatbill.pricing) and Stripe's per-line proration rounding."""

from __future__ import annotations

from seatbill.emulator.protocol import Obj
from seatbill.pricing import Tier, TiersMode, price_amount


def tiers_of(price: Obj) -> list[Tier]:
    return [
        Tier(up_to=t["up_to"], unit_amount=t["unit_amount"], flat_amount=t["flat_amount"])
        for t in price.get("_tiers", [])
    ]


def amount_for(price: Obj, quantity: int) -> int:
    """What one period of ``price`` costs for ``quantity`` units, in minor units."""
    if price["billing_scheme"] == "tiered":
        mode: TiersMode = "volume" if price.get("tiers_mode") == "volume" else "graduated"
        return price_amount(quantity, tiers=tiers_of(price), tiers_mode=mode)
    return price_amount(quantity, unit_amount=int(price["unit_amount"] or 0))


def prorate(amount: int, remaining: int, total: int) -> int:
    """``amount x remaining / total`` rounded to the nearest minor unit (halves away from zero)."""
    if total <= 0 or remaining <= 0:
        return 0
    sign = -1 if amount < 0 else 1
    return sign * ((2 * abs(amount) * remaining + total) // (2 * total))


def format_amount(amount: int, currency: str) -> str:
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency, currency.upper() + " ")
    return f"{symbol}{amount / 100:,.2f}"
