"""Settings from the environment, checked once at start-up."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEV_JWT_SECRET = "seatbill-development-secret-do-not-use-in-production"
DEFAULT_DATABASE_URL = "sqlite://seatbill.sqlite3"


class ConfigError(Exception):
    """A bad setting; the message is one line naming the variable."""


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}: expected true or false, got {raw!r}")


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}: must be between {low} and {high}, got {value}")
    return value


def _url(env: Mapping[str, str], name: str, schemes: set[str]) -> str | None:
    raw = env.get(name)
    if raw is None or raw == "":
        return None
    parts = urlsplit(raw)
    if parts.scheme not in schemes or not parts.netloc:
        raise ConfigError(f"{name}: expected an {'/'.join(sorted(schemes))} URL, got {raw!r}")
    return raw.rstrip("/")


def _database_url(env: Mapping[str, str]) -> str:
    raw = env.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme == "postgresql":
        raw = "postgres" + raw[len("postgresql") :]
        scheme = "postgres"
    if scheme not in {"sqlite", "postgres"}:
        raise ConfigError(
            "DATABASE_URL: expected sqlite://PATH or postgres://USER@HOST:PORT/DB"
            + (f", got scheme {scheme!r}" if scheme else "")
        )
    if scheme == "postgres" and not urlsplit(raw).path.strip("/"):
        raise ConfigError("DATABASE_URL: the PostgreSQL URL names no database")
    return raw


def _forwarded_allow_ips(env: Mapping[str, str]) -> str:
    """Proxies whose X-Forwarded-For/-Proto uvicorn trusts: IPs or networks, or ``*``."""
    raw = (env.get("FORWARDED_ALLOW_IPS") or "127.0.0.1").strip()
    entries = [entry.strip() for entry in raw.split(",") if entry.strip()]
    for entry in entries:
        if entry == "*":
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(
                f"FORWARDED_ALLOW_IPS: expected IP addresses or networks separated by commas, "
                f"or *, got {entry!r}"
            ) from None
    if not entries:
        raise ConfigError("FORWARDED_ALLOW_IPS: expected at least one IP address, or *")
    return ",".join(entries)


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = DEFAULT_DATABASE_URL
    jwt_secret: str = DEV_JWT_SECRET
    jwt_jwks_url: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    plans_path: Path | None = None
    public_url: str = "http://127.0.0.1:8000"
    graphiql: bool = True
    max_body_bytes: int = 1_000_000
    max_query_depth: int = 10
    max_query_tokens: int = 2000
    max_query_aliases: int = 30
    invitation_ttl_days: int = 7
    # Stripe. No secret key: `seatbill serve` starts the offline emulator and bills against it.
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None
    stripe_emulator_port: int = 12111
    stripe_timeout_seconds: float = 20.0
    stripe_max_network_retries: int = 2
    dunning_max_attempts: int = 3
    # The seat-sync worker runs inside `seatbill serve` unless SEAT_SYNC_WORKER=external.
    seat_sync_in_process: bool = True
    # Proxies trusted for X-Forwarded-For / X-Forwarded-Proto (uvicorn's forwarded_allow_ips).
    forwarded_allow_ips: str = "127.0.0.1"
    dev_defaults: tuple[str, ...] = field(default=())

    @property
    def dialect(self) -> str:
        return "postgres" if self.database_url.startswith("postgres") else "sqlite"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        dev: list[str] = []
        host = env.get("HOST") or "127.0.0.1"
        port = _int(env, "PORT", 8000, 0, 65535)
        database_url = _database_url(env)
        if not env.get("DATABASE_URL"):
            dev.append(f"DATABASE_URL={DEFAULT_DATABASE_URL} (embedded SQLite)")
        jwks = _url(env, "JWT_JWKS_URL", {"http", "https"})
        secret = env.get("JWT_SECRET") or ""
        if not secret:
            if jwks is None:
                dev.append("JWT_SECRET (a published development secret)")
            secret = DEV_JWT_SECRET
        elif len(secret) < 16:
            raise ConfigError("JWT_SECRET: must be at least 16 characters")
        plans_raw = env.get("SEATBILL_PLANS")
        plans_path = Path(plans_raw) if plans_raw else None
        if plans_path is not None and not plans_path.is_file():
            raise ConfigError(f"SEATBILL_PLANS: no such file {plans_raw!r}")
        public_url = _url(env, "PUBLIC_URL", {"http", "https"})
        if public_url is None:
            public_url = f"http://{host}:{port}"
            dev.append(f"PUBLIC_URL={public_url}")
        stripe_key = env.get("STRIPE_SECRET_KEY") or None
        if stripe_key is not None and not stripe_key.startswith(("sk_", "rk_")):
            raise ConfigError("STRIPE_SECRET_KEY: expected a Stripe secret key (sk_... or rk_...)")
        webhook_secret = env.get("STRIPE_WEBHOOK_SECRET") or None
        if webhook_secret is not None and not webhook_secret.startswith("whsec_"):
            raise ConfigError(
                "STRIPE_WEBHOOK_SECRET: expected a webhook signing secret (whsec_...)"
            )
        if stripe_key is not None and webhook_secret is None:
            raise ConfigError("STRIPE_WEBHOOK_SECRET: required when STRIPE_SECRET_KEY is set")
        if stripe_key is None:
            dev.append("STRIPE_SECRET_KEY (billing is emulated offline)")
        worker = (env.get("SEAT_SYNC_WORKER") or "in-process").strip().lower()
        if worker not in {"in-process", "external"}:
            raise ConfigError(f"SEAT_SYNC_WORKER: expected in-process or external, got {worker!r}")
        return cls(
            host=host,
            port=port,
            database_url=database_url,
            jwt_secret=secret,
            jwt_jwks_url=jwks,
            jwt_audience=env.get("JWT_AUDIENCE") or None,
            jwt_issuer=env.get("JWT_ISSUER") or None,
            plans_path=plans_path,
            public_url=public_url,
            graphiql=_bool(env, "GRAPHIQL", True),
            max_body_bytes=_int(env, "MAX_BODY_BYTES", 1_000_000, 1024, 100_000_000),
            stripe_secret_key=stripe_key,
            stripe_webhook_secret=webhook_secret,
            stripe_api_base=_url(env, "STRIPE_API_BASE", {"http", "https"}),
            stripe_emulator_port=_int(env, "STRIPE_EMULATOR_PORT", 12111, 0, 65535),
            dunning_max_attempts=_int(env, "DUNNING_MAX_ATTEMPTS", 3, 1, 100),
            seat_sync_in_process=worker == "in-process",
            forwarded_allow_ips=_forwarded_allow_ips(env),
            dev_defaults=tuple(dev),
        )
