"""Rate limits on what creates rows or calls Stripe: per user and per workspace, counted in the
database (so every API process shares them), refused with RATE_LIMITED before anything changes
or reaches Stripe. Each test serves an app of its own with tight limits beside the session's."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from seatbill.config import ConfigError, RateLimit, Settings
from seatbill.models import Invitation, Membership, RateLimitWindow, Workspace
from seatbill.services import rate_limits
from seatbill.services.errors import DomainError, ErrorCode
from seatbill.services.stripe_gateway import StripeGateway
from stripe_emulator import EmulatorServer
from tests.billing_support import (
    CANCEL,
    PREVIEW_PLAN,
    PREVIEW_SEATS,
    SUCCESS,
    Subscribed,
    billing,
    seat_quantity,
    stripe_subscription,
    subscribe,
)
from tests.conftest import Api, Stack, serve
from tests.test_scale_out import (
    POSTGRES_URL,
    SCALE_JWT_SECRET,
    free_port,
    migrate_once,
    process_env,
    processes,
    scale_out_database,
    spawn,
    wait_healthy,
)

T = TypeVar("T")
DAY = 86400
__all__ = ["billing", "scale_out_database"]


# Settings ---------------------------------------------------------------------------------


def test_defaults_allow_an_interactive_app() -> None:
    settings = Settings.from_env({})
    assert settings.rate_limit_per_user == RateLimit(60, 60)
    assert settings.rate_limit_per_workspace == RateLimit(120, 60)
    assert Settings().rate_limit_per_user == settings.rate_limit_per_user


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("100/minute", RateLimit(100, 60)),
        ("5/second", RateLimit(5, 1)),
        (" 1000/Hour ", RateLimit(1000, 3600)),
        ("7/day", RateLimit(7, DAY)),
        ("10/30s", RateLimit(10, 30)),
        ("off", None),
    ],
)
def test_rate_settings_parse(raw: str, expected: RateLimit | None) -> None:
    for name in ("RATE_LIMIT_PER_USER", "RATE_LIMIT_PER_WORKSPACE"):
        settings = Settings.from_env({name: raw})
        found = (
            settings.rate_limit_per_user
            if name == "RATE_LIMIT_PER_USER"
            else settings.rate_limit_per_workspace
        )
        assert found == expected


@pytest.mark.parametrize("raw", ["60", "sixty/minute", "0/minute", "60/fortnight", "5/0s", "1/2d"])
def test_bad_rate_setting_is_one_line_naming_it(raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"RATE_LIMIT_PER_WORKSPACE": raw})
    message = str(caught.value)
    assert message.startswith("RATE_LIMIT_PER_WORKSPACE: ") and "\n" not in message


# The counter ------------------------------------------------------------------------------


async def test_fixed_windows_refused_calls_count_nowhere_and_ended_windows_go(
    api: Api,  # the session's server has the ORM open
) -> None:
    settings = replace(
        Settings(), rate_limit_per_user=RateLimit(2, 60), rate_limit_per_workspace=RateLimit(1, 60)
    )
    user, ws1, ws2, ws3 = (uuid.uuid4() for _ in range(4))
    start = 1_000_000_020  # a multiple of 60
    at = start + 15
    await rate_limits.check(settings, "op", user, ws1, now=at)
    with pytest.raises(DomainError) as refused:
        await rate_limits.check(settings, "op", user, ws1, now=at)  # the workspace's second
    assert refused.value.code is ErrorCode.RATE_LIMITED
    assert refused.value.retry_after == 45
    assert refused.value.message == "Too many requests: try again in 45 seconds"
    # The refused call did not use the user's budget: a call on another workspace still fits.
    await rate_limits.check(settings, "op", user, ws2, now=at + 1)
    with pytest.raises(DomainError) as refused:
        await rate_limits.check(settings, "op", user, ws3, now=start + 59.5)
    assert refused.value.retry_after == 1
    counted = await RateLimitWindow.get(bucket=f"user:{user}:60:{start}")
    assert counted.hits == 2 and counted.expires_at == start + 60
    assert not await RateLimitWindow.exists(bucket=f"workspace:{ws3}:60:{start}")
    # The next window starts from zero; ended windows are deleted on the next cleanup.
    rate_limits._last_cleanup = 0.0
    await rate_limits.check(settings, "op", user, ws3, now=start + 60)
    assert not await RateLimitWindow.exists(bucket=f"user:{user}:60:{start}")
    assert not await RateLimitWindow.exists(bucket=f"workspace:{ws1}:60:{start}")
    assert (await RateLimitWindow.get(bucket=f"user:{user}:60:{start + 60}")).hits == 1


async def test_off_counts_nothing(api: Api) -> None:
    settings = replace(Settings(), rate_limit_per_user=None, rate_limit_per_workspace=None)
    user = uuid.uuid4()
    for _ in range(5):
        await rate_limits.check(settings, "op", user, uuid.uuid4())
    assert not await RateLimitWindow.filter(bucket__startswith=f"user:{user}:").exists()


# Through the API --------------------------------------------------------------------------


async def away_from_window_edge(seconds: int = DAY, margin: float = 60.0) -> None:
    """Tests count in windows of a day: start a burst well inside one."""
    left = seconds - time.time() % seconds
    if left < margin:
        await asyncio.sleep(left + 1)


class CountingGateway(StripeGateway):
    """Counts the calls the app makes to Stripe."""

    calls = 0

    async def _call(self, call: Awaitable[T]) -> T:
        self.calls += 1
        return await super()._call(call)


@asynccontextmanager
async def limited_api(
    stack: Stack, per_user: RateLimit | None, per_workspace: RateLimit | None
) -> AsyncIterator[tuple[Api, CountingGateway]]:
    """An app of its own on the session's database and emulator, with these limits."""
    gateway = CountingGateway("sk_test_seatbill", api_base=stack.emulator.url)
    settings = replace(
        stack.settings,
        rate_limit_per_user=per_user,
        rate_limit_per_workspace=per_workspace,
        seat_sync_in_process=False,
    )
    async with (
        serve(settings, gateway=gateway, manage_orm=False) as url,
        httpx.AsyncClient(timeout=30) as http,
    ):
        yield Api(url, settings, http), gateway


