"""Static checks of prometheus/: promtool and amtool on the committed and rendered configs.

promtool and amtool come from the Debian packages prometheus and prometheus-alertmanager; a
missing tool fails these tests (they are the only checks the alert rules have before the
end-to-end run).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from prometheus import config
from prometheus.__main__ import main
from prometheus.channels import NotificationChannels, channels_from_env

pytestmark = pytest.mark.unit

PROM_DIR = Path(config.__file__).resolve().parent
REPO = PROM_DIR.parent
RULE_FILES = sorted(PROM_DIR.glob("rules/*.yml"))
TEST_FILES = sorted(PROM_DIR.glob("tests/*.yml"))
SEVERITIES = {"critical", "warning", "info"}
COMPONENTS = {"drift", "monitor", "performance"}
DASHBOARDS = ("driftmon-model/", "driftmon-pipeline/", "driftmon-overview/")


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found on PATH: install it with `apt-get install {package}`")
    return path


def run(argv: list[str], cwd: Path = PROM_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def run_ok(argv: list[str], cwd: Path = PROM_DIR) -> str:
    proc = run(argv, cwd)
    assert proc.returncode == 0, f"{' '.join(argv)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def promtool(*args: str, cwd: Path = PROM_DIR) -> str:
    return run_ok([tool("promtool", "prometheus"), *args], cwd)


def amtool_argv(*args: str) -> list[str]:
    return [tool("amtool", "prometheus-alertmanager"), *args]


def rules() -> list[dict[str, Any]]:
    return [
        rule
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def alerts() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


# --- committed files equal a fresh render ------------------------------------------------------


def compose_prometheus() -> str:
    return config.render_prometheus_config(
        config.COMPOSE_WORKER_TARGETS,
        config.COMPOSE_API_TARGETS,
        config.COMPOSE_ALERTMANAGER_URL,
        config.COMPOSE_RULE_FILES,
        sinks_targets=config.COMPOSE_SINKS_TARGETS,
    )


def test_committed_prometheus_yml_equals_render() -> None:
    assert (PROM_DIR / "prometheus.yml").read_text() == compose_prometheus()


def test_committed_alertmanager_yml_equals_render() -> None:
    rendered = config.render_alertmanager_config(
        config.COMPOSE_WEBHOOK_URL,
        webhook_credentials_file=config.COMPOSE_WEBHOOK_CREDENTIALS_FILE,
    )
    assert (PROM_DIR / "alertmanager.yml").read_text() == rendered


def test_cli_renders_the_committed_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DRIFT_ALERT_EMAIL_TO", "DRIFT_ALERT_SLACK_API_URL_FILE"):
        monkeypatch.delenv(name, raising=False)
    for command in ("prometheus", "alertmanager"):
        assert main([command, "--out", str(tmp_path / f"{command}.yml")]) == 0
        committed = (PROM_DIR / f"{command}.yml").read_text()
        assert (tmp_path / f"{command}.yml").read_text() == committed


def test_cli_reports_bad_channel_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFT_ALERT_EMAIL_TO", "ops@example.com")
    monkeypatch.delenv("DRIFT_ALERT_EMAIL_FROM", raising=False)
    assert main(["alertmanager"]) == 2


# --- prometheus.yml ----------------------------------------------------------------------------


def test_promtool_checks_committed_config_and_its_rules() -> None:
    out = promtool("check", "config", str(PROM_DIR / "prometheus.yml"))
    assert f"SUCCESS: {len(RULE_FILES)} rule files found" in out


def test_promtool_checks_rendered_local_config(tmp_path: Path) -> None:
    text = config.render_prometheus_config(
        ["127.0.0.1:41001", "127.0.0.1:41002"],
        ["127.0.0.1:41003"],
        "http://127.0.0.1:41004",
        [str(path) for path in RULE_FILES],
        scrape_interval="1s",
        evaluation_interval="1s",
        sinks_targets=["127.0.0.1:41005"],
    )
    (tmp_path / "prometheus.yml").write_text(text)
    out = promtool("check", "config", str(tmp_path / "prometheus.yml"), cwd=tmp_path)
    assert f"SUCCESS: {len(RULE_FILES)} rule files found" in out
    doc = yaml.safe_load(text)
    jobs = {job["job_name"]: job["static_configs"][0]["targets"] for job in doc["scrape_configs"]}
    assert jobs == {
        "driftmon-worker": ["127.0.0.1:41001", "127.0.0.1:41002"],
        "driftmon-api": ["127.0.0.1:41003"],
        "driftmon-sinks": ["127.0.0.1:41005"],
    }
    assert doc["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "127.0.0.1:41004"
    ]


def test_alertmanager_url_scheme_and_prefix() -> None:
    text = config.render_prometheus_config([], [], "https://am.example:9443/am/", ["r.yml"])
    endpoint = yaml.safe_load(text)["alerting"]["alertmanagers"][0]
    assert endpoint["scheme"] == "https"
    assert endpoint["path_prefix"] == "/am/"
    assert endpoint["static_configs"] == [{"targets": ["am.example:9443"]}]
    bare = yaml.safe_load(config.render_prometheus_config([], [], "am:9093", []))
    assert bare["alerting"]["alertmanagers"][0]["scheme"] == "http"


@pytest.mark.parametrize(
    "kwargs",
    [{"alertmanager_url": "ftp://am:21"}, {"scrape_interval": "15"}, {"evaluation_interval": ""}],
)
def test_render_prometheus_config_rejects_bad_input(kwargs: dict[str, str]) -> None:
    args: dict[str, Any] = {
        "worker_targets": ["w:1"],
        "api_targets": ["a:2"],
        "alertmanager_url": "http://am:9093",
        "rule_files": ["r.yml"],
    }
    with pytest.raises(ValueError):
        config.render_prometheus_config(**{**args, **kwargs})


# --- rules -------------------------------------------------------------------------------------


def test_promtool_check_rules_lint() -> None:
    out = promtool("check", "rules", "--lint=all", "--lint-fatal", *map(str, RULE_FILES))
    assert out.count("SUCCESS") == len(RULE_FILES)


def test_promtool_unit_tests_pass() -> None:
    out = promtool("test", "rules", *map(str, TEST_FILES))
    assert out.count("SUCCESS") == len(TEST_FILES)


def test_promtool_unit_tests_cover_every_rule() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    exprs: list[str] = []
    for path in TEST_FILES:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
            exprs += [check["expr"] for check in case.get("promql_expr_test", [])]
    names = {rule["alert"] for rule in alerts()}
    assert names - firing == set(), "alerts without a firing case"
    assert names - quiet == set(), "alerts without a pending / resolved case"
    records = {rule["record"] for rule in rules() if "record" in rule}
    assert records - set(exprs) == set(), "recording rules without a known-answer test"


def test_promtool_unit_tests_notice_a_shorter_for(tmp_path: Path) -> None:
    """The pending checks are real: with every `for:` at 1s the drift tests must fail."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    drift = (PROM_DIR / "rules" / "drift.yml").read_text()
    (tmp_path / "rules" / "drift.yml").write_text(config.rewrite_for_durations(drift, "1s"))
    shutil.copy(PROM_DIR / "tests" / "drift_test.yml", tmp_path / "tests")
    proc = run([tool("promtool", "prometheus"), "test", "rules", "tests/drift_test.yml"], tmp_path)
    assert proc.returncode != 0
    assert "FAILED" in proc.stdout + proc.stderr


