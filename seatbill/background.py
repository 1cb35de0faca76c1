"""A background loop in the API process (or a worker process): started and stopped with the
app, woken at once by :meth:`BackgroundLoop.notify` from any thread. The seat-sync worker and
the webhook event processor are both one."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, ClassVar, Self

from tortoise.queryset import QuerySet


class BackgroundLoop:
    """Runs :meth:`run` as a task until :meth:`stop`; ``run`` waits on ``self._wakeup`` and
    ends once ``self._stopping`` is set. Each subclass keeps the loops of its kind running in
    this process (:meth:`running_loops`), which :meth:`wake_all` notifies."""

    task_name = "background"
    _instances: ClassVar[set[BackgroundLoop]]

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls._instances = set()

    @classmethod
    def running_loops(cls) -> list[Self]:
        return [loop for loop in list(cls._instances) if isinstance(loop, cls)]

    @classmethod
    def wake_all(cls) -> None:
        for loop in cls.running_loops():
            loop.notify()

    def __init__(self, stop_timeout_seconds: float) -> None:
        self._stop_timeout_seconds = stop_timeout_seconds
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    async def run(self) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        if self._task is not None:
            return
        self._stopping = False
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self.run(), name=self.task_name)
        type(self)._instances.add(self)

    async def stop(self) -> None:
        """Finish the work in hand (bounded by the stop timeout), then stop."""
        type(self)._instances.discard(self)
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wakeup.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), self._stop_timeout_seconds)
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def notify(self) -> None:
        """Wake the loop: from its own event loop, or from any other thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wakeup.set()
        else:
            loop.call_soon_threadsafe(self._wakeup.set)


async def earliest_attempt(pending: QuerySet[Any]) -> datetime | None:
    """When the first of ``pending`` (rows with a ``next_attempt_at``: the seat outbox, the
    webhook inbox) is due, so a loop can sleep until then; None when there is none."""
    upcoming = (
        await pending.order_by("next_attempt_at").limit(1).values_list("next_attempt_at", flat=True)
    )
    found = upcoming[0] if upcoming else None
    return found if isinstance(found, datetime) else None