def assert_rate_limited_error(error: dict[str, Any]) -> int:
    """A RATE_LIMITED userError; returns the seconds its message says to wait."""
    assert error["code"] == "RATE_LIMITED", error
    found = re.fullmatch(r"Too many requests: try again in (\d+) seconds?", error["message"])
    assert found, error
    seconds = int(found.group(1))
    assert 0 < seconds <= DAY
    return seconds


async def test_per_user_limit_refuses_create_workspace_with_a_retry_time(
    api: Api, stack: Stack
) -> None:
    await away_from_window_edge()
    async with limited_api(stack, RateLimit(3, DAY), None) as (limited, _):
        owner, other = limited.person("burst"), limited.person("other")
        for n in range(3):
            await limited.create_workspace(owner, f"Burst {n}")
        refused = await limited.mutate(
            "createWorkspace", {"name": "One too many"}, owner, "workspace { id }"
        )
        assert refused["workspace"] is None
        [error] = refused["userErrors"]
        assert error["field"] is None
        assert_rate_limited_error(error)
        # Nothing was created; another person has a budget of their own.
        mine = await limited.data("{ workspaces { name } }", who=owner)
        assert sorted(w["name"] for w in mine["workspaces"]) == ["Burst 0", "Burst 1", "Burst 2"]
        await limited.create_workspace(other, "Other")


