"""The local stack for machines without Docker: services from the harness plus worker and API.

``up`` starts everything detached and writes ``.stack/state.json`` (pids, ports, directories);
``down`` stops what that file names and removes the temporary data.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.alertmanager import AlertmanagerServer
from harness.kafka import KafkaBroker
from harness.postgres import PostgresServer
from harness.process import ServiceError, free_port
from harness.prometheus import PrometheusServer, http_ok

STATE_DIR = Path(".stack")


@dataclass
class StackState:
    bootstrap: str = ""
    database_url: str = ""
    prometheus_url: str = ""
    alertmanager_url: str = ""
    api_url: str = ""
    worker_metrics_url: str = ""
    pids: dict[str, int] = field(default_factory=dict)
    workdirs: list[str] = field(default_factory=list)

    def save(self) -> None:
        STATE_DIR.mkdir(exist_ok=True)
        (STATE_DIR / "state.json").write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls) -> StackState | None:
        path = STATE_DIR / "state.json"
        return cls(**json.loads(path.read_text())) if path.exists() else None


def _spawn(name: str, argv: list[str], env: dict[str, str]) -> int:
    STATE_DIR.mkdir(exist_ok=True)
    log = open(STATE_DIR / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen(
        argv,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    return proc.pid


def _wait_http(url: str, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if http_ok(url):
                return
        except Exception:
            time.sleep(0.5)
    raise ServiceError(f"{what} did not answer {url} within {timeout:.0f}s (logs in {STATE_DIR}/)")


def up(worker_env: dict[str, str] | None = None, scrape: str = "5s") -> StackState:
    """Start Kafka, PostgreSQL, Prometheus, Alertmanager, the worker and the API."""
    from prometheus.config import load_rules, render_alertmanager_config, render_prometheus_config

    if StackState.load() is not None:
        raise ServiceError("a stack is already running here: `driftmon stack down` first")
    state = StackState()
    kafka, pg = KafkaBroker(), PostgresServer()
    kafka.start()
    pg.start()
    api_port, worker_port, sinks_port = free_port(), free_port(), free_port()
    am = AlertmanagerServer(
        render_alertmanager_config(
            f"http://127.0.0.1:{api_port}/alertmanager/webhook", "0s", "5s", "1h"
        )
    )
    am.start()
    prom = PrometheusServer(
        render_prometheus_config(
            [f"127.0.0.1:{worker_port}"],
            [f"127.0.0.1:{api_port}"],
            am.url,
            ["rules/*.yml"],
            scrape_interval=scrape,
            evaluation_interval=scrape,
            sinks_targets=[f"127.0.0.1:{sinks_port}"],  # the worker's sinks child
        ),
        load_rules(for_="30s"),
    )
    prom.start()
    for name, svc in (
        ("kafka", kafka),
        ("postgres", pg),
        ("alertmanager", am),
        ("prometheus", prom),
    ):
        assert svc.process.proc is not None
        state.pids[name] = svc.process.proc.pid
        state.workdirs.append(str(svc.workdir))
    state.bootstrap, state.database_url = kafka.bootstrap, pg.dsn()
    state.prometheus_url, state.alertmanager_url = prom.url, am.url
    state.api_url = f"http://127.0.0.1:{api_port}"
    state.worker_metrics_url = f"http://127.0.0.1:{worker_port}/metrics"
    state.save()
    env = {
        **os.environ,
        "DRIFT_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "DRIFT_DATABASE_URL": pg.dsn(),
        "DRIFT_WEB_PORT": str(worker_port),
        "DRIFT_SINKS_WEB_PORT": str(sinks_port),
        "DRIFT_PARTITIONS": "8",
        "DRIFT_INSECURE_LOCAL": "1",  # a throwaway local stack: writes need no API key
        **(worker_env or {}),
    }
    cli = [sys.executable, "-m", "driftmon_cli"]
    state.pids["worker"] = _spawn("worker", [*cli, "worker"], env)
    state.pids["api"] = _spawn("api", [*cli, "api", "--port", str(api_port)], env)
    state.save()
    _wait_http(f"{state.api_url}/healthz", 90, "the API")
    _wait_http(state.worker_metrics_url, 90, "the worker")
    return state


def down() -> bool:
    """Stop every process of the running stack and remove its data; False when none runs."""
    state = StackState.load()
    if state is None:
        return False
    for name in ("api", "worker", "prometheus", "alertmanager", "postgres", "kafka"):
        pid = state.pids.get(name)
        if pid:
            _stop_group(pid)
    for workdir in state.workdirs:
        shutil.rmtree(workdir, ignore_errors=True)
    (STATE_DIR / "state.json").unlink()
    return True


def _stop_group(pid: int, timeout: float = 20.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def fetch_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)
