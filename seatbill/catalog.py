"""The plans catalog: what a workspace can buy, read from ``plans.toml``.

A plan has, per billing interval, an optional base price (quantity 1) and a seat price
(quantity = seats). Each price points at a Stripe price, by id or by ``lookup_key``, and
carries the amounts needed to quote it offline; the math itself lives in
:mod:`seatbill.pricing`. Loading validates the whole file and fails with a
:class:`CatalogError` that names the offending field, e.g.
``plans.pro.month.seat.tiers[2].up_to: must be greater than 10``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import stripe

from seatbill.pricing import Tier, TiersMode, price_amount, validate_tiers

__all__ = [
    "FREE_PLAN",
    "METADATA_INTERVAL",
    "METADATA_PLAN",
    "METADATA_ROLE",
    "Catalog",
    "CatalogError",
    "Interval",
    "Plan",
    "PlanLimit",
    "PlanPrice",
    "PriceMatch",
    "PriceRef",
    "PriceRole",
    "SeatDecrease",
    "SeatMode",
    "default_catalog_path",
    "load_catalog",
    "match_stripe_price",
    "parse_catalog",
]


class SeatMode(StrEnum):
    """How the seat quantity is decided."""

    AUTO = "auto"  # Stripe quantity follows billable members
    LICENSED = "licensed"  # the buyer chooses the quantity, never below billable members


class Interval(StrEnum):
    """Billing interval of a price; a subscription never mixes them."""

    MONTH = "month"
    YEAR = "year"


class SeatDecrease(StrEnum):
    """When a seat decrease takes effect."""

    PERIOD_END = "period_end"  # at the next period start, no credit (subscription schedule)
    PRORATE = "prorate"  # at once, with a prorated credit


PriceRole = Literal["base", "seat"]

# Price metadata `seatbill catalog sync` writes on every price it creates, so a price keeps its
# place in the catalog after a new price took its lookup key (transfer_lookup_key).
METADATA_PLAN = "seatbill_plan"
METADATA_ROLE = "seatbill_role"
METADATA_INTERVAL = "seatbill_interval"
# Prices made by catalog sync before seatbill_role existed carry the role as "role".
_LEGACY_METADATA_ROLE = "role"

_TIERS_MODES: tuple[TiersMode, ...] = ("graduated", "volume")


class CatalogError(ValueError):
    """The catalog file is invalid; ``field`` is the dotted path of the culprit."""

    def __init__(self, field: str, reason: str, *, source: str | None = None) -> None:
        self.field = field
        self.reason = reason
        self.source = source
        located = f"{field}: {reason}" if field else reason
        super().__init__(f"{source}: {located}" if source else located)


@dataclass(frozen=True)
class PriceRef:
    """One Stripe price (by id or lookup key) and the amounts to quote it."""

    currency: str
    price_id: str | None = None
    lookup_key: str | None = None
    unit_amount: int | None = None
    tiers: tuple[Tier, ...] = ()
    tiers_mode: TiersMode | None = None

    def __post_init__(self) -> None:
        if (self.price_id is None) == (self.lookup_key is None):
            raise ValueError("a price needs exactly one of price_id and lookup_key")
        if (self.unit_amount is None) == (not self.tiers):
            raise ValueError("a price needs exactly one of unit_amount and tiers")
        if self.tiers and self.tiers_mode is None:
            raise ValueError("a tiered price needs tiers_mode")

    @property
    def reference(self) -> str:
        """The Stripe price id, or else the lookup key."""
        return cast(str, self.price_id or self.lookup_key)

    @property
    def is_tiered(self) -> bool:
        return bool(self.tiers)

    def amount(self, quantity: int) -> int:
        """What Stripe charges for ``quantity`` units of this price, in minor units."""
        return price_amount(
            quantity, unit_amount=self.unit_amount, tiers=self.tiers, tiers_mode=self.tiers_mode
        )


@dataclass(frozen=True)
class PlanPrice:
    """A plan's prices for one interval: optional base (quantity 1) plus seats."""

    interval: Interval
    seat: PriceRef
    base: PriceRef | None = None

    @property
    def currency(self) -> str:
        return self.seat.currency

    @property
    def base_amount(self) -> int | None:
        """The base price for one period, or None when the plan has no base price."""
        return None if self.base is None else self.base.amount(1)

    def quote(self, seats: int) -> int:
        """Total per interval in minor units for ``seats`` seats, before tax and discounts."""
        if seats < 0:
            raise ValueError("seats must not be negative")
        return (self.base_amount or 0) + self.seat.amount(seats)


