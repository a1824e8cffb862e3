"""The whole stack on loopback, fed live: worker, API, Prometheus, Alertmanager, a fake Grafana.

``live_stack`` starts the `driftmon worker` and `driftmon api` processes on a fresh database and
topics, then Alertmanager (webhook → the API) and Prometheus (scraping both, every rule with
``for:`` shortened), and a stand-in Grafana in this process that records annotation requests.
``Feeder`` posts live events (timestamp = now) through the API in the calm or the drifted
distribution, so drift starts and ends within seconds of switching.
"""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from harness import AlertmanagerServer, KafkaBroker, PostgresServer, PrometheusServer
from prometheus.config import load_rules, render_alertmanager_config, render_prometheus_config
from sql.migrations import migrate
from tests.integration.live_parts import ApiProcess, FakeGrafana, deadline_poll, http_text
from tests.integration.workers import WorkerProcess, query

MODEL = "fraud-live"
STREAM = "input.x"
RATE = 200  # events per second of wall clock (= event time)
TICK = 0.1  # seconds between batches
# small windows so drift starts and ends within seconds (live event time)
WORKER_SETTINGS: dict[str, Any] = {
    "bucket_seconds": 1,
    "recent_seconds": 2,
    "baseline_seconds": 20,
    "lateness_seconds": 0,
    "idle_close_seconds": 1,
    "min_recent": 200,
    "min_baseline": 1000,
    "alert_open_after": 1,
    "alert_resolve_after": 2,
    "batch_within": 0.1,
    "sink_lag_seconds": 1,
    # one-minute performance windows, recomputed every second (labels come at once)
    "performance_interval_seconds": 1,
    "performance_window_seconds": 60,
    "performance_min_labelled": 20,
}
FOR = "2s"


class Feeder(threading.Thread):
    """Posts ``RATE`` live events/s of one model through the API; ``mode`` picks the shape.

    calm: x ~ N(0, 1), 30 % positive; drifted: x ~ N(3, 1), 80 % positive. With ``labels``
    each batch is followed by its labels (``POST /labels/batch``), 90 % equal to the prediction.
    With ``embeddings`` (a dimension) every event carries ``embeddings.v`` ~ N(0, I) in every
    mode: the vector stream ``embedding.v`` never drifts.
    """

    def __init__(self, api_url: str, model_id: str = MODEL) -> None:
        super().__init__(name="feeder", daemon=True)
        self.api_url, self.model_id = api_url, model_id
        self.mode = "calm"
        self.labels = False
        self.embeddings = 0
        self.sent = 0
        self.labelled = 0
        self.errors: list[str] = []
        self.stopping = threading.Event()
        self.rng = np.random.default_rng(11)

    def batch(self, now: float, n: int) -> list[dict[str, Any]]:
        drifted = self.mode == "drifted"
        x = self.rng.normal(3.0 if drifted else 0.0, 1.0, n)
        positive = self.rng.random(n) < (0.8 if drifted else 0.3)
        first = self.sent + self.rng.integers(1 << 40)
        vectors = self.rng.normal(0.0, 1.0, (n, self.embeddings)).round(4).tolist()
        events = [
            {
                "model_id": self.model_id,
                "event_id": f"f{first + i}",
                "timestamp": now - TICK + TICK * i / n,
                "input_data": {"x": float(xi)},
                "prediction": {"class": "positive" if p else "negative", "score": 0.5},
                "confidence": 0.9,
            }
            for i, (xi, p) in enumerate(zip(x, positive, strict=True))
        ]
        if self.embeddings:
            for event, vector in zip(events, vectors, strict=True):
                event["embeddings"] = {"v": vector}
        return events

    def run(self) -> None:
        n = int(RATE * TICK)
        with httpx.Client(base_url=self.api_url, timeout=10) as client:
            next_tick = time.monotonic()
            while not self.stopping.is_set():
                batch = self.batch(time.time(), n)
                resp = client.post("/inference/batch", json=batch)
                if resp.status_code == 202:
                    self.sent += n
                    if self.labels:
                        self._label(client, batch)
                elif len(self.errors) < 20:
                    self.errors.append(f"{resp.status_code}: {resp.text[:200]}")
                next_tick += TICK
                self.stopping.wait(max(0.0, next_tick - time.monotonic()))

    def _label(self, client: httpx.Client, batch: list[dict[str, Any]]) -> None:
        right = self.rng.random(len(batch)) < 0.9
        flip = {"positive": "negative", "negative": "positive"}
        labels = [
            {
                "model_id": e["model_id"],
                "event_id": e["event_id"],
                "label": e["prediction"]["class"] if r else flip[e["prediction"]["class"]],
            }
            for e, r in zip(batch, right.tolist(), strict=True)
        ]
        resp = client.post("/labels/batch", json=labels)
        if resp.status_code == 202:
            self.labelled += len(labels)
        elif len(self.errors) < 20:
            self.errors.append(f"labels {resp.status_code}: {resp.text[:200]}")

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)


