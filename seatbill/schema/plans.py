"""The plans catalog over GraphQL."""

from __future__ import annotations

from enum import Enum

import strawberry
from graphql import GraphQLError

from seatbill import catalog
from seatbill.schema.enums import BillingInterval

MAX_QUOTE_SEATS = 1_000_000


@strawberry.enum
class SeatMode(Enum):
    AUTO = "auto"
    LICENSED = "licensed"


@strawberry.enum
class PricingScheme(Enum):
    PER_UNIT = "per_unit"
    GRADUATED = "graduated"
    VOLUME = "volume"


@strawberry.type(description="One tier of a tiered seat price; upTo null means no upper bound.")
class PriceTier:
    up_to: int | None
    unit_amount: int
    flat_amount: int


@strawberry.type(description="How seats are priced. Amounts in minor units of the currency.")
class SeatPricing:
    scheme: PricingScheme
    unit_amount: int | None
    tiers: list[PriceTier]

    @classmethod
    def of(cls, ref: catalog.PriceRef) -> SeatPricing:
        scheme = PricingScheme(ref.tiers_mode) if ref.is_tiered else PricingScheme.PER_UNIT
        return cls(
            scheme=scheme,
            unit_amount=ref.unit_amount,
            tiers=[
                PriceTier(up_to=t.up_to, unit_amount=t.unit_amount, flat_amount=t.flat_amount)
                for t in ref.tiers
            ],
        )


@strawberry.type
class PlanPrice:
    interval: BillingInterval
    currency: str
    base_amount: int | None = strawberry.field(description="Per interval, at quantity 1.")
    seat_pricing: SeatPricing
    _price: strawberry.Private[catalog.PlanPrice]

    @strawberry.field(description="Total per interval for that many seats, in minor units.")
    def quote(self, seats: int) -> int:
        if not 0 <= seats <= MAX_QUOTE_SEATS:
            raise GraphQLError(
                f"seats must be between 0 and {MAX_QUOTE_SEATS}",
                extensions={"code": "BAD_USER_INPUT"},
            )
        return self._price.quote(seats)

    @classmethod
    def of(cls, price: catalog.PlanPrice) -> PlanPrice:
        return cls(
            interval=BillingInterval(price.interval.value),
            currency=price.currency,
            base_amount=price.base_amount,
            seat_pricing=SeatPricing.of(price.seat),
            _price=price,
        )


@strawberry.type(
    description='A limit of a plan (e.g. key "projects", value 10); value null means unlimited.'
)
class PlanLimit:
    key: str
    value: int | None

    @classmethod
    def list_of(cls, limits: tuple[catalog.PlanLimit, ...]) -> list[PlanLimit]:
        return [cls(key=limit.key, value=limit.value) for limit in limits]


@strawberry.type
class Plan:
    id: strawberry.ID
    name: str
    description: str
    features: list[str]
    seat_mode: SeatMode
    max_seats: int | None
    prices: list[PlanPrice]
    limits: list[PlanLimit] = strawberry.field(
        description="What the plan includes, from plans.toml; null values are unlimited."
    )

    @classmethod
    def of(cls, plan: catalog.Plan) -> Plan:
        return cls(
            id=strawberry.ID(plan.key),
            name=plan.name,
            description=plan.description,
            features=list(plan.features),
            seat_mode=SeatMode(plan.seat_mode.value),
            max_seats=plan.max_seats,
            prices=[PlanPrice.of(price) for price in plan.prices],
            limits=PlanLimit.list_of(plan.limits),
        )