FREE_PLAN = "free"  # the plan whose limits apply to workspaces without a subscription
UNLIMITED = "unlimited"  # how plans.toml spells a limit without a bound
MAX_LIMIT = 2**31 - 1  # GraphQL's Int


@dataclass(frozen=True)
class PlanLimit:
    """One limit of a plan (``[plans.<key>.limits]``); ``value`` None means unlimited."""

    key: str
    value: int | None


@dataclass(frozen=True)
class Plan:
    key: str
    name: str
    description: str
    features: tuple[str, ...]
    seat_mode: SeatMode
    prices: tuple[PlanPrice, ...]  # month before year, at least one
    max_seats: int | None = None
    # Auto plans always prorate decreases (design section 2); this is a licensed-plan setting.
    seat_decrease: SeatDecrease = SeatDecrease.PERIOD_END
    limits: tuple[PlanLimit, ...] = ()  # in file order
    # A workspace's first subscription starts with this many free days (0: no trial).
    trial_days: int = 0
    # False: the trial starts without a card and is canceled at its end if none was added.
    trial_requires_payment_method: bool = True

    @property
    def intervals(self) -> tuple[Interval, ...]:
        return tuple(price.interval for price in self.prices)

    def price(self, interval: Interval | str) -> PlanPrice | None:
        for plan_price in self.prices:
            if plan_price.interval == interval:
                return plan_price
        return None


@dataclass(frozen=True)
class PriceMatch:
    """Where a Stripe price sits in the catalog."""

    plan: Plan
    interval: Interval
    role: PriceRole

    @property
    def metadata(self) -> dict[str, str]:
        """The price metadata that identifies this place (what catalog sync writes)."""
        return {
            METADATA_PLAN: self.plan.key,
            METADATA_ROLE: self.role,
            METADATA_INTERVAL: self.interval.value,
        }


@dataclass(frozen=True)
class Catalog:
    plans: tuple[Plan, ...]  # in file order
    _by_key: Mapping[str, Plan] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {plan.key: plan for plan in self.plans})

    def get(self, key: str) -> Plan | None:
        return self._by_key.get(key)

    def price_refs(self) -> Iterator[tuple[PriceMatch, PriceRef]]:
        """Every price in the catalog, e.g. to resolve lookup keys with Stripe at start-up."""
        for plan in self.plans:
            for plan_price in plan.prices:
                if plan_price.base is not None:
                    yield PriceMatch(plan, plan_price.interval, "base"), plan_price.base
                yield PriceMatch(plan, plan_price.interval, "seat"), plan_price.seat

    def match_price(
        self, *, price_id: str | None = None, lookup_key: str | None = None
    ) -> PriceMatch | None:
        """The plan, interval and role of a Stripe price, matched by id or lookup key."""
        for match, ref in self.price_refs():
            if (price_id is not None and ref.price_id == price_id) or (
                lookup_key is not None and ref.lookup_key == lookup_key
            ):
                return match
        return None

    def match_metadata(
        self, metadata: Mapping[str, Any] | None, recurring_interval: str | None = None
    ) -> PriceMatch | None:
        """The place a price's metadata names (``seatbill_plan``, ``seatbill_role``,
        ``seatbill_interval``; the interval falls back to the price's own), if the catalog
        still has that plan."""
        if not metadata:
            return None
        plan = self.get(str(metadata.get(METADATA_PLAN) or ""))
        role = metadata.get(METADATA_ROLE) or metadata.get(_LEGACY_METADATA_ROLE)
        interval = metadata.get(METADATA_INTERVAL) or recurring_interval
        if plan is None or role not in ("base", "seat") or interval not in set(Interval):
            return None
        return PriceMatch(plan, Interval(str(interval)), cast(PriceRole, role))


