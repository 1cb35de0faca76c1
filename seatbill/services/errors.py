"""Expected failures, as typed codes the API shows to clients."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    VALIDATION = "VALIDATION"
    ALREADY_MEMBER = "ALREADY_MEMBER"
    ALREADY_INVITED = "ALREADY_INVITED"
    INVITATION_INVALID = "INVITATION_INVALID"
    INVITATION_EXPIRED = "INVITATION_EXPIRED"
    INVITATION_EMAIL_MISMATCH = "INVITATION_EMAIL_MISMATCH"
    EMAIL_NOT_VERIFIED = "EMAIL_NOT_VERIFIED"  # the token says email_verified: false
    OWNER_CANNOT_LEAVE = "OWNER_CANNOT_LEAVE"
    CANNOT_REMOVE_OWNER = "CANNOT_REMOVE_OWNER"
    SEAT_LIMIT_REACHED = "SEAT_LIMIT_REACHED"
    BILLING_RESTRICTED = "BILLING_RESTRICTED"
    BILLING_PROVIDER_ERROR = "BILLING_PROVIDER_ERROR"
    NO_SUBSCRIPTION = "NO_SUBSCRIPTION"  # a change needs a subscription: use startCheckout
    CONFLICT = "CONFLICT"
    PAYMENT_FAILED = "PAYMENT_FAILED"  # the charge for a change failed; nothing changed
    RATE_LIMITED = "RATE_LIMITED"  # too many calls; retry after `retry_after` seconds


class DomainError(Exception):
    """An expected failure; nothing was changed. ``message`` is safe to show to a client."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        field: tuple[str, ...] | None = None,
        *,
        url: str | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.url = url  # a page where the user can act on it (Stripe's hosted invoice)
        self.retry_after = retry_after  # RATE_LIMITED: seconds until a retry can succeed


def not_found(what: str, field: tuple[str, ...] | None = None) -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, f"{what} not found", field)