def test_rewrite_for_durations(tmp_path: Path) -> None:
    for path in RULE_FILES:
        text = config.rewrite_for_durations(path.read_text(), "2s")
        rewritten = [r for g in yaml.safe_load(text)["groups"] for r in g["rules"]]
        original = [r for g in yaml.safe_load(path.read_text())["groups"] for r in g["rules"]]
        assert [r.get("expr") for r in rewritten] == [r.get("expr") for r in original]
        for rule in rewritten:
            assert rule.get("for") == ("2s" if "alert" in rule else None)
        (tmp_path / path.name).write_text(text)
    promtool("check", "rules", "--lint=all", "--lint-fatal", *map(str, tmp_path.glob("*.yml")))
    assert set(config.load_rules(for_="1s")) == {f"rules/{p.name}" for p in RULE_FILES}


@pytest.mark.parametrize(("text", "for_"), [("groups: []", "soon"), ("rules: []", "1s")])
def test_rewrite_for_durations_rejects_bad_input(text: str, for_: str) -> None:
    with pytest.raises(ValueError):
        config.rewrite_for_durations(text, for_)


def test_rewrite_grafana_url() -> None:
    drift = (PROM_DIR / "rules" / "drift.yml").read_text()
    text = config.rewrite_grafana_url(drift, "https://grafana.example/")
    links = [
        r["annotations"]["dashboard"] for g in yaml.safe_load(text)["groups"] for r in g["rules"]
    ]
    assert links and all(link.startswith("https://grafana.example/d/") for link in links)


