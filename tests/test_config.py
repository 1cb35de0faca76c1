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
            "JWT_AUDIENCE": "seatbill",
            "JWT_ISSUER": "https://issuer.test",
            "GRAPHIQL": "off",
            "PUBLIC_URL": "https://billing.example.com/",
            "SEATBILL_PLANS": str(plans),
            "STRIPE_SECRET_KEY": "sk_live_x",
            "STRIPE_WEBHOOK_SECRET": "whsec_x",
            "DUNNING_MAX_ATTEMPTS": "4",
            "SEAT_SYNC_WORKER": "external",
        }
    )
    assert settings.stripe_secret_key == "sk_live_x" and settings.stripe_webhook_secret == "whsec_x"
    assert settings.dunning_max_attempts == 4 and settings.seat_sync_in_process is False
    assert (settings.host, settings.port) == ("0.0.0.0", 9000)
    assert settings.database_url == "postgres://app@db:5432/seatbill"
    assert settings.dialect == "postgres"
    assert settings.jwt_secret == "x" * 16
    assert (settings.jwt_audience, settings.jwt_issuer) == ("seatbill", "https://issuer.test")
    assert settings.graphiql is False
    assert settings.public_url == "https://billing.example.com"
    assert settings.plans_path == plans
    assert settings.dev_defaults == ()


def test_jwks_url_replaces_the_development_secret_warning() -> None:
    settings = Settings.from_env({"JWT_JWKS_URL": "https://issuer.test/.well-known/jwks.json"})
    assert settings.jwt_jwks_url == "https://issuer.test/.well-known/jwks.json"
    assert not any("JWT_SECRET" in default for default in settings.dev_defaults)


def test_public_url_defaults_from_host_and_port() -> None:
    settings = Settings.from_env({"HOST": "0.0.0.0", "PORT": "8080"})
    assert settings.public_url == "http://0.0.0.0:8080"


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
