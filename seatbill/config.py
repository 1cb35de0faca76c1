"""Settings from the environment, checked once at start-up."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from seatbill.origins import is_loopback, origin_host, parse_origin

DEV_JWT_SECRET = "seatbill-development-secret-do-not-use-in-production"
DEFAULT_DATABASE_URL = "sqlite://seatbill.sqlite3"
DEFAULT_JWT_MAX_TTL = 24 * 3600


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


_DURATION = re.compile(r"^(\d+)\s*([smhd]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """Seconds, from a whole number of seconds or a number with a unit: 90s, 15m, 24h, 7d."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    match = _DURATION.match(raw.strip().lower())
    if match is None:
        raise ConfigError(
            f"{name}: expected seconds or a duration such as 15m, 24h or 7d, got {raw!r}"
        )
    value = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not low <= value <= high:
        raise ConfigError(f"{name}: must be between {low} and {high} seconds, got {value}")
    return value


def _reconcile_every(env: Mapping[str, str]) -> int:
    """RECONCILE_EVERY: 0 (off, the default) or at least a minute (each run reads every
    customer's subscriptions and invoices from Stripe)."""
    every = _duration(env, "RECONCILE_EVERY", 0, 0, 30 * 86400)
    if 0 < every < 60:
        raise ConfigError(f"RECONCILE_EVERY: must be 0 (off) or at least 60 seconds, got {every}")
    return every


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    origins: list[str] = []
    for raw in (env.get(name) or "").split(","):
        if not raw.strip():
            continue
        origin = parse_origin(raw)
        if origin is None:
            raise ConfigError(f"{name}: expected origins like https://app.example.com, got {raw!r}")
        if origin.startswith("http:") and not is_loopback(origin_host(origin)):
            raise ConfigError(f"{name}: http is allowed only for loopback hosts, got {raw!r}")
        origins.append(origin)
    return tuple(origins)


@dataclass(frozen=True)
class RateLimit:
    """At most ``count`` calls per fixed window of ``seconds``."""

    count: int
    seconds: int

    def __str__(self) -> str:
        return f"{self.count}/{self.seconds}s"


_RATE_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
# Generous for an interactive app; a workspace's owners and admins share its budget.
DEFAULT_RATE_PER_USER = RateLimit(60, 60)
DEFAULT_RATE_PER_WORKSPACE = RateLimit(120, 60)