def test_alert_labels_and_annotations() -> None:
    for rule in alerts():
        name = rule["alert"]
        assert rule["labels"]["severity"] in SEVERITIES, name
        assert rule["labels"]["component"] in COMPONENTS, name
        notes = rule["annotations"]
        assert {"summary", "description", "value", "dashboard"} <= set(notes), name
        assert notes["value"] == "{{ $value }}", name
        assert "{{ $value }}" in notes["description"], name
        assert notes["dashboard"].startswith(f"{config.DEFAULT_GRAFANA_URL}/d/"), name
        assert any(uid in notes["dashboard"] for uid in DASHBOARDS), name
        assert re.fullmatch(r"\d+[smh]", rule["for"]), name
        if rule["labels"]["component"] != "monitor":
            assert "var-model_id={{ $labels.model_id }}" in notes["dashboard"], name


def test_rules_name_only_contract_metrics() -> None:
    doc = (REPO / "docs" / "architecture.md").read_text()
    section = doc.split("## Prometheus metrics (contract)")[1].split("\n## ")[0]
    contract = set(re.findall(r"`(drift_[a-z0-9_]+)`", section)) | {"up"}
    used: set[str] = set()
    for rule in rules():
        used |= set(re.findall(r"(?<![:\w])(drift_[a-z0-9_]+)", rule["expr"]))
    base = {re.sub(r"_(bucket|count|sum)$", "", name) for name in used}
    assert base - contract == set()
    records = [rule["record"] for rule in rules() if "record" in rule]
    assert all(re.fullmatch(r"[a-z_]+:drift_[a-z0-9_]+:[a-z0-9_]+", r) for r in records)


# --- alertmanager.yml --------------------------------------------------------------------------


def amtool_check(path: Path) -> str:
    return run_ok(amtool_argv("check-config", str(path)))


def test_amtool_checks_committed_config() -> None:
    assert "SUCCESS" in amtool_check(PROM_DIR / "alertmanager.yml")


def test_inhibit_rules_name_existing_alerts() -> None:
    doc = yaml.safe_load((PROM_DIR / "alertmanager.yml").read_text())
    names = {rule["alert"] for rule in alerts()}
    for inhibit in doc["inhibit_rules"]:
        for matcher in inhibit["source_matchers"]:
            pattern = re.fullmatch(r'alertname=~?"(.+)"', matcher)
            assert pattern, matcher
            assert set(pattern.group(1).split("|")) <= names
        targets = {f'component="{c}"' for c in COMPONENTS - {"monitor"}}
        assert targets & set(inhibit["target_matchers"])


ROUTES = [
    ("driftmon-critical", ["alertname=ModelPredictionDrift", "severity=critical", "model_id=m1"]),
    (
        "driftmon-critical",
        ["alertname=DriftmonTargetDown", "severity=critical", "component=monitor"],
    ),
    (
        "driftmon-ops",
        ["alertname=DriftmonEvaluationStale", "severity=warning", "component=monitor"],
    ),
    ("driftmon-webhook", ["alertname=DriftDetected", "severity=warning", "component=drift"]),
    ("driftmon-webhook", ["alertname=DriftPSIHigh", "severity=info", "model_id=m1"]),
    (
        "driftmon-critical",
        ["alertname=ModelPerformanceDegraded", "severity=critical", "component=performance"],
    ),
    (
        "driftmon-performance",
        ["alertname=ModelEstimatedAccuracyLow", "severity=warning", "component=performance"],
    ),
    ("driftmon-webhook", ["alertname=SomethingElse"]),
]


@pytest.mark.parametrize(("receivers", "labels"), ROUTES)
def test_amtool_routes_committed(receivers: str, labels: list[str]) -> None:
    config_file = f"--config.file={PROM_DIR / 'alertmanager.yml'}"
    run_ok(
        amtool_argv(
            "config", "routes", "test", config_file, f"--verify.receivers={receivers}", *labels
        )
    )


