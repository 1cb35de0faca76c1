"""Make Stripe's products and prices match ``plans.toml``.

One product per plan and role (``seatbill_<plan>_base``, ``seatbill_<plan>_seat``: Stripe
accepts our own product ids, so finding one needs no search), and one active price per
catalog ``lookup_key``. Stripe prices are immutable in their amounts: when the catalog's
amount, tiers, currency or interval differ from the price holding the lookup key, a new price
is created with ``transfer_lookup_key`` and the old one keeps billing existing subscriptions
until they switch. Running it twice changes nothing the second time.

Every price it creates carries metadata ``seatbill_plan``, ``seatbill_role`` and
``seatbill_interval``: once the lookup key moved to a new price, that metadata is what still
ties the old price (and the subscriptions on it) to its plan (``catalog.match_stripe_price``).
A price that holds a catalog lookup key without that metadata (made in the Dashboard, or by an
older Seatbill) gets it added with a price update, before it could ever be superseded.

Prices the catalog names by id (``price = "price_..."``) are only checked, never created.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import stripe
from stripe.params import PriceCreateParams

from seatbill.catalog import Catalog, PriceMatch, PriceRef
from seatbill.services.stripe_gateway import GatewayError, StripeGateway, intent_key


@dataclass(frozen=True)
class SyncAction:
    """One line of what the sync (or `seatbill stripe setup`) did, e.g.
    ``price seatbill_pro_seat_month: created price_1``."""

    kind: str  # product | price
    name: str
    outcome: str  # created | updated | replaced | unchanged | mismatch | missing
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.name}: {self.outcome}" + (
            f" {self.detail}" if self.detail else ""
        )

    @property
    def changed(self) -> bool:
        return self.outcome in ("created", "updated", "replaced")


def product_id(plan_key: str, role: str) -> str:
    return f"seatbill_{plan_key}_{role}"


def _product_name(match: PriceMatch) -> str:
    return match.plan.name if match.role == "base" else f"{match.plan.name} seat"


def _tiers_of(price: stripe.Price) -> list[tuple[int | None, int, int]]:
    return [
        (tier.up_to, tier.unit_amount or 0, tier.flat_amount or 0) for tier in price.tiers or []
    ]


def differences(ref: PriceRef, interval: str, price: stripe.Price) -> list[str]:
    """What in ``price`` disagrees with the catalog (empty: it bills as the catalog says)."""
    found: list[str] = []
    if price.currency != ref.currency:
        found.append(f"currency {price.currency} != {ref.currency}")
    recurring = price.recurring
    if recurring is None or recurring.interval != interval or recurring.interval_count != 1:
        found.append(f"interval is not every {interval}")
    if ref.is_tiered:
        wanted = [(t.up_to, t.unit_amount, t.flat_amount) for t in ref.tiers]
        if price.billing_scheme != "tiered" or price.tiers_mode != ref.tiers_mode:
            found.append(f"not {ref.tiers_mode} tiers")
        elif _tiers_of(price) != wanted:
            found.append("tiers differ")
    elif price.billing_scheme != "per_unit" or price.unit_amount != ref.unit_amount:
        found.append(f"unit_amount {price.unit_amount} != {ref.unit_amount}")
    return found


def _price_params(ref: PriceRef, match: PriceMatch, product: str) -> PriceCreateParams:
    params: PriceCreateParams = {
        "product": product,
        "currency": ref.currency,
        "recurring": {"interval": match.interval.value},
        "metadata": {
            **match.metadata,
            # Older name of seatbill_role, still read by the emulator's hosted portal page.
            "role": match.role,
        },
        "nickname": f"{match.plan.name} {match.role} ({match.interval.value}ly)",
    }
    if ref.is_tiered:
        params["billing_scheme"] = "tiered"
        params["tiers_mode"] = ref.tiers_mode or "graduated"
        params["tiers"] = [
            {
                "up_to": "inf" if tier.up_to is None else tier.up_to,
                "unit_amount": tier.unit_amount,
                "flat_amount": tier.flat_amount,
            }
            for tier in ref.tiers
        ]
    else:
        params["unit_amount"] = ref.unit_amount or 0
    if ref.lookup_key:
        params["lookup_key"] = ref.lookup_key
    return params


def _spec_fingerprint(ref: PriceRef, interval: str) -> str:
    tiers = ",".join(f"{t.up_to}/{t.unit_amount}/{t.flat_amount}" for t in ref.tiers)
    return f"{ref.currency}|{interval}|{ref.unit_amount}|{ref.tiers_mode}|{tiers}"


async def _sync_products(gateway: StripeGateway, matches: Sequence[PriceMatch]) -> list[SyncAction]:
    actions: list[SyncAction] = []
    seen: set[str] = set()
    for match in matches:
        ident = product_id(match.plan.key, match.role)
        if ident in seen:
            continue
        seen.add(ident)
        name = _product_name(match)
        existing = await gateway.retrieve_product(ident)
        if existing is None:
            await gateway.create_product(
                {"id": ident, "name": name, "metadata": {"seatbill_plan": match.plan.key}}
            )
            actions.append(SyncAction("product", ident, "created", repr(name)))
        elif existing.name != name or not existing.active:
            await gateway.update_product(ident, {"name": name, "active": True})
            actions.append(SyncAction("product", ident, "updated", repr(name)))
        else:
            actions.append(SyncAction("product", ident, "unchanged"))
    return actions


async def sync_catalog(gateway: StripeGateway, catalog: Catalog) -> list[SyncAction]:
    """Create or update Stripe's products and prices from the catalog; returns what it did."""
    refs = list(catalog.price_refs())
    by_lookup = [(match, ref) for match, ref in refs if ref.lookup_key]
    actions = await _sync_products(gateway, [match for match, _ in by_lookup])
    current = await gateway.find_prices([str(ref.lookup_key) for _, ref in by_lookup])
    for match, ref in refs:
        interval = match.interval.value
        if ref.lookup_key is None:
            actions.append(await _check_price_id(gateway, ref, interval))
            continue
        existing = current.get(ref.lookup_key)
        tagged = None
        if existing is not None:
            # Tag it first: once replaced below, only its metadata still says what it bills.
            tagged = await _tag_price(gateway, existing, match)
            if tagged is not None:
                actions.append(tagged)
        if existing is not None and not differences(ref, interval, existing):
            if tagged is None:
                actions.append(SyncAction("price", ref.lookup_key, "unchanged", existing.id))
            continue
        params = _price_params(ref, match, product_id(match.plan.key, match.role))
        if existing is not None:
            params["transfer_lookup_key"] = True
        key = intent_key(
            "price",
            ref.lookup_key,
            _spec_fingerprint(ref, interval),
            existing.id if existing else "new",
        )
        created = await gateway.create_price(params, idempotency_key=key)
        if existing is None:
            actions.append(SyncAction("price", ref.lookup_key, "created", created.id))
        else:
            why = "; ".join(differences(ref, interval, existing))
            actions.append(
                SyncAction(
                    "price", ref.lookup_key, "replaced", f"{existing.id} -> {created.id} ({why})"
                )
            )
    return actions


