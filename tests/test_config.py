"""Settings.from_env: defaults, one-line errors naming the variable, and `seatbill serve`
refusing to start on a bad value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from seatbill.config import DEFAULT_DATABASE_URL, DEV_JWT_SECRET, ConfigError, Settings
from tests.conftest import REPO


def test_defaults_with_an_empty_environment() -> None:
    settings = Settings.from_env({})
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.database_url.startswith("sqlite://")
    assert settings.dialect == "sqlite"
    assert settings.graphiql is True
    assert settings.jwt_secret == DEV_JWT_SECRET
    assert settings.jwt_jwks_url is None
    assert settings.jwt_audience is None and settings.jwt_issuer is None
    assert settings.plans_path is None
    assert settings.public_url == "http://127.0.0.1:8000"
    defaults = " ".join(settings.dev_defaults)
    assert "DATABASE_URL" in defaults
    assert "JWT_SECRET" in defaults
    assert "PUBLIC_URL" in defaults


def test_empty_strings_count_as_unset() -> None:
    env = dict.fromkeys(
        ["HOST", "PORT", "DATABASE_URL", "JWT_SECRET", "GRAPHIQL", "PUBLIC_URL"], ""
    )
    assert Settings.from_env(env) == Settings.from_env({})


def test_explicit_values_are_used_and_no_dev_defaults_remain(tmp_path: Path) -> None:
    plans = tmp_path / "plans.toml"
    plans.write_text("")
    settings = Settings.from_env(
        {
            "HOST": "0.0.0.0",
            "PORT": "9000",
            "DATABASE_URL": "postgresql://app@db:5432/seatbill",
            "JWT_SECRET": "x" * 16,
            "JWT_MAX_TTL": "1h",
            "JWT_AUDIENCE": "seatbill",
            "JWT_ISSUER": "https://issuer.test",
            "GRAPHIQL": "off",
            "PUBLIC_URL": "https://billing.example.com/",
            "SEATBILL_PLANS": str(plans),
            "STRIPE_SECRET_KEY": "sk_live_x",
            "STRIPE_WEBHOOK_SECRET": "whsec_x",
            "DUNNING_MAX_ATTEMPTS": "4",
            "SEAT_SYNC_WORKER": "external",
            "WEBHOOK_PROCESSOR": "external",
            "WEBHOOK_MAX_ATTEMPTS": "3",
        }
    )
    assert settings.stripe_secret_key == "sk_live_x" and settings.stripe_webhook_secret == "whsec_x"
    assert settings.dunning_max_attempts == 4 and settings.seat_sync_in_process is False
    assert settings.webhook_processor_in_process is False and settings.webhook_max_attempts == 3
    assert (settings.host, settings.port) == ("0.0.0.0", 9000)
    assert settings.database_url == "postgres://app@db:5432/seatbill"
    assert settings.dialect == "postgres"
    assert settings.jwt_secret == "x" * 16
    assert settings.jwt_max_ttl_seconds == 3600
    assert (settings.jwt_audience, settings.jwt_issuer) == ("seatbill", "https://issuer.test")
    assert settings.graphiql is False
    assert settings.public_url == "https://billing.example.com"
    assert settings.plans_path == plans
    assert settings.dev_defaults == ()


JWKS = {
    "JWT_JWKS_URL": "https://issuer.test/.well-known/jwks.json",
    "JWT_AUDIENCE": "seatbill",
    "JWT_ISSUER": "https://issuer.test",
}


def test_jwks_url_replaces_the_development_secret_warning() -> None:
    settings = Settings.from_env(JWKS)
    assert settings.jwt_jwks_url == "https://issuer.test/.well-known/jwks.json"
    assert not any("JWT_SECRET" in default for default in settings.dev_defaults)


@pytest.mark.parametrize("missing", ["JWT_AUDIENCE", "JWT_ISSUER"])
def test_jwks_mode_requires_audience_and_issuer(missing: str) -> None:
    """Without them a token the same identity provider minted for another API would pass."""
    env = {k: v for k, v in JWKS.items() if k != missing}
    with pytest.raises(ConfigError, match=rf"^{missing}: required with JWT_JWKS_URL"):
        Settings.from_env(env)


def test_public_url_defaults_from_host_and_port() -> None:
    settings = Settings.from_env({"HOST": "0.0.0.0", "PORT": "8080", "JWT_SECRET": "x" * 16})
    assert settings.public_url == "http://0.0.0.0:8080"


# The published development secret -------------------------------------------------------

STRIPE = {"STRIPE_SECRET_KEY": "sk_live_x", "STRIPE_WEBHOOK_SECRET": "whsec_x"}


@pytest.mark.parametrize(
    "env",
    [
        STRIPE,
        {**STRIPE, "JWT_SECRET": DEV_JWT_SECRET},
        {"HOST": "0.0.0.0"},
        {"HOST": "10.1.2.3"},
        {"HOST": "::"},
        {"HOST": "0.0.0.0", "JWT_SECRET": DEV_JWT_SECRET},
    ],
    ids=["stripe key", "stripe key, secret spelled out", "any interface", "lan", "ipv6 any",
         "any interface, secret spelled out"],
)  # fmt: skip
def test_development_secret_is_refused_with_real_billing_or_a_public_host(
    env: dict[str, str],
) -> None:
    with pytest.raises(ConfigError) as excinfo:
        Settings.from_env(env)
    message = str(excinfo.value)
    assert message.startswith("JWT_SECRET:"), message
    assert "JWT_JWKS_URL" in message and "\n" not in message
    assert DEV_JWT_SECRET not in message


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_development_secret_is_allowed_with_emulated_billing_on_loopback(host: str) -> None:
    settings = Settings.from_env({"HOST": host})
    assert settings.jwt_secret == DEV_JWT_SECRET
    assert any("JWT_SECRET" in default for default in settings.dev_defaults)


@pytest.mark.parametrize(
    "env", [{**STRIPE, "JWT_SECRET": "a-real-secret-of-32-characters!!"}, {**STRIPE, **JWKS},
            {"HOST": "0.0.0.0", **JWKS}],
    ids=["own secret", "jwks", "jwks on any interface"],
)  # fmt: skip
def test_production_starts_with_its_own_secret_or_jwks(env: dict[str, str]) -> None:
    settings = Settings.from_env(env)
    assert not any("JWT_SECRET" in default for default in settings.dev_defaults)


# Token lifetime --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [("", 86400), ("3600", 3600), ("90s", 90), ("15m", 900), ("12h", 43200), ("7D", 604800)],
)
def test_jwt_max_ttl_takes_seconds_or_a_duration(raw: str, seconds: int) -> None:
    assert Settings.from_env({"JWT_MAX_TTL": raw}).jwt_max_ttl_seconds == seconds


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("postgresql://u@h:5432/db", "postgres://u@h:5432/db"),
        ("postgres://u@h:5432/db", "postgres://u@h:5432/db"),
        ("postgresql://u:p%40ss@h/db?sslmode=require", "postgres://u:p%40ss@h/db?sslmode=require"),
        ("sqlite://:memory:", "sqlite://:memory:"),
        ("sqlite:///var/lib/seatbill.db", "sqlite:///var/lib/seatbill.db"),
    ],
)
def test_database_url_accepted_and_normalised(raw: str, expected: str) -> None:
    assert Settings.from_env({"DATABASE_URL": raw}).database_url == expected


@pytest.mark.parametrize(
    ("true", "value"),
    [(True, v) for v in ["1", "true", "TRUE", "yes", "on", " On "]]
    + [(False, v) for v in ["0", "false", "False", "no", "off"]],
)
def test_graphiql_accepts_common_booleans(true: bool, value: str) -> None:
    assert Settings.from_env({"GRAPHIQL": value}).graphiql is true


BAD_VALUES = [
    ("PORT", "abc"),
    ("PORT", "70000"),
    ("PORT", "-1"),
    ("PORT", "80.5"),
    ("GRAPHIQL", "maybe"),
    ("DATABASE_URL", "mysql://x"),
    ("DATABASE_URL", "seatbill.sqlite3"),
    ("DATABASE_URL", "postgres://host"),
    ("DATABASE_URL", "postgresql://user@host:5432/"),
    ("JWT_SECRET", "short"),
    ("JWT_SECRET", "x" * 15),
    ("JWT_JWKS_URL", "not-a-url"),
    ("JWT_JWKS_URL", "file:///etc/jwks.json"),
    ("JWT_MAX_TTL", "forever"),
    ("JWT_MAX_TTL", "-5"),
    ("JWT_MAX_TTL", "10"),
    ("JWT_MAX_TTL", "31d"),
    ("JWT_MAX_TTL", "1.5h"),
    ("JWT_JWKS_TIMEOUT", "0"),
    ("JWT_JWKS_TIMEOUT", "60"),
    ("PUBLIC_URL", "ftp://x"),
    ("PUBLIC_URL", "billing.example.com"),
    ("SEATBILL_PLANS", "/nonexistent.toml"),
    ("MAX_BODY_BYTES", "10"),
    ("STRIPE_SECRET_KEY", "pk_test_publishable"),
    ("STRIPE_WEBHOOK_SECRET", "not-a-secret"),
    ("STRIPE_API_BASE", "localhost:12111"),
    ("STRIPE_EMULATOR_PORT", "http"),
    ("DUNNING_MAX_ATTEMPTS", "0"),
    ("SEAT_SYNC_WORKER", "sometimes"),
    ("WEBHOOK_PROCESSOR", "elsewhere"),
    ("WEBHOOK_MAX_ATTEMPTS", "0"),
    ("WEBHOOK_MAX_ATTEMPTS", "many"),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES, ids=[f"{n}={v}" for n, v in BAD_VALUES])
def test_bad_value_raises_one_line_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        Settings.from_env({name: value})
    message = str(excinfo.value)
    assert message.startswith(f"{name}:"), message
    assert "\n" not in message


def test_jwt_secret_is_never_echoed() -> None:
    secret = "s3cr3t-but-short"[:15]
    with pytest.raises(ConfigError) as excinfo:
        Settings.from_env({"JWT_SECRET": secret})
    assert secret not in str(excinfo.value)


def test_plans_path_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^SEATBILL_PLANS:"):
        Settings.from_env({"SEATBILL_PLANS": str(tmp_path)})


def test_serve_with_a_bad_value_exits_2_with_one_line_naming_it() -> None:
    env = {**os.environ, "PORT": "abc"}
    result = subprocess.run(
        [sys.executable, "-m", "seatbill.cli", "serve"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "PORT" in lines[0]
    assert "abc" in lines[0]
    assert result.stdout == ""


def test_serve_with_a_stripe_key_and_no_jwt_secret_refuses_to_start() -> None:
    """The published development secret would let anyone sign in as anyone against real
    billing: `seatbill serve` stops before it migrates or listens."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "STRIPE_", "HOST"))}
    env |= {"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": "whsec_x"}
    result = subprocess.run(
        [sys.executable, "-m", "seatbill.cli", "serve"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "JWT_SECRET" in lines[0] and "JWT_JWKS_URL" in lines[0]
    assert DEV_JWT_SECRET not in result.stderr
