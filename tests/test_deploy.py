"""The deployment files name commands the CLI has: every `seatbill ...` in docker-compose.yml
(command / entrypoint) and the Dockerfile's CMD parse with the real argument parsers. Docker
itself cannot run here; docs/deploy.md says how the files were checked."""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

import pytest
import yaml

from seatbill.cli import build_parser
from seatbill.config import ConfigError, Settings
from stripe_emulator.cli import parser as emulator_parser
from tests.conftest import REPO

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
DOCKERFILE = (REPO / "Dockerfile").read_text()


def _argv(value: str | list[str]) -> list[str]:
    argv = shlex.split(value) if isinstance(value, str) else [str(part) for part in value]
    # Compose interpolates ${VAR...} from the environment; any value of the right shape parses.
    return [re.sub(r"\$\{[^}]*\}", "whsec_placeholder", part) for part in argv]


def _invocations() -> list[tuple[str, list[str]]]:
    found = []
    for name, service in COMPOSE["services"].items():
        for key in ("entrypoint", "command"):
            if service.get(key) is not None:
                found.append((f"{name}.{key}", _argv(service[key])))
    return found


def assert_seatbill_accepts(where: str, argv: list[str]) -> None:
    assert argv[0] == "seatbill", f"{where}: {argv}"
    try:
        if argv[1:2] == ["emulator"]:
            emulator_parser("seatbill emulator").parse_args(argv[2:])
        else:
            args = build_parser().parse_args(argv[1:])
            assert callable(args.func), f"{where}: {argv} runs nothing"
    except SystemExit:
        pytest.fail(f"{where}: `{shlex.join(argv)}` is not a seatbill command line")


@pytest.mark.parametrize(("where", "argv"), _invocations(), ids=[w for w, _ in _invocations()])
def test_every_compose_command_exists_in_the_cli(where: str, argv: list[str]) -> None:
    assert_seatbill_accepts(where, argv)


def test_the_parser_check_refuses_what_the_cli_does_not_have() -> None:
    with pytest.raises(pytest.fail.Exception):
        assert_seatbill_accepts("bad", ["seatbill", "serve", "--no-such-flag"])
    with pytest.raises(pytest.fail.Exception):
        assert_seatbill_accepts("bad", ["seatbill", "migrations"])


def _service(name: str) -> dict[str, Any]:
    service: dict[str, Any] = COMPOSE["services"][name]
    return service


def test_compose_runs_postgres_migrations_once_two_apis_and_one_worker() -> None:
    assert _service("postgres")["image"].startswith("postgres:")
    migrate = _service("migrate")
    assert migrate["command"] == ["seatbill", "migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    apis = [
        name for name, s in COMPOSE["services"].items() if s.get("command", [])[1:2] == ["serve"]
    ]
    assert len(apis) == 2
    for name in apis:
        api = _service(name)
        assert api["command"] == ["seatbill", "serve", "--no-migrate"]
        assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert api["environment"]["SEAT_SYNC_WORKER"] == "external"
        assert api["environment"]["DATABASE_URL"].startswith("postgres://")
        assert "/readyz" in " ".join(api["healthcheck"]["test"])
    workers = [
        n for n, s in COMPOSE["services"].items() if s.get("command") == ["seatbill", "worker"]
    ]
    assert workers == ["worker"]
    assert _service("worker")["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )


def test_dockerfile_is_multi_stage_uv_locked_non_root_and_serves_without_migrating() -> None:
    assert len(re.findall(r"^FROM ", DOCKERFILE, re.MULTILINE)) >= 2
    assert "uv sync --frozen --no-dev" in DOCKERFILE
    user = re.findall(r"^USER (\S+)", DOCKERFILE, re.MULTILINE)
    assert user and user[-1].split(":")[0] not in ("root", "0")
    cmd = re.findall(r"^CMD (\[.*\])$", DOCKERFILE, re.MULTILINE)
    assert len(cmd) == 1
    argv = json.loads(cmd[0])
    assert argv == ["seatbill", "serve", "--no-migrate"]
    assert_seatbill_accepts("Dockerfile CMD", argv)


def test_forwarded_allow_ips_defaults_to_loopback_and_takes_addresses_networks_or_star() -> None:
    assert Settings.from_env({}).forwarded_allow_ips == "127.0.0.1"
    assert Settings.from_env(
        {"FORWARDED_ALLOW_IPS": "10.0.0.0/8, 192.168.1.7"}
    ).forwarded_allow_ips == ("10.0.0.0/8,192.168.1.7")
    assert Settings.from_env({"FORWARDED_ALLOW_IPS": "*"}).forwarded_allow_ips == "*"
    with pytest.raises(ConfigError, match=r"^FORWARDED_ALLOW_IPS: .*'proxy\.internal'"):
        Settings.from_env({"FORWARDED_ALLOW_IPS": "10.0.0.1,proxy.internal"})