async def test_per_workspace_limit_counts_every_manager(api: Api, stack: Stack) -> None:
    await away_from_window_edge()
    async with limited_api(stack, RateLimit(100, DAY), RateLimit(3, DAY)) as (limited, _):
        owner, admin = limited.person("owner"), limited.person("admin")
        ws = await limited.create_workspace(owner, "Team")
        other_ws = await limited.create_workspace(owner, "Elsewhere")
        await limited.join(owner, ws, admin, "ADMIN")  # the workspace's first call
        assert (await limited.invite(owner, ws, "a@example.com"))["userErrors"] == []
        assert (await limited.invite(admin, ws, "b@example.com"))["userErrors"] == []
        for who in (owner, admin):
            refused = await limited.invite(who, ws, f"{who.sub}@example.com")
            assert refused["invitation"] is None and refused["token"] is None
            assert_rate_limited_error(refused["userErrors"][0])
        emails = await Invitation.filter(workspace_id=ws).values_list("email", flat=True)
        assert sorted(emails) == sorted([admin.email, "a@example.com", "b@example.com"])
        # Another workspace of the same owner is not affected.
        assert (await limited.invite(owner, other_ws, "c@example.com"))["userErrors"] == []
        # Someone who is not a manager there cannot use up its budget.
        stranger = limited.person("stranger")
        for n in range(3):
            denied = await limited.invite(stranger, other_ws, f"s{n}@example.com")
            assert denied["userErrors"][0]["code"] == "NOT_FOUND"
        for n in range(2):
            assert (await limited.invite(owner, other_ws, f"o{n}@example.com"))["userErrors"] == []


MUTATIONS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "startCheckout",
        "sessionId",
        {
            "planId": "team",
            "interval": "MONTH",
            "seats": 2,
            "successUrl": SUCCESS,
            "cancelUrl": CANCEL,
        },
    ),
    ("updateSeats", "subscription { id }", {"seats": 5}),
    ("switchPlan", "subscription { id }", {"planId": "team", "interval": "YEAR"}),
    ("cancelSubscription", "subscription { id }", {"atPeriodEnd": True}),
    ("resumeSubscription", "subscription { id }", {}),
    ("openBillingPortal", "url", {"returnUrl": CANCEL}),
    ("inviteMember", "token", {"email": "late@example.com", "role": "MEMBER"}),
    ("deleteWorkspace", "deletedWorkspaceId", {}),
]


async def test_refused_calls_change_nothing_and_never_reach_stripe(
    api: Api, billing: Stack
) -> None:
    subscribed: Subscribed = await subscribe(api, billing, "team", seats=2)
    owner, ws = subscribed.owner, subscribed.workspace_id
    before = await stripe_subscription(billing, subscribed.subscription_id)
    await away_from_window_edge()
    async with limited_api(billing, RateLimit(100, DAY), RateLimit(1, DAY)) as (limited, stripe):
        # The workspace's one call a day: a preview, which asks Stripe.
        preview = await limited.data(PREVIEW_SEATS, {"ws": ws, "seats": 3}, owner)
        assert preview["previewSeatChange"]["amountDueNow"] > 0
        assert stripe.calls > 0
        stripe.calls = 0
        for name, selection, fields in MUTATIONS:
            payload = await limited.mutate(name, {"workspaceId": ws, **fields}, owner, selection)
            assert len(payload["userErrors"]) == 1, (name, payload)
            assert_rate_limited_error(payload["userErrors"][0])
            assert all(value is None for key, value in payload.items() if key != "userErrors")
        for query, variables in (
            (PREVIEW_SEATS, {"ws": ws, "seats": 4}),
            (PREVIEW_PLAN, {"ws": ws, "plan": "team", "interval": "YEAR"}),
        ):
            body = await limited.raw(query, variables, owner)
            assert body["data"] is None
            [error] = body["errors"]
            assert error["extensions"]["code"] == "RATE_LIMITED"
            retry_after = error["extensions"]["retryAfter"]
            assert isinstance(retry_after, int) and 0 < retry_after <= DAY
            assert error["message"].startswith("Too many requests: try again in ")
        assert stripe.calls == 0
    # Nothing changed: the subscription, its invoices, the workspace, its invitations.
    after = await stripe_subscription(billing, subscribed.subscription_id)
    assert seat_quantity(after) == seat_quantity(before) == 2
    assert after.status == "active" and not after.cancel_at_period_end
    assert after.latest_invoice == before.latest_invoice
    assert await Workspace.filter(id=ws, deleted_at__isnull=True).exists()
    assert not await Invitation.filter(workspace_id=ws).exists()
    assert await Membership.filter(workspace_id=ws).count() == 1