def missing_metadata(price: stripe.Price, match: PriceMatch) -> dict[str, str]:
    """The catalog metadata ``price`` lacks (or holds other values for)."""
    have = price.metadata.to_dict() if price.metadata else {}
    return {k: v for k, v in match.metadata.items() if have.get(k) != v}


async def _tag_price(
    gateway: StripeGateway, price: stripe.Price, match: PriceMatch
) -> SyncAction | None:
    """Add the catalog metadata to a price that lacks it; None when it already has it."""
    wanted = missing_metadata(price, match)
    if not wanted:
        return None
    key = intent_key("price-metadata", price.id, *sorted(wanted.items()))
    await gateway.update_price(price.id, {"metadata": wanted}, idempotency_key=key)
    shown = ", ".join(f"{k}={v}" for k, v in sorted(wanted.items()))
    return SyncAction(
        "price", str(price.lookup_key or price.id), "updated", f"{price.id} ({shown})"
    )


async def _check_price_id(gateway: StripeGateway, ref: PriceRef, interval: str) -> SyncAction:
    name = str(ref.price_id)
    try:
        price = await gateway.retrieve_price(name)
    except GatewayError as exc:
        if not exc.missing:
            raise
        return SyncAction("price", name, "missing", "(the catalog names a price Stripe lacks)")
    wrong = differences(ref, interval, price)
    if wrong:
        return SyncAction("price", name, "mismatch", "; ".join(wrong))
    return SyncAction("price", name, "unchanged")
