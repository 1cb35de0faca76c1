"""The emulator's parts wired together: state, router, faults, webhook delivery."""

from __future__ import annotations

from dataclasses import dataclass

from stripe_emulator.faults import Faults
from stripe_emulator.persist import StateFile
from stripe_emulator.protocol import Obj
from stripe_emulator.routes import build_router
from stripe_emulator.routes.core import Router
from stripe_emulator.store import State
from stripe_emulator.webhooks import Deliverer, Target


@dataclass
class Options:
    webhook_url: str | None = None
    webhook_secret: str | None = None
    shuffle_webhooks: bool = False
    duplicate_webhooks: float = 0.0
    webhook_retry_base: float = 0.05
    webhook_max_attempts: int = 5
    seed: int | None = None
    # Keep the state in this file across restarts (see stripe_emulator.persist).
    state_path: str | None = None


class Emulator:
    def __init__(self, options: Options | None = None) -> None:
        self.options = options or Options()
        self.state = State()
        self.router: Router = build_router()
        self.faults = Faults(self.options.seed)
        self.deliverer = Deliverer(
            retry_base=self.options.webhook_retry_base,
            max_attempts=self.options.webhook_max_attempts,
            shuffle=self.options.shuffle_webhooks,
            duplicate_rate=self.options.duplicate_webhooks,
            seed=self.options.seed,
            on_done=self._delivered,
        )
        self.state.on_event = self._route_event
        self.state_file: StateFile | None = None
        if self.options.state_path:
            self.state_file = StateFile(self.options.state_path, self.state)
            self.state_file.load()

    def changed(self) -> None:
        """Something may have changed: the state file (if any) is written shortly."""
        if self.state_file is not None:
            self.state_file.changed()

    def _targets(self, event_type: str) -> list[Target]:
        targets = []
        for endpoint in self.state.all("webhook_endpoint"):
            enabled = endpoint["enabled_events"]
            if endpoint["status"] == "enabled" and ("*" in enabled or event_type in enabled):
                targets.append(
                    Target(
                        endpoint["url"],
                        endpoint["_secret"],
                        endpoint["id"],
                        endpoint["api_version"],
                    )
                )
        targets.reverse()  # oldest endpoint first
        if self.options.webhook_url and self.options.webhook_secret:
            targets.append(Target(self.options.webhook_url, self.options.webhook_secret, None))
        return targets

    def _route_event(self, event: Obj) -> int:
        targets = self._targets(str(event["type"]))
        if targets:
            self.deliverer.enqueue(event, targets)
        return len(targets)

    def _delivered(self, event_id: str) -> None:
        with self.state.lock:
            event = self.state.objects.get(event_id)
            if event is not None:
                event["pending_webhooks"] = max(0, int(event["pending_webhooks"]) - 1)
        self.changed()

    def reset(self) -> None:
        """Forget every object, event and delivery (faults stay; reset those separately)."""
        with self.state.lock:
            self.state.objects.clear()
            self.state.previews.clear()
            self.state.idempotency.clear()
            self.state.payment_methods.clear()
        self.deliverer.clear()
        self.changed()