def match_stripe_price(
    catalog: Catalog, price: stripe.Price | Mapping[str, Any]
) -> PriceMatch | None:
    """Where a Stripe price sits in the catalog: by price id, then lookup key, then the
    metadata catalog sync puts on its prices. The one matcher for the mirror, seat sync and
    billing: a price superseded by a new amount (its lookup key moved to the new price) keeps
    its plan, role and interval, so its subscriptions keep their limits and seat sync.
    ``price`` is an SDK object or its JSON (a webhook's ``items.data[].price``)."""
    data: Mapping[str, Any] = price.to_dict() if isinstance(price, stripe.StripeObject) else price
    price_id = data.get("id")
    lookup_key = data.get("lookup_key")
    found = catalog.match_price(
        price_id=str(price_id) if price_id else None,
        lookup_key=str(lookup_key) if lookup_key else None,
    )
    if found is not None:
        return found
    recurring = data.get("recurring")
    interval = recurring.get("interval") if isinstance(recurring, Mapping) else None
    metadata = data.get("metadata")
    return catalog.match_metadata(
        metadata if isinstance(metadata, Mapping) else None,
        str(interval) if interval else None,
    )


def default_catalog_path() -> Path:
    """The bundled plans.toml: the repository's in a checkout, the wheel's otherwise."""
    package_dir = Path(__file__).resolve().parent
    checkout_file = package_dir.parent / "plans.toml"
    if checkout_file.is_file():
        return checkout_file
    return package_dir / "plans.toml"


