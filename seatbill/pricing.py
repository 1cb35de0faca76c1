"""Stripe's price math, in integer minor units.

One place computes what a price charges for a quantity, the way Stripe documents it:
``per_unit`` (unit amount x quantity), ``tiered`` + ``graduated`` (each unit priced by the
tier it falls in, plus the flat amount of every tier reached) and ``tiered`` + ``volume``
(every unit priced by the tier the total quantity falls in, plus that tier's flat amount).
The catalog quotes with it and the offline emulator bills with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

TiersMode = Literal["graduated", "volume"]


@dataclass(frozen=True)
class Tier:
    """One tier: units up to ``up_to`` inclusive (``None`` means ``inf``)."""

    up_to: int | None
    unit_amount: int = 0
    flat_amount: int = 0


def validate_tiers(tiers: Sequence[Tier]) -> None:
    """Raise ValueError unless the tiers are ascending and end with an open (inf) tier."""
    if not tiers:
        raise ValueError("tiers must not be empty")
    previous = 0
    for index, tier in enumerate(tiers):
        if tier.unit_amount < 0 or tier.flat_amount < 0:
            raise ValueError(f"tier {index + 1}: amounts must not be negative")
        last = index == len(tiers) - 1
        if tier.up_to is None:
            if not last:
                raise ValueError(f"tier {index + 1}: only the last tier may be up_to = inf")
        else:
            if last:
                raise ValueError("the last tier must be up_to = inf")
            if tier.up_to <= previous:
                raise ValueError(f"tier {index + 1}: up_to must be greater than {previous}")
            previous = tier.up_to


def tiered_amount(tiers: Sequence[Tier], mode: TiersMode, quantity: int) -> int:
    """Amount in minor units for ``quantity`` units of a tiered price."""
    if quantity < 0:
        raise ValueError("quantity must not be negative")
    if quantity == 0:
        return 0
    if mode == "volume":
        for tier in tiers:
            if tier.up_to is None or quantity <= tier.up_to:
                return quantity * tier.unit_amount + tier.flat_amount
        raise ValueError("no tier covers the quantity")
    total = 0
    lower = 0  # units already priced by earlier tiers
    for tier in tiers:
        upper = quantity if tier.up_to is None else min(quantity, tier.up_to)
        units = upper - lower
        if units <= 0:
            break
        total += units * tier.unit_amount + tier.flat_amount
        lower = upper
        if lower >= quantity:
            break
    return total


def price_amount(
    quantity: int,
    *,
    unit_amount: int | None = None,
    tiers: Sequence[Tier] | None = None,
    tiers_mode: TiersMode | None = None,
) -> int:
    """Amount in minor units for ``quantity`` of a per-unit or tiered price."""
    if tiers:
        return tiered_amount(tiers, tiers_mode or "graduated", quantity)
    if unit_amount is None:
        raise ValueError("a per-unit price needs unit_amount")
    if quantity < 0:
        raise ValueError("quantity must not be negative")
    return unit_amount * quantity