# --- the stack ----------------------------------------------------------------------------
@dataclass
class LiveStack:
    worker: WorkerProcess
    api: ApiProcess
    prometheus: PrometheusServer
    alertmanager: AlertmanagerServer
    grafana: FakeGrafana
    dsn: str
    prefix: str
    bootstrap: str

    def prom_query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector of ``expr`` at Prometheus' now."""
        resp = httpx.get(f"{self.prometheus.url}/api/v1/query", params={"query": expr}, timeout=10)
        resp.raise_for_status()
        return list(resp.json()["data"]["result"])

    def notifications(self, **params: str) -> list[dict[str, Any]]:
        """GET /alerts/notifications of the API (what Alertmanager delivered)."""
        resp = httpx.get(f"{self.api.url}/alerts/notifications", params=params, timeout=10)
        resp.raise_for_status()
        return list(resp.json()["items"])

    def poll(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        """``deadline_poll`` that stops when a process exits and fails with the logs."""
        try:
            return deadline_poll(predicate, timeout, what, self.check_alive)
        except AssertionError as exc:
            raise AssertionError(f"{exc}{self.diagnostics()}") from None

    def check_alive(self) -> None:
        """Fail at once (with its log) when the worker or the API process has exited."""
        _alive(self.worker.proc, "the worker", self.worker.log_tail)
        _alive(self.api.proc, "the API", self.api.log_tail)

    def diagnostics(self) -> str:
        return (
            f"\n--- worker log:\n{self.worker.log_tail()}\n--- api log:\n{self.api.log_tail()}"
            f"\n--- prometheus log:\n{self.prometheus.process.log_tail()}"
            f"\n--- alertmanager log:\n{self.alertmanager.process.log_tail()}"
        )


def _alive(proc: subprocess.Popen[bytes] | None, what: str, tail: Callable[[], str]) -> None:
    if proc is not None and proc.poll() is not None:
        raise AssertionError(f"{what} exited ({proc.returncode}):\n{tail()}")


@contextmanager
def live_stack(
    kafka: KafkaBroker, postgres: PostgresServer, workdir: Path, grafana_fail_first: int = 0
) -> Iterator[LiveStack]:
    """Start worker, API, Alertmanager → API webhook, Prometheus → both; stop them all after."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    dsn = postgres.create_database(f"live_{prefix}")
    migrate(dsn)
    with ExitStack() as stack:
        grafana = FakeGrafana(fail_first=grafana_fail_first)
        grafana.start()
        stack.callback(grafana.close)
        worker = WorkerProcess(
            kafka.bootstrap,
            dsn,
            prefix,
            workdir,
            **WORKER_SETTINGS,
            grafana_url=grafana.url,
        )
        worker.start()
        stack.callback(worker.stop)
        deadline_poll(
            lambda: http_text(worker.metrics_url),
            90,
            "the worker's /metrics",
            lambda: _alive(worker.proc, "the worker", worker.log_tail),
        )
        api = ApiProcess(kafka.bootstrap, dsn, prefix, workdir)
        api.start()
        stack.callback(api.stop)
        deadline_poll(
            lambda: http_text(f"{api.url}/healthz"),
            60,
            "the API's /healthz",
            lambda: _alive(api.proc, "the API", api.log_tail),
        )
        am = AlertmanagerServer(
            render_alertmanager_config(f"{api.url}/alertmanager/webhook", "0s", "1s", "1h")
        )
        am.start()
        stack.callback(am.close)
        rules = load_rules(for_=FOR)
        prom = PrometheusServer(
            render_prometheus_config(
                [f"127.0.0.1:{worker.web_port}"],
                [f"127.0.0.1:{api.port}"],
                am.url,
                list(rules),
                "1s",
                "1s",
                sinks_targets=[f"127.0.0.1:{worker.sinks_web_port}"],
            ),
            rules,
        )
        prom.start()
        stack.callback(prom.close)
        yield LiveStack(worker, api, prom, am, grafana, dsn, prefix, kafka.bootstrap)


# --- steps of a drift episode ---------------------------------------------------------------
def worker_gauge(stack: LiveStack, name: str, **labels: str) -> float | None:
    """The value of one series on the worker's /metrics page right now (None when absent)."""
    text = http_text(stack.worker.metrics_url) or ""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


def wait_verdict(stack: LiveStack, value: float, timeout: float) -> float:
    """Poll the worker until drift_detected of (MODEL, STREAM) is ``value``; the time it was."""
    stack.poll(
        lambda: worker_gauge(stack, "drift_detected", model_id=MODEL, stream=STREAM) == value,
        timeout,
        f"drift_detected{{stream={STREAM!r}}} == {value} on the worker",
    )
    return time.monotonic()


def pin_baseline(stack: LiveStack, timeout: float = 30) -> None:
    """PUT /models/MODEL/baseline, then wait until a drift run used the pinned baseline."""
    resp = httpx.put(f"{stack.api.url}/models/{MODEL}/baseline", timeout=10)
    assert resp.status_code == 202, resp.text
    stack.poll(
        lambda: query(
            stack.dsn,
            "SELECT 1 FROM drift_runs WHERE model_id = %s AND baseline_mode = 'pinned'",
            (MODEL,),
        ),
        timeout,
        "a drift run against the pinned baseline",
    )


def notification(
    stack: LiveStack, status: str, alertname: str = "DriftDetected", stream: str = STREAM
) -> dict[str, Any] | None:
    """The newest notification Alertmanager delivered to the API webhook for ``stream``."""
    items = stack.notifications(status=status, model_id=MODEL, alertname=alertname)
    return next((n for n in items if n.get("stream") == stream), None)


@dataclass(frozen=True)
class Episode:
    """Seconds from the worker's gauge change to the webhook's notification."""

    to_firing: float
    to_resolved: float
    firing: dict[str, Any]
    resolved: dict[str, Any]


def drift_episode(stack: LiveStack, feeder: Feeder, timeout: float = 60) -> Episode:
    """Calm data until a verdict, pin the baseline, drift until Alertmanager notifies the
    webhook (firing), back to calm until it notifies again (resolved)."""
    wait_verdict(stack, 0, timeout)
    pin_baseline(stack)
    feeder.mode = "drifted"
    drifted = wait_verdict(stack, 1, timeout)
    firing = stack.poll(
        lambda: notification(stack, "firing"),
        timeout,
        "a firing DriftDetected notification at the webhook",
    )
    to_firing = time.monotonic() - drifted
    feeder.mode = "calm"
    calm = wait_verdict(stack, 0, timeout)
    resolved = stack.poll(
        lambda: notification(stack, "resolved"),
        timeout,
        "a resolved DriftDetected notification at the webhook",
    )
    return Episode(to_firing, time.monotonic() - calm, firing, resolved)