def load_catalog(path: str | Path) -> Catalog:
    """Read and validate a catalog file; raises CatalogError naming the bad field."""
    source = str(path)
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except OSError as exc:
        raise CatalogError(
            "", f"cannot read catalog: {exc.strerror or exc}", source=source
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError("", f"invalid TOML: {exc}", source=source) from exc
    return parse_catalog(data, source=source)


def parse_catalog(data: Mapping[str, object], *, source: str | None = None) -> Catalog:
    """Validate an already-parsed catalog document (the TOML as a dict)."""
    try:
        return _parse_catalog(data)
    except CatalogError as exc:
        if source is None:
            raise
        raise CatalogError(exc.field, exc.reason, source=source) from None


# --- parsing -------------------------------------------------------------------------------

_PLAN_KEY = re.compile(r"[a-z0-9][a-z0-9_-]*")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_CURRENCY = re.compile(r"[a-z]{3}")
_PLAN_FIELDS = (
    "name",
    "description",
    "features",
    "seat_mode",
    "max_seats",
    "seat_decrease",
    "limits",
    "trial_days",
    "trial_requires_payment_method",
)
_LIMIT_KEY = re.compile(r"[a-z][a-z0-9_]*")
MAX_TRIAL_DAYS = 730  # Stripe's limit on a trial's length
_INTERVAL_FIELDS = ("base", "seat")
_PRICE_FIELDS = ("price", "lookup_key", "currency", "unit_amount", "tiers_mode", "tiers")
_TIER_FIELDS = ("up_to", "unit_amount", "flat_amount")
_TIER_MESSAGE = re.compile(r"tier (\d+): (.*)")
_MISSING = object()
_Choice = TypeVar("_Choice", bound=StrEnum)


def _join(path: str, key: str) -> str:
    shown = key if _BARE_KEY.fullmatch(key) else '"' + key.replace('"', '\\"') + '"'
    return f"{path}.{shown}" if path else shown


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _table(value: object, path: str, allowed: Sequence[str]) -> dict[str, object]:
    if not isinstance(value, dict):
        raise CatalogError(path, f"must be a table, not {_type_name(value)}")
    table = cast(dict[str, object], value)
    for key in table:
        if key not in allowed:
            raise CatalogError(
                _join(path, key), f"unknown key (expected one of: {', '.join(allowed)})"
            )
    return table


def _required(table: Mapping[str, object], path: str, key: str) -> object:
    value = table.get(key, _MISSING)
    if value is _MISSING:
        raise CatalogError(_join(path, key), "missing required field")
    return value


def _string(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise CatalogError(path, f"must be a string, not {_type_name(value)}")
    return value


def _non_empty_string(value: object, path: str) -> str:
    text = _string(value, path)
    if not text.strip():
        raise CatalogError(path, "must not be empty")
    return text


def _integer(value: object, path: str, *, minimum: int) -> int:
    # TOML booleans are Python bools, which are ints: refuse them explicitly.
    if isinstance(value, bool) or not isinstance(value, int):
        raise CatalogError(path, f"must be an integer, not {_type_name(value)}")
    if value < minimum:
        reason = "must not be negative" if minimum == 0 else f"must be at least {minimum}"
        raise CatalogError(path, reason)
    return value


def _amount(value: object, path: str) -> int:
    if isinstance(value, float):
        raise CatalogError(path, "must be an integer amount in minor units (cents), not a float")
    return _integer(value, path, minimum=0)


def _choice(value: object, path: str, enum: type[_Choice]) -> _Choice:
    text = _string(value, path)
    try:
        return enum(text)
    except ValueError:
        expected = " or ".join(f'"{member.value}"' for member in enum)
        raise CatalogError(path, f'unknown value "{text}" (expected {expected})') from None


def _parse_catalog(data: Mapping[str, object]) -> Catalog:
    document = _table(dict(data), "", ("plans",))
    plans_table = _table_any_keys(_required(document, "", "plans"), "plans")
    if not plans_table:
        raise CatalogError("plans", "must define at least one plan")
    plans = tuple(_parse_plan(key, value) for key, value in plans_table.items())
    _check_unique_prices(plans)
    return Catalog(plans=plans)


def _table_any_keys(value: object, path: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise CatalogError(path, f"must be a table, not {_type_name(value)}")
    return cast(dict[str, object], value)


def _parse_plan(key: str, value: object) -> Plan:
    path = _join("plans", key)
    if not _PLAN_KEY.fullmatch(key):
        raise CatalogError(path, "plan key must be lowercase letters, digits, '-' or '_'")
    raw = _table_any_keys(value, path)
    intervals = [member.value for member in Interval]
    for name, item in raw.items():
        if name in intervals or name in _PLAN_FIELDS:
            continue
        if isinstance(item, dict):
            raise CatalogError(_join(path, name), 'unknown interval (expected "month" or "year")')
        raise CatalogError(
            _join(path, name),
            f"unknown key (expected one of: {', '.join((*_PLAN_FIELDS, *intervals))})",
        )

    name = _non_empty_string(_required(raw, path, "name"), _join(path, "name"))
    description = _string(_required(raw, path, "description"), _join(path, "description"))
    features_path = _join(path, "features")
    features_raw = _required(raw, path, "features")
    if not isinstance(features_raw, list):
        raise CatalogError(features_path, f"must be an array, not {_type_name(features_raw)}")
    features = tuple(
        _non_empty_string(item, f"{features_path}[{index}]")
        for index, item in enumerate(features_raw)
    )
    seat_mode = _choice(_required(raw, path, "seat_mode"), _join(path, "seat_mode"), SeatMode)

    max_seats = None
    if "max_seats" in raw:
        max_seats = _integer(raw["max_seats"], _join(path, "max_seats"), minimum=1)

    seat_decrease = SeatDecrease.PERIOD_END
    if "seat_decrease" in raw:
        decrease_path = _join(path, "seat_decrease")
        seat_decrease = _choice(raw["seat_decrease"], decrease_path, SeatDecrease)
        if seat_mode is SeatMode.AUTO:
            raise CatalogError(
                decrease_path,
                'only applies to seat_mode "licensed" (auto plans always prorate decreases)',
            )
    if seat_mode is SeatMode.AUTO:
        seat_decrease = SeatDecrease.PRORATE

    trial_days = 0
    if "trial_days" in raw:
        trial_days = _integer(raw["trial_days"], _join(path, "trial_days"), minimum=0)
        if trial_days > MAX_TRIAL_DAYS:
            raise CatalogError(
                _join(path, "trial_days"), f"must be at most {MAX_TRIAL_DAYS} (Stripe's limit)"
            )
    requires_card = True
    if "trial_requires_payment_method" in raw:
        card_path = _join(path, "trial_requires_payment_method")
        value = raw["trial_requires_payment_method"]
        if not isinstance(value, bool):
            raise CatalogError(card_path, f"must be a boolean, not {_type_name(value)}")
        if not trial_days:
            raise CatalogError(card_path, "only applies with trial_days")
        requires_card = value

    prices = tuple(
        _parse_plan_price(interval, raw[interval.value], _join(path, interval.value))
        for interval in Interval
        if interval.value in raw
    )
    if not prices and key != FREE_PLAN:  # the free plan may be limits only, never sold
        raise CatalogError(path, 'must define at least one interval ("month" or "year")')
    limits = _parse_limits(raw["limits"], _join(path, "limits")) if "limits" in raw else ()

    return Plan(
        key=key,
        name=name,
        description=description,
        features=features,
        seat_mode=seat_mode,
        prices=prices,
        max_seats=max_seats,
        seat_decrease=seat_decrease,
        limits=limits,
        trial_days=trial_days,
        trial_requires_payment_method=requires_card,
    )


def _parse_limits(value: object, path: str) -> tuple[PlanLimit, ...]:
    """``[plans.<key>.limits]``: name = a non-negative integer, or "unlimited"."""
    table = _table_any_keys(value, path)
    limits: list[PlanLimit] = []
    for name, raw in table.items():
        where = _join(path, name)
        if not _LIMIT_KEY.fullmatch(name):
            raise CatalogError(
                where, "limit name must be lowercase letters, digits or '_', starting with a letter"
            )
        if raw == UNLIMITED:
            limits.append(PlanLimit(name, None))
            continue
        if isinstance(raw, int) and not isinstance(raw, bool) and raw < 0:
            raise CatalogError(where, f'must not be negative (write "{UNLIMITED}" for no limit)')
        if isinstance(raw, str):
            raise CatalogError(where, f'must be a whole number or "{UNLIMITED}", not "{raw}"')
        number = _integer(raw, where, minimum=0)
        if number > MAX_LIMIT:
            raise CatalogError(where, f"must be at most {MAX_LIMIT}")
        limits.append(PlanLimit(name, number))
    return tuple(limits)


def _parse_plan_price(interval: Interval, value: object, path: str) -> PlanPrice:
    raw = _table(value, path, _INTERVAL_FIELDS)
    seat = _parse_price(_required(raw, path, "seat"), _join(path, "seat"))
    base = None
    if "base" in raw:
        base_path = _join(path, "base")
        base = _parse_price(raw["base"], base_path)
        if base.currency != seat.currency:
            raise CatalogError(
                _join(base_path, "currency"),
                f'"{base.currency}" differs from the seat price currency "{seat.currency}"'
                " (a subscription bills in one currency)",
            )
    return PlanPrice(interval=interval, seat=seat, base=base)


def _parse_price(value: object, path: str) -> PriceRef:
    raw = _table(value, path, _PRICE_FIELDS)

    has_id, has_key = "price" in raw, "lookup_key" in raw
    if has_id == has_key:
        reason = "give either" if not has_id else "give only one of"
        raise CatalogError(path, f'{reason} "price" (a Stripe price id) or "lookup_key"')
    price_id = lookup_key = None
    if has_id:
        price_id = _non_empty_string(raw["price"], _join(path, "price"))
        if not price_id.startswith("price_"):
            raise CatalogError(
                _join(path, "price"), 'must be a Stripe price id ("price_..."); use lookup_key'
            )
    else:
        lookup_key = _non_empty_string(raw["lookup_key"], _join(path, "lookup_key"))
        if len(lookup_key) > 200:
            raise CatalogError(_join(path, "lookup_key"), "must be at most 200 characters")

    currency_path = _join(path, "currency")
    currency = _string(_required(raw, path, "currency"), currency_path)
    if not _CURRENCY.fullmatch(currency):
        raise CatalogError(currency_path, "must be a lowercase three-letter ISO code, e.g. usd")

    has_unit, has_tiers = "unit_amount" in raw, "tiers" in raw
    if has_unit == has_tiers:
        reason = "give either" if not has_unit else "give only one of"
        raise CatalogError(path, f'{reason} "unit_amount" or "tiers" (with "tiers_mode")')
    if has_unit:
        if "tiers_mode" in raw:
            raise CatalogError(_join(path, "tiers_mode"), 'only applies with "tiers"')
        unit_amount = _amount(raw["unit_amount"], _join(path, "unit_amount"))
        return PriceRef(currency, price_id, lookup_key, unit_amount=unit_amount)

    mode_path = _join(path, "tiers_mode")
    mode = _string(_required(raw, path, "tiers_mode"), mode_path)
    if mode not in _TIERS_MODES:
        raise CatalogError(mode_path, f'unknown value "{mode}" (expected "graduated" or "volume")')
    tiers = _parse_tiers(raw["tiers"], _join(path, "tiers"))
    return PriceRef(currency, price_id, lookup_key, tiers=tiers, tiers_mode=mode)


def _parse_tiers(value: object, path: str) -> tuple[Tier, ...]:
    if not isinstance(value, list):
        raise CatalogError(path, f"must be an array of tables, not {_type_name(value)}")
    if not value:
        raise CatalogError(path, "must not be empty")
    tiers = tuple(_parse_tier(item, f"{path}[{index}]") for index, item in enumerate(value))
    try:
        validate_tiers(tiers)
    except ValueError as exc:
        raise _tier_error(path, len(tiers), str(exc)) from None
    return tiers


def _parse_tier(value: object, path: str) -> Tier:
    raw = _table(value, path, _TIER_FIELDS)
    up_to_path = _join(path, "up_to")
    up_to_raw = _required(raw, path, "up_to")
    up_to: int | None
    if up_to_raw == "inf":
        up_to = None
    elif isinstance(up_to_raw, str):
        raise CatalogError(up_to_path, f'must be a positive integer or "inf", not "{up_to_raw}"')
    else:
        up_to = _integer(up_to_raw, up_to_path, minimum=1)
    if "unit_amount" not in raw and "flat_amount" not in raw:
        raise CatalogError(path, 'needs "unit_amount" or "flat_amount" (or both)')
    unit_amount = _amount(raw.get("unit_amount", 0), _join(path, "unit_amount"))
    flat_amount = _amount(raw.get("flat_amount", 0), _join(path, "flat_amount"))
    return Tier(up_to=up_to, unit_amount=unit_amount, flat_amount=flat_amount)


def _tier_error(path: str, count: int, message: str) -> CatalogError:
    """Re-home a pricing.validate_tiers message ("tier 3: ...") onto the tier's field path."""
    index = count - 1  # messages without a tier number are about the last tier
    match = _TIER_MESSAGE.fullmatch(message)
    if match:
        index, message = int(match.group(1)) - 1, match.group(2)
    tier_path = f"{path}[{index}]"
    if "up_to" in message:
        return CatalogError(_join(tier_path, "up_to"), message.removeprefix("up_to ").strip())
    return CatalogError(tier_path, message)


def _check_unique_prices(plans: Sequence[Plan]) -> None:
    # One Stripe price must map back to one plan/interval/role when webhooks report it.
    seen: dict[tuple[str, str], str] = {}
    for plan in plans:
        for plan_price in plan.prices:
            for role, ref in (("base", plan_price.base), ("seat", plan_price.seat)):
                if ref is None:
                    continue
                field_name = "price" if ref.price_id is not None else "lookup_key"
                where = f"plans.{plan.key}.{plan_price.interval.value}.{role}"
                identity = (field_name, ref.reference)
                if identity in seen:
                    raise CatalogError(
                        f"{where}.{field_name}",
                        f'"{ref.reference}" is already used by {seen[identity]}',
                    )
                seen[identity] = where