def test_amtool_route_verification_can_fail() -> None:
    config_file = f"--config.file={PROM_DIR / 'alertmanager.yml'}"
    argv = amtool_argv(
        "config", "routes", "test", config_file, "--verify.receivers=driftmon-webhook"
    )
    assert run([*argv, "severity=critical"]).returncode != 0


MODEL_ROUTES = [
    ("driftmon-model-fraud-v2,driftmon-webhook", ["model_id=fraud-v2", "severity=warning"]),
    ("driftmon-model-fraud-v2,driftmon-critical", ["model_id=fraud-v2", "severity=critical"]),
    ("driftmon-webhook", ["model_id=fraud-v3", "severity=warning"]),
]


@pytest.mark.parametrize(("receivers", "labels"), MODEL_ROUTES)
def test_amtool_model_specific_routes(tmp_path: Path, receivers: str, labels: list[str]) -> None:
    text = config.render_alertmanager_config(
        "http://127.0.0.1:8000/alertmanager/webhook",
        "0s",
        "1s",
        "1m",
        model_webhooks={"fraud-v2": "http://fraud-team.example/hook"},
    )
    path = tmp_path / "alertmanager.yml"
    path.write_text(text)
    amtool_check(path)
    argv = ["config", "routes", "test", f"--config.file={path}", f"--verify.receivers={receivers}"]
    run_ok(amtool_argv(*argv, *labels))


def test_model_webhooks_reject_bad_model_id() -> None:
    with pytest.raises(ValueError, match="model id"):
        config.render_alertmanager_config("http://x/hook", model_webhooks={'a"b': "http://y"})


# --- email and Slack from the environment ------------------------------------------------------

FULL_ENV = {
    "DRIFT_ALERT_EMAIL_TO": "ml-oncall@example.com",
    "DRIFT_ALERT_EMAIL_FROM": "driftmon@example.com",
    "DRIFT_ALERT_SMTP_SMARTHOST": "smtp.example.com:587",
    "DRIFT_ALERT_SMTP_USERNAME": "driftmon",
    "DRIFT_ALERT_SLACK_CHANNEL": "#ml-alerts",
}


def test_no_channels_without_environment() -> None:
    assert channels_from_env({}) == NotificationChannels()


def test_channels_from_env_render_valid_config_without_secrets(tmp_path: Path) -> None:
    password, slack_url = tmp_path / "smtp_password", tmp_path / "slack_url"
    password.write_text("s3cret-password\n")
    slack_url.write_text("https://hooks.slack.com/services/T0/B0/s3cret\n")
    env = {
        **FULL_ENV,
        "DRIFT_ALERT_SMTP_PASSWORD_FILE": str(password),
        "DRIFT_ALERT_SLACK_API_URL_FILE": str(slack_url),
    }
    text = config.render_alertmanager_config(
        config.COMPOSE_WEBHOOK_URL, channels=channels_from_env(env)
    )
    assert "s3cret" not in text
    path = tmp_path / "alertmanager.yml"
    path.write_text(text)
    amtool_check(path)
    receivers = {r["name"]: r for r in yaml.safe_load(text)["receivers"]}
    critical = receivers["driftmon-critical"]
    assert critical["email_configs"][0]["auth_password_file"] == str(password)
    assert critical["slack_configs"][0]["api_url_file"] == str(slack_url)
    assert receivers["driftmon-ops"]["slack_configs"][0]["channel"] == "#ml-alerts"
    assert "email_configs" not in receivers["driftmon-ops"]
    assert all(r["webhook_configs"] for r in receivers.values())


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"DRIFT_ALERT_EMAIL_TO": "a@example.com"}, "DRIFT_ALERT_EMAIL_FROM"),
        ({"DRIFT_ALERT_SLACK_API_URL_FILE": "/run/secrets/slack"}, "DRIFT_ALERT_SLACK_CHANNEL"),
        ({**FULL_ENV, "DRIFT_ALERT_SMTP_REQUIRE_TLS": "maybe"}, "DRIFT_ALERT_SMTP_REQUIRE_TLS"),
    ],
)
def test_channels_from_env_name_the_missing_setting(env: dict[str, str], missing: str) -> None:
    with pytest.raises(ValueError, match=missing):
        channels_from_env(env)
