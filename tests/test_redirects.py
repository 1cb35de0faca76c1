"""Where Stripe's pages may send people back to: only the allowed origins (ALLOWED_REDIRECT_ORIGINS,
else PUBLIC_URL's), loopback while billing is emulated, https otherwise. Anything else would make
a Stripe URL an open redirect to someone else's site."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from seatbill.config import ConfigError, Settings
from seatbill.models import AuditLog, Workspace
from seatbill.origins import origin_of, parse_origin
from seatbill.services.billing.core import redirect_url
from seatbill.services.errors import DomainError
from tests.billing_support import CANCEL, SUCCESS, billing, clocked_workspace, start_checkout
from tests.conftest import Api, Person, Stack

__all__ = ["billing"]

FOREIGN = [
    "https://evil.example/billing",
    "https://app.example.com.evil.example/billing",
    "https://evil.example\\@app.example.com/billing",  # a browser goes to evil.example
    "https://app.example.com@evil.example/billing",
    "http://app.example.com/billing",  # the allowed origin is https
    "https://app.example.com:8443/billing",
]


async def portal(api: Api, who: Person, workspace_id: str, return_url: str) -> dict[str, Any]:
    return await api.mutate(
        "openBillingPortal", {"workspaceId": workspace_id, "returnUrl": return_url}, who, "url"
    )


@pytest.mark.parametrize("url", FOREIGN)
async def test_a_foreign_host_in_each_field_is_refused_and_nothing_reaches_stripe(
    api: Api, billing: Stack, url: str
) -> None:
    owner = api.person("owner")
    workspace_id = await api.create_workspace(owner)
    for success, cancel, field in ((url, CANCEL, "successUrl"), (SUCCESS, url, "cancelUrl")):
        result = await start_checkout(
            api, owner, workspace_id, "team", seats=2, success_url=success, cancel_url=cancel
        )
        assert result["checkoutUrl"] is None and result["sessionId"] is None
        assert [(e["code"], e["field"]) for e in result["userErrors"]] == [
            ("VALIDATION", ["input", field])
        ]
    opened = await portal(api, owner, workspace_id, url)
    assert opened["url"] is None
    assert [(e["code"], e["field"]) for e in opened["userErrors"]] == [
        ("VALIDATION", ["input", "returnUrl"])
    ]
    # Refused before any Stripe call: no customer, no session, no audit row.
    assert (await Workspace.get(id=workspace_id)).stripe_customer_id is None
    assert not await AuditLog.filter(workspace_id=workspace_id).exists()


async def test_no_checkout_session_for_a_customer_already_in_stripe(
    api: Api, billing: Stack
) -> None:
    owner = api.person("owner")
    workspace_id, customer_id, _ = await clocked_workspace(api, billing, owner)
    result = await start_checkout(
        api, owner, workspace_id, "team", seats=2, success_url="https://evil.example/"
    )
    assert [e["field"] for e in result["userErrors"]] == [["input", "successUrl"]]
    assert await billing.gateway.list_open_checkout_sessions(customer_id) == []


async def test_allowed_and_loopback_origins_work(api: Api, billing: Stack) -> None:
    owner = api.person("owner")
    workspace_id = await api.create_workspace(owner)
    started = await start_checkout(api, owner, workspace_id, "team", seats=2)
    assert started["userErrors"] == [] and started["checkoutUrl"]
    # Billing is emulated here (no STRIPE_SECRET_KEY): a local front end may be the target.
    for url in ("http://localhost:5173/billing", "http://127.0.0.1:3000/", "http://[::1]:8080/"):
        opened = await portal(api, owner, workspace_id, url)
        assert opened["userErrors"] == [] and opened["url"], (url, opened)
    opened = await portal(api, owner, workspace_id, "HTTPS://App.Example.com:443/billing")
    assert opened["userErrors"] == [] and opened["url"]


# The rule itself ----------------------------------------------------------------------------

LIVE = replace(
    Settings(),
    public_url="https://billing.example.com",
    stripe_secret_key="sk_live_x",
    stripe_webhook_secret="whsec_x",
)


def refused(url: str, settings: Settings) -> str:
    with pytest.raises(DomainError) as caught:
        redirect_url(url, "returnUrl", settings)
    assert caught.value.field == ("input", "returnUrl")
    return caught.value.message


def test_the_default_is_public_urls_origin() -> None:
    assert redirect_url("https://billing.example.com/done", "returnUrl", LIVE)
    assert "not an allowed" in refused("https://app.example.com/done", LIVE)


def test_loopback_only_while_billing_is_emulated() -> None:
    assert "not an allowed" in refused("http://127.0.0.1:3000/", LIVE)
    emulated = replace(LIVE, stripe_secret_key=None)
    assert redirect_url("http://127.0.0.1:3000/", "returnUrl", emulated)


def test_an_explicit_list_replaces_the_default_and_https_is_required() -> None:
    listed = replace(LIVE, allowed_redirect_origins=("https://app.example.com",))
    assert redirect_url("https://app.example.com/x?y=1", "returnUrl", listed)
    assert "not an allowed" in refused("https://billing.example.com/", listed)
    plain = replace(LIVE, public_url="http://billing.example.com")  # PUBLIC_URL over http
    assert "https" in refused("http://billing.example.com/done", plain)


def test_origins_are_normalised() -> None:
    assert origin_of("HTTPS://App.Example.COM:443/a") == "https://app.example.com"
    assert origin_of("http://[::1]:80/") == "http://[::1]"
    assert origin_of("https://app.example.com:99999/") is None
    assert origin_of("https://a\\@b.example/") is None
    assert parse_origin("https://app.example.com/") == "https://app.example.com"
    assert parse_origin("https://app.example.com/path") is None


def test_allowed_redirect_origins_setting() -> None:
    settings = Settings.from_env(
        {"ALLOWED_REDIRECT_ORIGINS": "https://app.example.com/, http://localhost:5173 ,"}
    )
    assert settings.allowed_redirect_origins == (
        "https://app.example.com",
        "http://localhost:5173",
    )
    assert Settings.from_env({}).allowed_redirect_origins == ()
    for bad, says in (
        ("https://app.example.com/billing", "expected origins"),
        ("app.example.com", "expected origins"),
        ("http://app.example.com", "http is allowed only for loopback"),
    ):
        with pytest.raises(ConfigError) as caught:
            Settings.from_env({"ALLOWED_REDIRECT_ORIGINS": bad})
        assert str(caught.value).startswith("ALLOWED_REDIRECT_ORIGINS: ") and says in str(
            caught.value
        )