def _rate(env: Mapping[str, str], name: str, default: RateLimit) -> RateLimit | None:
    """``N/second|minute|hour|day`` or ``N/Ks`` (a window of K seconds); ``off`` disables."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip().lower()
    if text == "off":
        return None
    count, _, unit = text.partition("/")
    seconds = _RATE_UNITS.get(unit)
    if seconds is None and unit.endswith("s") and unit[:-1].isdigit():
        seconds = int(unit[:-1])
    if not count.isdigit() or seconds is None or not 1 <= int(count) <= 1_000_000:
        raise ConfigError(
            f"{name}: expected N/second, N/minute, N/hour, N/day, N/Ks or off, got {raw!r}"
        )
    if not 1 <= seconds <= 86400:
        raise ConfigError(f"{name}: the window must be 1 to 86400 seconds, got {raw!r}")
    return RateLimit(int(count), seconds)


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
    jwt_max_ttl_seconds: int = DEFAULT_JWT_MAX_TTL
    jwt_jwks_timeout_seconds: int = 3
    plans_path: Path | None = None
    public_url: str = "http://127.0.0.1:8000"
    # Origins startCheckout/openBillingPortal may send people back to; empty: PUBLIC_URL's.
    allowed_redirect_origins: tuple[str, ...] = ()
    graphiql: bool = True
    # Browser origins allowed to call the API cross-origin (CORS); empty: none.
    cors_origins: tuple[str, ...] = ()
    # Apollo automatic persisted queries held per process (least recently used out first).
    persisted_queries_cache_size: int = 1000
    # Introspection and "Did you mean" suggestions; from_env defaults it to GRAPHIQL.
    introspection: bool = True
    max_body_bytes: int = 1_000_000
    max_query_depth: int = 10
    max_query_tokens: int = 2000
    max_query_aliases: int = 30
    invitation_ttl_days: int = 7
    # Calls that create rows or reach Stripe, per user and per workspace (None: no limit).
    rate_limit_per_user: RateLimit | None = DEFAULT_RATE_PER_USER
    rate_limit_per_workspace: RateLimit | None = DEFAULT_RATE_PER_WORKSPACE
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
    # The webhook event processor runs inside `seatbill serve` unless WEBHOOK_PROCESSOR=external.
    webhook_processor_in_process: bool = True
    # A webhook event that failed this many times is DEAD (`seatbill events list --dead`).
    webhook_max_attempts: int = 8
    # RECONCILE_EVERY: `seatbill worker` runs `reconcile --fix` this often (seconds); 0: never.
    reconcile_every_seconds: int = 0
    # LOG_FORMAT: "json" or "text"; None: text when stderr is a terminal, else json.
    log_format: str | None = None
    # PROMETHEUS_MULTIPROC_DIR: /metrics aggregates the processes sharing this directory.
    metrics_multiproc_dir: Path | None = None
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
        audience = env.get("JWT_AUDIENCE") or None
        issuer = env.get("JWT_ISSUER") or None
        if jwks is not None and audience is None:
            raise ConfigError("JWT_AUDIENCE: required with JWT_JWKS_URL (this API's audience)")
        if jwks is not None and issuer is None:
            raise ConfigError("JWT_ISSUER: required with JWT_JWKS_URL (the identity provider)")
        secret = env.get("JWT_SECRET") or ""
        if secret and len(secret) < 16:
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
        if jwks is None and secret in ("", DEV_JWT_SECRET):
            # Anyone can sign tokens with the published secret: only for a local development
            # server that bills against the emulator.
            if stripe_key is not None or not is_loopback(host.strip().strip("[]").lower()):
                why = "STRIPE_SECRET_KEY is set" if stripe_key else f"HOST {host} is not loopback"
                raise ConfigError(
                    f"JWT_SECRET: set JWT_SECRET or JWT_JWKS_URL ({why}); the published "
                    "development secret is accepted only with emulated billing on a loopback HOST"
                )
            dev.append("JWT_SECRET (a published development secret)")
        secret = secret or DEV_JWT_SECRET
        if stripe_key is None:
            dev.append("STRIPE_SECRET_KEY (billing is emulated offline)")
        worker = (env.get("SEAT_SYNC_WORKER") or "in-process").strip().lower()
        if worker not in {"in-process", "external"}:
            raise ConfigError(f"SEAT_SYNC_WORKER: expected in-process or external, got {worker!r}")
        processor = (env.get("WEBHOOK_PROCESSOR") or "in-process").strip().lower()
        if processor not in {"in-process", "external"}:
            raise ConfigError(
                f"WEBHOOK_PROCESSOR: expected in-process or external, got {processor!r}"
            )
        graphiql = _bool(env, "GRAPHIQL", True)
        log_format = (env.get("LOG_FORMAT") or "").strip().lower() or None
        if log_format not in {None, "json", "text"}:
            raise ConfigError(f"LOG_FORMAT: expected json or text, got {env.get('LOG_FORMAT')!r}")
        multiproc_raw = env.get("PROMETHEUS_MULTIPROC_DIR") or None
        multiproc = Path(multiproc_raw) if multiproc_raw else None
        if multiproc is not None and not (multiproc.is_dir() and os.access(multiproc, os.W_OK)):
            raise ConfigError(f"PROMETHEUS_MULTIPROC_DIR: no writable directory {multiproc_raw!r}")
        return cls(
            host=host,
            port=port,
            database_url=database_url,
            jwt_secret=secret,
            jwt_jwks_url=jwks,
            jwt_audience=audience,
            jwt_issuer=issuer,
            jwt_max_ttl_seconds=_duration(env, "JWT_MAX_TTL", DEFAULT_JWT_MAX_TTL, 60, 30 * 86400),
            jwt_jwks_timeout_seconds=_int(env, "JWT_JWKS_TIMEOUT", 3, 1, 30),
            plans_path=plans_path,
            public_url=public_url,
            graphiql=graphiql,
            introspection=_bool(env, "INTROSPECTION", graphiql),
            allowed_redirect_origins=_origins(env, "ALLOWED_REDIRECT_ORIGINS"),
            cors_origins=_origins(env, "CORS_ORIGINS"),
            persisted_queries_cache_size=_int(
                env, "PERSISTED_QUERIES_CACHE_SIZE", 1000, 0, 1_000_000
            ),
            max_body_bytes=_int(env, "MAX_BODY_BYTES", 1_000_000, 1024, 100_000_000),
            rate_limit_per_user=_rate(env, "RATE_LIMIT_PER_USER", DEFAULT_RATE_PER_USER),
            rate_limit_per_workspace=_rate(
                env, "RATE_LIMIT_PER_WORKSPACE", DEFAULT_RATE_PER_WORKSPACE
            ),
            stripe_secret_key=stripe_key,
            stripe_webhook_secret=webhook_secret,
            stripe_api_base=_url(env, "STRIPE_API_BASE", {"http", "https"}),
            stripe_emulator_port=_int(env, "STRIPE_EMULATOR_PORT", 12111, 0, 65535),
            dunning_max_attempts=_int(env, "DUNNING_MAX_ATTEMPTS", 3, 1, 100),
            seat_sync_in_process=worker == "in-process",
            webhook_processor_in_process=processor == "in-process",
            webhook_max_attempts=_int(env, "WEBHOOK_MAX_ATTEMPTS", 8, 1, 100),
            reconcile_every_seconds=_reconcile_every(env),
            log_format=log_format,
            metrics_multiproc_dir=multiproc,
            forwarded_allow_ips=_forwarded_allow_ips(env),
            dev_defaults=tuple(dev),
        )
