"""docker-compose.yml: valid Compose, healthy start order, real mounts, no secrets in the file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import driftmon_cli
from prometheus.config import COMPOSE_WEBHOOK_CREDENTIALS_FILE

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
COMPOSE_TEXT = re.sub(r"(^|\s)#.*", "", (ROOT / "docker-compose.yml").read_text())  # no comments
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?][^}]*)?\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEYS?$")
REQUIRED_SECRETS = {
    "DRIFT_POSTGRES_PASSWORD",
    "DRIFT_API_DB_PASSWORD",
    "DRIFT_GRAFANA_DB_PASSWORD",
    "DRIFT_GRAFANA_ADMIN_PASSWORD",
    "DRIFT_API_KEYS",
    "DRIFT_ALERTMANAGER_API_KEY",
}
PYTHON_SERVICES = {"migrate", "worker", "api", "generator"}


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "use the mapping form of environment"
    return {k: str(v) for k, v in env.items()}


def long_running(name: str) -> bool:
    return SERVICES[name].get("restart", "no") != "no"


def test_valid_against_the_compose_spec_schema():
    schema = json.loads((ROOT / "tests" / "data" / "compose-spec.json").read_text())
    errors = list(jsonschema.Draft201909Validator(schema).iter_errors(COMPOSE))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def test_the_whole_stack_is_there():
    assert set(SERVICES) == {
        "kafka", "postgres", "migrate", "worker", "api",
        "prometheus", "alertmanager", "grafana", "generator",
    }  # fmt: skip
    assert SERVICES["kafka"]["image"] == "apache/kafka:4.1.1"
    assert SERVICES["postgres"]["image"].startswith("postgres:16")
    assert SERVICES["grafana"]["image"].startswith("grafana/grafana:11")
    assert SERVICES["generator"]["profiles"] == ["demo"]
    assert all("profiles" not in s for n, s in SERVICES.items() if n != "generator")


def test_images_are_pinned():
    for name, service in SERVICES.items():
        image = service.get("image", "")
        assert re.search(r":[\w.${}:-]+$", image) and not image.endswith(":latest"), name


def test_kafka_runs_kraft_from_env():
    env = environment(SERVICES["kafka"])
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "1"  # faust exactly_once on one broker
    internal = env["KAFKA_ADVERTISED_LISTENERS"].split(",")[0]
    assert internal.split("//")[1] == environment(SERVICES["worker"])["DRIFT_KAFKA_BOOTSTRAP"]


def test_every_long_running_service_has_a_healthcheck():
    for name in SERVICES:
        if long_running(name):
            assert "test" in SERVICES[name].get("healthcheck", {}), name
        else:  # one-shot jobs start only after what they need is healthy
            assert SERVICES[name].get("depends_on"), name


def test_depends_on_waits_for_health_or_completion():
    for name, service in SERVICES.items():
        for target, rule in (service.get("depends_on") or {}).items():
            assert target in SERVICES, (name, target)
            condition = rule["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in SERVICES[target], (name, target)
            else:
                assert condition == "service_completed_successfully", (name, target)
                assert not long_running(target), (name, target)
            if "profiles" not in service:
                assert "profiles" not in SERVICES[target], (name, target)


def test_bind_mounts_exist_and_named_volumes_are_declared():
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: {source} missing in the repository"
            else:
                assert source in COMPOSE["volumes"], f"{name}: undeclared volume {source}"


def test_observability_mounts():
    mounts = {
        s: [v.split(":")[1] for v in SERVICES[s]["volumes"]]
        for s in SERVICES
        if "volumes" in SERVICES[s]
    }
    assert "/etc/prometheus/prometheus.yml" in mounts["prometheus"]
    assert "/etc/prometheus/rules" in mounts["prometheus"]
    assert "/etc/alertmanager/alertmanager.yml" in mounts["alertmanager"]
    assert {"/etc/grafana/provisioning", "/var/lib/grafana/dashboards"} <= set(mounts["grafana"])
    assert "/docker-entrypoint-initdb.d" in mounts["postgres"]


def test_no_secret_in_plain_text():
    for name, service in SERVICES.items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+(:\?[^}]*|:-)?\}", value), (name, key, value)
            for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]*\}", password), (name, key)
    for secret in REQUIRED_SECRETS:  # no default: compose stops when one is unset
        uses = re.findall(r"\$\{" + secret + r"(:?[-?])?", COMPOSE_TEXT)
        assert uses and all(u == ":?" for u in uses), secret


def test_every_variable_is_documented_in_env_example():
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE, re.M))
    mentioned = set(re.findall(r"^#\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE, re.M)) | documented
    interpolated = set(INTERPOLATION.findall(COMPOSE_TEXT))
    assert interpolated <= documented, interpolated - documented
    assert REQUIRED_SECRETS | {"DRIFT_API_KEYS"} <= documented
    drift_keys = {k for s in SERVICES.values() for k in environment(s) if k.startswith("DRIFT_")}
    assert drift_keys <= mentioned, drift_keys - mentioned
    assert {"DRIFT_DATABASE_URL", "DRIFT_DATABASE_READ_URL", "DRIFT_KAFKA_BOOTSTRAP"} <= mentioned


def example_values() -> dict[str, str]:
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE, re.M))


def test_env_example_ships_no_usable_secret():
    """A copied .env.example must not start the stack with well-known passwords or keys."""
    values = example_values()
    for name, value in values.items():
        if SECRET_NAME.search(name):
            assert value.strip() == "", f"{name}={value}: leave secrets empty in .env.example"
    assert "change-me" not in ENV_EXAMPLE


def test_compose_refuses_the_example_as_it_is():
    """Every required variable is `${VAR:?message}`, and the example leaves it empty: compose
    (which treats an empty value like an unset one with `:?`) stops with the message."""
    values = example_values()
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?[^}]+\}", COMPOSE_TEXT))
    assert required >= REQUIRED_SECRETS, REQUIRED_SECRETS - required
    for name in required:
        assert values.get(name, "") == "", name


def test_api_is_secure_by_default_in_compose():
    env = environment(SERVICES["api"])
    assert env.get("DRIFT_INSECURE_LOCAL", "0") in {"0", "false"}
    assert env["DRIFT_API_KEYS"].startswith("${DRIFT_API_KEYS:?")
    hosts = env["DRIFT_ALLOWED_HOSTS"].split(",")
    assert "api" in hosts and "localhost" in hosts  # Prometheus/Alertmanager, the host's port


def test_alertmanager_gets_the_webhook_key_as_a_file():
    service = SERVICES["alertmanager"]
    assert environment(service)["DRIFT_ALERTMANAGER_API_KEY"].startswith(
        "${DRIFT_ALERTMANAGER_API_KEY:?"
    )
    script = " ".join(service["command"])
    assert f'"$$DRIFT_ALERTMANAGER_API_KEY" > {COMPOSE_WEBHOOK_CREDENTIALS_FILE}' in script
    assert "exec /bin/alertmanager" in script and "/tmp" in service["tmpfs"]
    rendered = yaml.safe_load((ROOT / "prometheus" / "alertmanager.yml").read_text())
    for receiver in rendered["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            if hook["url"].startswith("http://api:8000/"):
                auth = hook["http_config"]["authorization"]
                assert auth == {
                    "type": "Bearer",
                    "credentials_file": COMPOSE_WEBHOOK_CREDENTIALS_FILE,
                }


def test_python_services_run_driftmon_commands():
    for name in PYTHON_SERVICES:
        service = SERVICES[name]
        assert service["build"] == "." and service["command"][0] in driftmon_cli.COMMANDS, name
    api = SERVICES["api"]
    assert "0.0.0.0" in api["command"] and any(p.endswith(":8000") for p in api["ports"])
    assert "driftmon_api:" in environment(api)["DRIFT_DATABASE_READ_URL"]


def test_prometheus_and_grafana_reach_real_services():
    prom = yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())
    worker = environment(SERVICES["worker"])
    ports = {
        "driftmon-worker": worker["DRIFT_WEB_PORT"],
        "driftmon-sinks": worker["DRIFT_SINKS_WEB_PORT"],
    }
    for job in prom["scrape_configs"]:
        for target in job["static_configs"][0]["targets"]:
            host, port = target.split(":")
            assert host in SERVICES, target
            if host == "worker":  # the worker's /metrics, and its sinks child's
                assert port == ports[job["job_name"]], target
    datasources = (ROOT / "grafana" / "provisioning" / "datasources" / "driftmon.yml").read_text()
    for host in re.findall(r"url: (?:http://)?([a-z0-9-]+):\d+", datasources):
        assert host in SERVICES, host
    for variable in re.findall(r"\$__env\{(\w+)\}", datasources):
        assert variable in environment(SERVICES["grafana"]), variable


def test_postgres_init_creates_the_read_only_logins():
    script = (ROOT / "deploy" / "postgres" / "10-driftmon-roles.sh").read_text()
    for role in ("driftmon_reader", "driftmon_grafana", "driftmon_api"):
        assert role in script
    for variable in re.findall(r"\$\{?(DRIFT_\w+)", script):
        assert variable in environment(SERVICES["postgres"]), variable


def test_dockerfile_is_slim_server_and_non_root():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.M)
    assert 'pip install ".[server]"' in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] not in {"root", "0"}
    assert re.search(r'^ENTRYPOINT \["driftmon"\]', dockerfile, re.M)
    assert ".env" in (ROOT / ".dockerignore").read_text().split()
