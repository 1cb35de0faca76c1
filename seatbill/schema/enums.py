"""GraphQL enums that several schema modules share; they sit below every type module."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum
class BillingInterval(Enum):
    MONTH = "month"
    YEAR = "year"
