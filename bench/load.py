"""Load generation for the benchmarks: autocannon (node), started with a duration or a number
of requests, its JSON result read back as a :class:`Load`.

A Python client cannot make enough requests to load a server on a small machine (it competes
for the same cores and spends more per request than the server does), so the requests come
from autocannon, installed by `make bench-tools` into .tools/node (not by `make test`).

    from bench.load import run
    load = run("http://127.0.0.1:8000/graphql", method="POST",
               headers={"content-type": "application/json"}, body='{"query": "{ __typename }"}',
               connections=20, duration=10)
    print(load.rps, load.p50_ms, load.p99_ms, load.non_2xx)

`bodies=[...]` sends each request with the next body of the list (in turn, across all
connections), e.g. many distinct signed webhook events; `body_headers=[...]` (one mapping per
body) adds headers of that body's own, e.g. each event's Stripe-Signature.
`forbid="\"errors\""` counts the answers whose body contains that text (``mismatches``), e.g.
GraphQL errors in a 200.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
AUTOCANNON_HOME = ROOT / ".tools" / "node"
RUNNER = Path(__file__).resolve().parent / "load.js"


class LoadToolMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Load:
    """One autocannon run: mean requests per second, latency percentiles (milliseconds), and
    what went wrong (answers outside 2xx, connection errors and timeouts, forbidden bodies)."""

    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    errors: int
    timeouts: int
    mismatches: int
    raw: Mapping[str, Any]

    @property
    def ok(self) -> bool:
        return not (self.non_2xx or self.errors or self.timeouts or self.mismatches)

    def line(self) -> str:
        failures = (
            ""
            if self.ok
            else f"  non-2xx {self.non_2xx} errors {self.errors} timeouts {self.timeouts}"
            f" mismatches {self.mismatches}"
        )
        return (
            f"{self.rps:8.1f} req/s  p50 {self.p50_ms:7.2f} ms  p99 {self.p99_ms:7.2f} ms"
            f"  ({self.requests} requests){failures}"
        )


def check_tools() -> None:
    if shutil.which("node") is None:
        raise LoadToolMissing("node is not on PATH; install node.js, then `make bench-tools`")
    if not (AUTOCANNON_HOME / "node_modules" / "autocannon" / "package.json").exists():
        raise LoadToolMissing("autocannon is not installed: run `make bench-tools`")


def parse_result(result: Mapping[str, Any]) -> Load:
    latency = result["latency"]
    total = int(result["requests"]["total"])
    duration = float(result["duration"])
    return Load(
        requests=total,
        duration_s=duration,
        # The mean over the run (autocannon's own figure counts whole seconds only).
        rps=total / duration if duration else 0.0,
        p50_ms=float(latency["p50"]),
        p90_ms=float(latency["p90"]),
        p99_ms=float(latency["p99"]),
        max_ms=float(latency["max"]),
        non_2xx=int(result.get("non2xx", 0)),
        errors=int(result.get("errors", 0)),
        timeouts=int(result.get("timeouts", 0)),
        mismatches=int(result.get("mismatches", 0)),
        raw=result,
    )


def run(
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: str | None = None,
    bodies: Sequence[str] | None = None,
    body_headers: Sequence[Mapping[str, str]] | None = None,
    connections: int = 20,
    duration: float = 10,
    amount: int | None = None,
    timeout: float = 10,
    forbid: str | None = None,
) -> Load:
    """Load ``url`` with ``connections`` concurrent connections for ``duration`` seconds, or
    until ``amount`` requests are answered. Raises LoadToolMissing without node/autocannon."""
    check_tools()
    if body is not None and bodies is not None:
        raise ValueError("body or bodies, not both")
    if body_headers is not None and (bodies is None or len(body_headers) != len(bodies)):
        raise ValueError("body_headers needs bodies, one mapping per body")
    spec = {
        "url": url,
        "method": method,
        "headers": dict(headers or {}),
        "body": body,
        "bodies": list(bodies) if bodies is not None else None,
        "body_headers": [dict(h) for h in body_headers] if body_headers is not None else None,
        "connections": connections,
        "duration": duration,
        "amount": amount,
        "timeout": timeout,
        "forbid": forbid,
    }
    done = subprocess.run(
        ["node", str(RUNNER)],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "AUTOCANNON_HOME": str(AUTOCANNON_HOME)},
    )
    if done.returncode != 0:
        raise RuntimeError(f"autocannon failed: {done.stderr.strip()[-2000:]}")
    return parse_result(json.loads(done.stdout))
