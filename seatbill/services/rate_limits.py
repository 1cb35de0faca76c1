"""Rate limits on what creates rows or calls Stripe, per user and per workspace.

Counters live in the database (``rate_limit_window``), so every API process on one PostgreSQL
database shares them. Each limit is a fixed window (``RATE_LIMIT_PER_USER=60/minute``: at most
60 calls in each clock minute): a call counts with one atomic upsert-increment per limit,

    INSERT ... ON CONFLICT (bucket) DO UPDATE SET hits = hits + 1 RETURNING hits

and the user's and the workspace's counts move in one transaction that is rolled back when
either is over its limit, so a refused call uses up nothing. Concurrent calls on PostgreSQL
queue on the counter row, which makes the count exact across processes; SQLite (>= 3.35 for
``RETURNING``) serialises writers anyway. Windows that have ended are deleted by each process
at most once a minute, through the index on ``expires_at``.

A service calls ``check`` once the viewer is known to be allowed and before anything changes
or reaches Stripe (checking after the role check, so nobody can use up another workspace's
budget); adding an operation is that one line.
"""

from __future__ import annotations

import logging
import math
import time
import uuid

from tortoise.transactions import in_transaction

from seatbill.config import RateLimit, Settings
from seatbill.services.errors import DomainError, ErrorCode

log = logging.getLogger("seatbill.rate_limits")

TABLE = "rate_limit_window"
CLEANUP_EVERY_SECONDS = 60.0
_last_cleanup = 0.0  # per process: when this process last deleted ended windows


def _upsert(dialect: str) -> str:
    values = "(?, ?, 1)" if dialect == "sqlite" else "($1, $2, 1)"
    return (
        f'INSERT INTO "{TABLE}" ("bucket", "expires_at", "hits") VALUES {values} '
        f'ON CONFLICT ("bucket") DO UPDATE SET "hits" = "{TABLE}"."hits" + 1 '
        'RETURNING "hits"'
    )


def _window(rate: RateLimit, now: float) -> tuple[int, int]:
    """The fixed window ``now`` falls in: (start, end) in unix seconds."""
    start = int(now) - int(now) % rate.seconds
    return start, start + rate.seconds


def retry_message(seconds: int) -> str:
    unit = "second" if seconds == 1 else "seconds"
    return f"Too many requests: try again in {seconds} {unit}"


async def check(
    settings: Settings,
    operation: str,
    user_id: uuid.UUID,
    workspace_id: uuid.UUID | None = None,
    *,
    now: float | None = None,
) -> None:
    """Count one call of ``operation`` by the user (and on the workspace), or refuse it with
    ``RATE_LIMITED`` (``retry_after``: seconds until the window that refused it ends)."""
    limits: list[tuple[str, RateLimit]] = []
    if settings.rate_limit_per_user is not None:
        limits.append((f"user:{user_id}", settings.rate_limit_per_user))
    if workspace_id is not None and settings.rate_limit_per_workspace is not None:
        limits.append((f"workspace:{workspace_id}", settings.rate_limit_per_workspace))
    if not limits:
        return
    at = time.time() if now is None else now
    async with in_transaction() as conn:
        sql = _upsert(conn.capabilities.dialect)
        for subject, rate in limits:
            start, end = _window(rate, at)
            # execute_query_dict: asyncpg's execute_query drops an INSERT's RETURNING rows.
            bucket = f"{subject}:{rate.seconds}:{start}"
            rows = await conn.execute_query_dict(sql, [bucket, end])
            if int(rows[0]["hits"]) > rate.count:
                retry_after = max(1, math.ceil(end - at))
                log.info("rate limited: %s by %s (%s)", operation, subject, rate)
                # Raising rolls the transaction back: the refused call counts nowhere.
                raise DomainError(
                    ErrorCode.RATE_LIMITED, retry_message(retry_after), retry_after=retry_after
                )
    await _cleanup(at)


async def _cleanup(now: float) -> None:
    """Delete the windows that have ended, at most once a minute per process."""
    global _last_cleanup
    if now - _last_cleanup < CLEANUP_EVERY_SECONDS:
        return
    _last_cleanup = now
    async with in_transaction() as conn:
        placeholder = "?" if conn.capabilities.dialect == "sqlite" else "$1"
        await conn.execute_query(
            f'DELETE FROM "{TABLE}" WHERE "expires_at" <= {placeholder}', [int(now)]
        )