# Two API processes on one PostgreSQL database -------------------------------------------


@pytest.mark.skipif(
    not POSTGRES_URL.startswith("postgres"),
    reason="SQLite is one process by design; the multi-process test runs on PostgreSQL (CI)",
)
async def test_two_api_processes_share_the_limits_exactly(
    scale_out_database: str, tmp_path: Path
) -> None:
    """A burst split over two `seatbill serve` processes: exactly the limit is accepted,
    per user and per workspace."""
    api_ports = [free_port(), free_port()]
    emulator = EmulatorServer().start()
    env = process_env(
        scale_out_database,
        emulator.url,
        f"whsec_limits_{uuid.uuid4().hex}",
        SEAT_SYNC_WORKER="external",
        RATE_LIMIT_PER_USER="7/day",
        RATE_LIMIT_PER_WORKSPACE="5/day",
    )
    try:
        await migrate_once(env)
        with processes(tmp_path) as started:
            apis = [
                spawn(
                    started,
                    tmp_path,
                    f"api{n}",
                    ["serve"],
                    {**env, "PORT": str(port), "PUBLIC_URL": f"http://127.0.0.1:{port}"},
                )
                for n, port in enumerate(api_ports)
            ]
            async with httpx.AsyncClient(timeout=30) as http:
                urls = [f"http://127.0.0.1:{port}" for port in api_ports]
                for url, proc in zip(urls, apis, strict=True):
                    await wait_healthy(http, url, proc)
                one, two = (Api(url, Settings(jwt_secret=SCALE_JWT_SECRET), http) for url in urls)
                await away_from_window_edge()
                await _burst_per_user(one, two)
                await _burst_per_workspace(one, two)
    finally:
        emulator.stop()


async def _burst_per_user(one: Api, two: Api) -> None:
    person = one.person("burst")
    answers = await asyncio.gather(
        *(
            api.mutate("createWorkspace", {"name": f"W{n}"}, person, "workspace { id }")
            for n, api in enumerate([one, two] * 10)
        )
    )
    accepted = [a for a in answers if a["userErrors"] == []]
    refused = [a for a in answers if a["userErrors"]]
    assert len(accepted) == 7, answers
    for answer in refused:
        assert_rate_limited_error(answer["userErrors"][0])
    listed = await two.data("{ workspaces { id } }", who=person)
    assert sorted(w["id"] for w in listed["workspaces"]) == sorted(
        a["workspace"]["id"] for a in accepted
    )


async def _burst_per_workspace(one: Api, two: Api) -> None:
    owner, admin = one.person("owner"), one.person("admin")
    ws = await one.create_workspace(owner, "Shared")
    await one.join(owner, ws, admin, "ADMIN")  # the workspace's first call of five
    answers = await asyncio.gather(
        *(
            api.invite(who, ws, f"p{n}@example.com")
            for n, (api, who) in enumerate([(one, owner), (two, admin)] * 6)
        )
    )
    accepted = [a for a in answers if a["userErrors"] == []]
    assert len(accepted) == 4, answers
    for answer in answers:
        if answer["userErrors"]:
            assert_rate_limited_error(answer["userErrors"][0])
    listed = await two.data(
        "query($id: ID!) { workspace(id: $id) { invitations { email } } }", {"id": ws}, owner
    )
    emails = {i["email"] for i in listed["workspace"]["invitations"]}
    assert emails >= {a["invitation"]["email"] for a in accepted}
