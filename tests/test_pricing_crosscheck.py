"""The service's price math and the emulator's are written apart; on any tiers they agree."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from seatbill.pricing import Tier, price_amount
from stripe_emulator.money import amount_for

amounts = st.integers(min_value=0, max_value=100_000)


@st.composite
def tier_lists(draw: st.DrawFn) -> list[tuple[int | None, int, int]]:
    bounds = sorted(set(draw(st.lists(st.integers(min_value=1, max_value=50), max_size=4))))
    return [(b, draw(amounts), draw(amounts)) for b in [*bounds, None]]


@given(
    tiers=tier_lists(), mode=st.sampled_from(["graduated", "volume"]), quantity=st.integers(1, 80)
)
def test_tiered_amounts_agree(
    tiers: list[tuple[int | None, int, int]], mode: str, quantity: int
) -> None:
    ours = price_amount(
        quantity,
        tiers=[Tier(up, unit, flat) for up, unit, flat in tiers],
        tiers_mode="volume" if mode == "volume" else "graduated",
    )
    price = {
        "billing_scheme": "tiered",
        "tiers_mode": mode,
        "_tiers": [
            {"up_to": up, "unit_amount": unit, "flat_amount": flat} for up, unit, flat in tiers
        ],
    }
    assert amount_for(price, quantity) == ours


@given(unit=amounts, quantity=st.integers(0, 1000))
def test_per_unit_amounts_agree(unit: int, quantity: int) -> None:
    price = {"billing_scheme": "per_unit", "unit_amount": unit}
    assert amount_for(price, quantity) == price_amount(quantity, unit_amount=unit)
