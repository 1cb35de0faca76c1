"""Rate-limit counters: one row per (scope, subject, window), shared by every API process."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class RateLimitWindow(Model):
    """Calls counted in one fixed window of one user or workspace.

    ``bucket`` is ``scope:subject:window_seconds:window_start`` (e.g.
    ``user:<id>:60:1767225600``), so one atomic upsert-increment counts a call; rows whose
    window has ended are deleted by ``expires_at``.
    """

    bucket = fields.CharField(max_length=128, primary_key=True)
    hits = fields.IntField(default=0)
    expires_at = fields.BigIntField(db_index=True)  # unix seconds: the window's end

    class Meta:
        table = "rate_limit_window"
