"""Input checks shared by the services. Each raises a VALIDATION DomainError naming the field."""

from __future__ import annotations

import re
import string
import unicodedata
import uuid

from seatbill.services.errors import DomainError, ErrorCode, not_found

MAX_WORKSPACE_NAME = 100
MAX_EMAIL = 320
_EMAIL = re.compile(
    r"^[^@\s<>()\[\],;:\"\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def ascii_lower(value: str) -> str:
    """Lower-cases A-Z only. ``str.lower`` folds other letters too (the Kelvin sign U+212A
    becomes ``k``), which would let a different address match an invitation."""
    return value.translate(_ASCII_LOWER)


def workspace_name(raw: str, field: tuple[str, ...] = ("input", "name")) -> str:
    name = " ".join(raw.split())
    if not name:
        raise DomainError(ErrorCode.VALIDATION, "Name must not be empty", field)
    if len(name) > MAX_WORKSPACE_NAME:
        raise DomainError(
            ErrorCode.VALIDATION, f"Name must be at most {MAX_WORKSPACE_NAME} characters", field
        )
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} for ch in name):
        raise DomainError(ErrorCode.VALIDATION, "Name contains invalid characters", field)
    return name


def email(raw: str, field: tuple[str, ...] = ("input", "email")) -> str:
    value = ascii_lower(raw.strip())
    if len(value) > MAX_EMAIL or not _EMAIL.match(value):
        raise DomainError(ErrorCode.VALIDATION, "Email address is not valid", field)
    return value


def object_id(raw: str, what: str, field: tuple[str, ...]) -> uuid.UUID:
    """Parse an id; a malformed id is reported exactly like an unknown one."""
    try:
        return uuid.UUID(raw)
    except (ValueError, AttributeError, TypeError):
        raise not_found(what, field) from None
