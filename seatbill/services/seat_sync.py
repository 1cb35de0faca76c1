"""Automatic seat sync: Stripe's seat quantity follows the members of auto-mode workspaces.

A membership change writes a ``SeatOutbox`` row in the transaction that changes the members
(:func:`enqueue`), so a member operation never waits for, or fails with, Stripe. The
:class:`SeatSyncWorker` (in the API process by default, ``seatbill worker`` when scaled out)
claims due rows, coalesces them per workspace, computes the quantity from the database at
send time and sends one update of the seat item, retrying with exponential backoff and jitter
while Stripe is unavailable. ``Subscription.seat_sync_state`` shows where it stands.
docs/seat-sync.md describes the whole flow.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import stripe
from tortoise.transactions import in_transaction

from seatbill.background import BackgroundLoop, earliest_attempt
from seatbill.catalog import Catalog, SeatMode
from seatbill.metrics import SEAT_SYNC_PASSES
from seatbill.models import (
    ItemRole,
    SeatOutbox,
    SeatSyncState,
    Subscription,
    SubscriptionItem,
    Workspace,
)
from seatbill.services import mirror, seats
from seatbill.services.seat_outbox import (
    MEMBER_JOINED,
    MEMBER_LEFT,
    MEMBER_REMOVED,
    SUBSCRIPTION_LINKED,
    enqueue,
)
from seatbill.services.stripe_gateway import GatewayError, StripeGateway

log = logging.getLogger("seatbill.seat_sync")

# The outbox's writing side lives in seat_outbox (the mirror writes it too); callers may keep
# using these names from here.
__all__ = [
    "MEMBER_JOINED",
    "MEMBER_LEFT",
    "MEMBER_REMOVED",
    "SUBSCRIPTION_LINKED",
    "Backoff",
    "Outcome",
    "Result",
    "SeatSyncConfig",
    "SeatSyncWorker",
    "enqueue",
    "running_workers",
    "wake",
]

# pg_try_advisory_xact_lock(namespace, key): one worker at a time per workspace.
ADVISORY_LOCK_NAMESPACE = 0x5EA7
# Stripe's first invoice is not paid yet; Stripe refuses quantity changes until it is.
_WAIT_STATUSES = ("incomplete",)
_MAX_ROWS_PER_WORKSPACE = 1000


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Backoff:
    """Retry n (1-based) waits ``min(max, base * 2**(n-1))`` scaled by a random factor in
    [0.5, 1] ("equal jitter"), so workers that failed together do not retry together."""

    base_seconds: float = 1.0
    max_seconds: float = 300.0

    def ceiling(self, attempt: int) -> float:
        return float(min(self.max_seconds, self.base_seconds * 2 ** max(0, attempt - 1)))

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        return self.ceiling(attempt) * (0.5 + 0.5 * rand())


@dataclass(frozen=True)
class SeatSyncConfig:
    poll_seconds: float = 1.0  # rows written by other processes are found this often
    debounce_seconds: float = 0.2  # a burst of changes is sent once it pauses this long ...
    max_wait_seconds: float = 2.0  # ... or once this much time passed since it began
    workspaces_per_pass: int = 100
    backoff: Backoff = field(default_factory=Backoff)
    wait_retry_seconds: float = 1.0  # an incomplete subscription is looked at again after this
    stop_timeout_seconds: float = 10.0


# SQLite only: workspaces some worker of this process is syncing right now.
_in_hand: set[uuid.UUID] = set()


def wake() -> None:
    """Tell this process's workers that a membership change committed (rows written by other
    processes are found by polling; correctness never depends on this)."""
    SeatSyncWorker.wake_all()


def running_workers() -> list[SeatSyncWorker]:
    return SeatSyncWorker.running_loops()


class Result(StrEnum):
    SYNCED = "synced"  # Stripe now bills the quantity
    UNCHANGED = "unchanged"  # Stripe already billed it; nothing sent
    SKIPPED = "skipped"  # nothing to keep in sync: no live subscription, or a licensed plan
    WAITING = "waiting"  # the subscription cannot take the change yet; looked at again later
    RETRY = "retry"  # Stripe unavailable (429, 5xx, network); retried with backoff
    FAILED = "failed"  # Stripe refused (e.g. 400); recorded on the subscription


@dataclass(frozen=True)
class Outcome:
    result: Result
    quantity: int | None = None
    error: str | None = None  # safe to show: the gateway's message, never Stripe's
    subscription: Subscription | None = None
    stripe_subscription: stripe.Subscription | None = None


def advisory_key(workspace_id: uuid.UUID) -> int:
    """A signed 32-bit key for the workspace (collisions only make two workspaces wait)."""
    return zlib.crc32(workspace_id.bytes) - 2**31


class SeatSyncWorker(BackgroundLoop):
    """Claims outbox rows and sends one seat quantity update per workspace and pass.

    On PostgreSQL any number of workers may run: each workspace is synced inside a
    transaction holding an advisory lock for it, with its outbox rows claimed ``FOR UPDATE
    SKIP LOCKED``, so two workers never send for one workspace at once. SQLite is one process
    with one worker by design: there the Stripe call runs outside any transaction, since a
    SQLite transaction locks the whole database.
    """

    task_name = "seat-sync"

    def __init__(
        self,
        gateway: StripeGateway,
        catalog: Catalog,
        *,
        dialect: str,
        config: SeatSyncConfig | None = None,
    ) -> None:
        self.gateway = gateway
        self.catalog = catalog
        self.dialect = dialect
        self.config = config or SeatSyncConfig()
        super().__init__(self.config.stop_timeout_seconds)

    # Lifecycle ----------------------------------------------------------------------

    async def run(self) -> None:
        """Until stopped: a pass now, then whenever a change is signalled (once the burst
        settles), a retry falls due, or the poll interval passes."""
        while not self._stopping:
            handled, next_due = 0, None
            try:
                handled, next_due = await self.run_pass()
            except Exception:
                log.exception("seat sync pass failed; trying again shortly")
            if self._stopping:
                break
            if handled >= self.config.workspaces_per_pass:
                continue  # more is due right now
            timeout = self.config.poll_seconds
            if next_due is not None:
                until = (next_due - now()).total_seconds()
                # Never spin: a due row may be in another worker's hands right now.
                timeout = min(timeout, max(self.config.debounce_seconds, until, 0.05))
            if await self._wait(timeout):
                await self._settle()

    async def _wait(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._wakeup.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _settle(self) -> None:
        """Trailing debounce: wait until no change arrived for ``debounce_seconds``, at most
        ``max_wait_seconds`` in all, so a burst of joins becomes one update."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.max_wait_seconds
        while not self._stopping:
            self._wakeup.clear()
            left = deadline - loop.time()
            if left <= 0 or not await self._wait(min(self.config.debounce_seconds, left)):
                return

    # One pass -----------------------------------------------------------------------

    async def run_pass(self) -> tuple[int, datetime | None]:
        """Sync every workspace with due outbox rows (up to ``workspaces_per_pass``); returns
        how many were looked at and when the next row falls due."""
        due = await (
            SeatOutbox.filter(processed_at__isnull=True, next_attempt_at__lte=now())
            .order_by("next_attempt_at", "id")
            .limit(self.config.workspaces_per_pass * 20)
            .values_list("workspace_id", flat=True)
        )
        workspace_ids = list(dict.fromkeys(uuid.UUID(str(w)) for w in due))
        workspace_ids = workspace_ids[: self.config.workspaces_per_pass]
        for workspace_id in workspace_ids:
            if self._stopping:
                break
            await self.sync_workspace(workspace_id)
        next_due = await earliest_attempt(SeatOutbox.filter(processed_at__isnull=True))
        return len(workspace_ids), next_due

    async def sync_workspace(self, workspace_id: uuid.UUID) -> Outcome | None:
        """Bring Stripe's seat quantity for one workspace in line with its members; None when
        nothing was due or another worker holds the workspace."""
        claimed: list[SeatOutbox] = []
        try:
            async with self._exclusive(workspace_id) as mine:
                if not mine:
                    return None
                claimed = await self._claim(workspace_id)
                if not claimed:
                    return None
                outcome = await self._sync(workspace_id, claimed)
                await self._record(workspace_id, claimed, outcome)
        except Exception:
            log.exception("seat sync for workspace %s failed", workspace_id)
            if claimed:
                SEAT_SYNC_PASSES.labels("crashed").inc()
                await self._after_crash(claimed)
            return None
        SEAT_SYNC_PASSES.labels(outcome.result.value).inc()
        self._log(workspace_id, claimed, outcome)
        return outcome

    @asynccontextmanager
    async def _exclusive(self, workspace_id: uuid.UUID) -> AsyncIterator[bool]:
        if self.dialect != "postgres":
            # SQLite is one process: a set of this process's workspaces in hand suffices.
            if workspace_id in _in_hand:
                yield False
                return
            _in_hand.add(workspace_id)
            try:
                yield True
            finally:
                _in_hand.discard(workspace_id)
            return
        async with in_transaction() as conn:
            rows = await conn.execute_query_dict(
                "SELECT pg_try_advisory_xact_lock($1, $2) AS mine",
                [ADVISORY_LOCK_NAMESPACE, advisory_key(workspace_id)],
            )
            yield bool(rows[0]["mine"])

    async def _claim(self, workspace_id: uuid.UUID) -> list[SeatOutbox]:
        """Every unprocessed row of the workspace, if any is due: one send covers them all,
        including rows waiting out a backoff."""
        rows: list[SeatOutbox] = (
            await SeatOutbox.filter(workspace_id=workspace_id, processed_at__isnull=True)
            .select_for_update(skip_locked=True)
            .order_by("id")
            .limit(_MAX_ROWS_PER_WORKSPACE)
        )
        stamp = now()
        return rows if any(row.next_attempt_at <= stamp for row in rows) else []

    async def _sync(self, workspace_id: uuid.UUID, rows: Sequence[SeatOutbox]) -> Outcome:
        workspace = await Workspace.get_or_none(id=workspace_id)
        if workspace is None or workspace.deleted_at is not None:
            return Outcome(Result.SKIPPED)
        subscription = await mirror.live_subscription(workspace_id)
        if subscription is None:
            return Outcome(Result.SKIPPED)
        plan = seats.plan_of(subscription, self.catalog)
        if plan is None:
            log.warning(
                "subscription %s has no plan from the catalog; seats not synced",
                subscription.stripe_id,
            )
            return Outcome(Result.SKIPPED, subscription=subscription)
        if plan.seat_mode is not SeatMode.AUTO:
            return Outcome(Result.SKIPPED, subscription=subscription)
        if subscription.status in _WAIT_STATUSES:
            return Outcome(
                Result.WAITING,
                error="Waiting for the subscription's first payment",
                subscription=subscription,
            )
        item = await SubscriptionItem.filter(subscription=subscription, role=ItemRole.SEAT).first()
        if item is None:
            return Outcome(
                Result.FAILED,
                error="The subscription has no seat item to update",
                subscription=subscription,
            )
        quantity = seats.auto_quantity(await seats.billable_count(workspace_id))
        if item.quantity == quantity and subscription.seat_quantity == quantity:
            return Outcome(Result.UNCHANGED, quantity, subscription=subscription)
        try:
            updated = await self.gateway.update_seat_quantity(
                subscription.stripe_id,
                item.stripe_id,
                quantity,
                covered_change=max(row.id for row in rows),
                attempt=max(row.attempts for row in rows),
            )
        except GatewayError as exc:
            result = Result.RETRY if exc.retryable else Result.FAILED
            return Outcome(result, quantity, exc.message, subscription)
        return Outcome(
            Result.SYNCED, quantity, subscription=subscription, stripe_subscription=updated
        )

    async def _record(
        self, workspace_id: uuid.UUID, rows: Sequence[SeatOutbox], outcome: Outcome
    ) -> None:
        ids = [row.id for row in rows]
        stamp = now()
        async with in_transaction():  # a savepoint inside the PostgreSQL claim
            if outcome.result is Result.RETRY:
                attempt = max(row.attempts for row in rows) + 1
                await SeatOutbox.filter(id__in=ids).update(
                    attempts=attempt,
                    next_attempt_at=stamp + timedelta(seconds=self.config.backoff.delay(attempt)),
                    last_error=outcome.error,
                )
            elif outcome.result is Result.WAITING:
                await SeatOutbox.filter(id__in=ids).update(
                    next_attempt_at=stamp + timedelta(seconds=self.config.wait_retry_seconds),
                    last_error=outcome.error,
                )
            else:
                await SeatOutbox.filter(id__in=ids).update(
                    processed_at=stamp, last_error=outcome.error
                )
            if outcome.stripe_subscription is not None:
                await mirror.sync_subscription(
                    outcome.stripe_subscription,
                    observed_at=int(stamp.timestamp()),
                    workspace_id=workspace_id,
                    catalog=self.catalog,
                    gateway=self.gateway,
                )
            if outcome.subscription is not None:
                await self._record_state(workspace_id, outcome, ids, stamp)

    async def _record_state(
        self, workspace_id: uuid.UUID, outcome: Outcome, ids: list[int], stamp: datetime
    ) -> None:
        assert outcome.subscription is not None
        state: dict[str, object]
        if outcome.result is Result.RETRY:
            state = {"seat_sync_state": SeatSyncState.PENDING, "seat_sync_error": outcome.error}
        elif outcome.result is Result.WAITING:  # not an error: Stripe takes it once paid
            state = {"seat_sync_state": SeatSyncState.PENDING, "seat_sync_error": None}
        elif outcome.result is Result.FAILED:
            state = {"seat_sync_state": SeatSyncState.FAILED, "seat_sync_error": outcome.error}
        else:
            # Changes that arrived meanwhile keep it PENDING until their own pass.
            waiting = (
                await SeatOutbox.filter(workspace_id=workspace_id, processed_at__isnull=True)
                .exclude(id__in=ids)
                .exists()
            )
            state = {
                "seat_sync_state": SeatSyncState.PENDING if waiting else SeatSyncState.SYNCED,
                "seat_sync_error": None,
            }
            if outcome.result in (Result.SYNCED, Result.UNCHANGED):
                state["seat_synced_at"] = stamp
        await Subscription.filter(id=outcome.subscription.id).update(**state)

    async def _after_crash(self, rows: Sequence[SeatOutbox]) -> None:
        """An unexpected error (a bug, the database): back off instead of spinning."""
        attempt = max(row.attempts for row in rows) + 1
        try:
            await SeatOutbox.filter(id__in=[row.id for row in rows]).update(
                attempts=attempt,
                next_attempt_at=now() + timedelta(seconds=self.config.backoff.delay(attempt)),
                last_error="Internal error; will retry",
            )
        except Exception:
            log.exception("could not reschedule seat outbox rows")

    def _log(self, workspace_id: uuid.UUID, rows: Sequence[SeatOutbox], outcome: Outcome) -> None:
        subscription = outcome.subscription.stripe_id if outcome.subscription else None
        if outcome.result in (Result.SYNCED, Result.UNCHANGED, Result.SKIPPED):
            log.info(
                "seat sync workspace=%s subscription=%s changes=%d: %s%s",
                workspace_id,
                subscription,
                len(rows),
                outcome.result,
                f" quantity={outcome.quantity}" if outcome.quantity is not None else "",
            )
        else:
            log.warning(
                "seat sync workspace=%s subscription=%s changes=%d attempt=%d: %s (%s)",
                workspace_id,
                subscription,
                len(rows),
                max(row.attempts for row in rows) + 1,
                outcome.result,
                outcome.error,
            )
