"""The invitation's email binding: addresses match after lower-casing A-Z only (no Unicode case
folding), and a token whose identity provider says `email_verified: false` cannot accept."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest

from seatbill.models import Membership
from seatbill.services.errors import DomainError
from seatbill.services.validation import ascii_lower, email
from tests.conftest import Api, Person

KELVIN = "\u212a"  # KELVIN SIGN; "\u212a".lower() == "k"


def person_with(api: Api, address: str, **extra: Any) -> Person:
    """A user whose token carries exactly ``address`` and ``extra`` claims, as an identity
    provider would sign them."""
    sub = f"idp-{uuid.uuid4().hex[:10]}"
    now = int(time.time())
    claims = {"sub": sub, "email": address, "iat": now, "exp": now + 600, **extra}
    token = jwt.encode(claims, api.settings.jwt_secret, algorithm="HS256")
    return Person(sub=sub, email=address, token=token, name="Idp")


async def test_kelvin_sign_address_cannot_accept_an_invitation_for_kate(api: Api) -> None:
    owner = api.person("owner")
    ws_id = await api.create_workspace(owner)
    invited = await api.invite(owner, ws_id, "kate@example.com", "ADMIN")
    assert invited["userErrors"] == [], invited

    impostor = person_with(api, f"{KELVIN}ate@example.com")
    me = (await api.data("{ me { email } }", who=impostor))["me"]
    assert me["email"] == f"{KELVIN}ate@example.com"  # kept as signed, not folded to "kate"
    stolen = await api.accept(impostor, invited["token"])
    assert stolen["member"] is None
    assert stolen["userErrors"][0]["code"] == "INVITATION_EMAIL_MISMATCH"
    assert await Membership.filter(workspace_id=ws_id).count() == 1


async def test_ascii_case_differences_still_accept(api: Api) -> None:
    owner = api.person("owner")
    ws_id = await api.create_workspace(owner)
    invited = await api.invite(owner, ws_id, "kate@example.com")
    kate = person_with(api, "Kate@Example.com")
    accepted = await api.accept(kate, invited["token"])
    assert accepted["userErrors"] == [], accepted
    assert accepted["member"]["user"]["email"] == "kate@example.com"


async def test_an_invitation_to_an_upper_case_address_is_stored_ascii_lower_cased(
    api: Api,
) -> None:
    owner = api.person("owner")
    ws_id = await api.create_workspace(owner)
    invited = await api.invite(owner, ws_id, f"KATE.{KELVIN}@EXAMPLE.COM")
    assert invited["invitation"]["email"] == f"kate.{KELVIN}@example.com"


async def test_unverified_email_cannot_accept_and_sees_no_invitations(api: Api) -> None:
    owner = api.person("owner")
    ws_id = await api.create_workspace(owner)
    address = f"victim-{uuid.uuid4().hex[:8]}@example.com"
    invited = await api.invite(owner, ws_id, address, "ADMIN")
    assert invited["userErrors"] == [], invited

    squatter = person_with(api, address, email_verified=False)
    mine = await api.data("{ me { email invitations { id } } }", who=squatter)
    assert mine["me"] == {"email": address, "invitations": []}
    refused = await api.accept(squatter, invited["token"])
    assert refused["member"] is None
    error = refused["userErrors"][0]
    assert error["code"] == "EMAIL_NOT_VERIFIED"
    assert "not verified" in error["message"] and error["field"] == ["input", "token"]
    assert await Membership.filter(workspace_id=ws_id).count() == 1

    # Some providers send the flag as a string.
    as_string = person_with(api, address, email_verified="false")
    refused = await api.accept(as_string, invited["token"])
    assert refused["userErrors"][0]["code"] == "EMAIL_NOT_VERIFIED"

    # Once the provider has verified the address, the invitation (still pending) works.
    verified = person_with(api, address, email_verified=True)
    mine = await api.data("{ me { invitations { id role } } }", who=verified)
    assert mine["me"]["invitations"] == [{"id": invited["invitation"]["id"], "role": "ADMIN"}]
    accepted = await api.accept(verified, invited["token"])
    assert accepted["userErrors"] == [] and accepted["member"]["role"] == "ADMIN"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Kate@Example.COM", "kate@example.com"),
        (f"{KELVIN}ate@example.com", f"{KELVIN}ate@example.com"),
        ("\u0130stanbul@example.com", "\u0130stanbul@example.com"),  # "İ".lower() is "i̇"
        ("ÄNNE@example.com", "Änne@example.com"),
    ],
)
def test_email_lower_cases_ascii_letters_only(raw: str, expected: str) -> None:
    assert ascii_lower(raw) == expected
    assert email(f"  {raw} ") == expected


def test_email_still_refuses_bad_addresses() -> None:
    with pytest.raises(DomainError):
        email("kate@")
