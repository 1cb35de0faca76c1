"""Billing periods: calendar arithmetic the way Stripe anchors them (UTC, month-end clamped)."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

DAY = 86400


def add_intervals(anchor: int, interval: str, count: int, n: int) -> int:
    """``anchor`` plus ``n`` x ``count`` intervals; months keep the anchor's day, clamped."""
    start = datetime.fromtimestamp(anchor, UTC)
    if interval == "day":
        return anchor + n * count * DAY
    if interval == "week":
        return anchor + n * count * 7 * DAY
    months = n * count * (12 if interval == "year" else 1)
    if interval not in ("month", "year"):
        raise ValueError(f"unknown interval {interval}")
    total = start.year * 12 + (start.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    moved = start.replace(year=year, month=month, day=day)
    return int(moved.timestamp())


def fmt_date(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%d %b %Y")


def days(n: float) -> int:
    return int(timedelta(days=n).total_seconds())
