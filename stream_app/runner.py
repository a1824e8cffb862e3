"""The sinks beside the faust worker: started in a process of their own, and topic declaration.

The worker runs ``driftmon sinks`` as a child process (``SinkProcess``), so writing to
PostgreSQL, decoding raw inferences for ``inference_logs`` included, never competes with drift
detection for the worker's interpreter. The child stops when the worker is gone (even after
kill -9) and the worker restarts a child that dies. ``driftmon sinks`` also runs alone, for
deployments that place the sinks elsewhere (``driftmon worker --no-sinks``).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading

from prometheus_client import CollectorRegistry

from drift.topics import Topics
from stream_app import performance_sinks
from stream_app.config import WorkerSettings
from stream_app.sink_lag import sink_groups
from stream_app.sinks import TopicSink
from stream_app.writers import AlertAnnotations, InferenceLogWriter, OutputWriter

log = logging.getLogger(__name__)


def _results_sink(settings: WorkerSettings, topics: Topics) -> TopicSink:
    s = settings
    group, sources = sink_groups(settings, topics)["results"]
    after_commit = None
    if s.grafana_url:
        from grafana.annotations import GrafanaAnnotator

        annotator = GrafanaAnnotator(s.grafana_url, s.grafana_token or None)
        annotations = AlertAnnotations(topics.alerts, annotator.annotate_alert)
        annotations.start()  # a daemon thread with a bounded queue: never blocks the sink
        after_commit = annotations.committed
    return TopicSink(
        "results-sink",
        s.kafka_bootstrap,
        group,
        sources,
        s.database_url,
        OutputWriter(topics.results, topics.alerts, topics.baselines),
        after_commit=after_commit,
    )


def start_sinks(settings: WorkerSettings, topics: Topics) -> list[TopicSink]:
    s = settings
    sinks = [_results_sink(settings, topics)]
    logs = sink_groups(settings, topics).get("inference_logs")
    if logs is not None:
        sinks.append(
            TopicSink(
                "inference-logs-sink",
                s.kafka_bootstrap,
                logs[0],
                logs[1],
                s.database_url,
                InferenceLogWriter(
                    s.inference_logs_sample_rate,
                    keep_seconds=s.recent_seconds + s.baseline_seconds,
                    horizon=s.dedup_horizon_seconds,
                    time_bounds=(s.max_future_seconds, s.event_age_bound()),
                ),
                batch=2000,
            )
        )
    for sink in sinks:
        sink.start()
    return sinks


def run_sinks(settings: WorkerSettings, parent_pid: int | None = None) -> None:
    """Run the sinks until SIGTERM or SIGINT, or until process ``parent_pid`` is gone."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    topics, registry = Topics(settings.topic_prefix), CollectorRegistry()
    sinks = [*start_sinks(settings, topics), *performance_sinks.start(settings, topics, registry)]
    performance_sinks.serve_metrics(settings, registry)
    log.info("sinks running: %s", ", ".join(s.name for s in sinks))
    while not stop.wait(0.5):
        if parent_pid is not None and os.getppid() != parent_pid:
            log.warning("the worker (pid %d) is gone: stopping the sinks", parent_pid)
            break
    for sink in sinks:
        sink.stop()
    for sink in sinks:
        sink.join(15)


def settings_env(settings: WorkerSettings) -> dict[str, str]:
    """The environment that gives a child process exactly these settings."""
    env = dict(os.environ)
    for name, value in settings.model_dump(mode="json").items():
        env[f"DRIFT_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    return env


class SinkProcess:
    """``driftmon sinks`` as a child of this process, started again if it dies."""

    def __init__(
        self, settings: WorkerSettings, log_level: str = "INFO", restart_after: float = 5.0
    ) -> None:
        self.settings, self.log_level, self.restart_after = settings, log_level, restart_after
        self.proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._supervise, name="sink-process", daemon=True)

    def _spawn(self) -> subprocess.Popen[bytes]:
        argv = [
            sys.executable,
            "-m",
            "driftmon_cli",
            "--log-level",
            self.log_level,
            "sinks",
            "--parent-pid",
            str(os.getpid()),
        ]
        return subprocess.Popen(argv, env=settings_env(self.settings))

    def start(self) -> None:
        self.proc = self._spawn()
        self._thread.start()

    def _supervise(self) -> None:
        while self.proc is not None:
            code = self.proc.wait()
            if code == 0 or self._stopping.wait(self.restart_after):
                return  # a clean exit: it was told to stop (SIGTERM to the process group)
            log.error("the sinks process exited with %s; starting it again", code)
            self.proc = self._spawn()

    def stop(self, timeout: float = 20.0) -> None:
        self._stopping.set()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def ensure_topics(settings: WorkerSettings, topics: Topics) -> None:
    """Declare every topic with the configured partition count (existing ones are kept).

    The source topic and the control topic must have the same partition count as the state
    table's changelog: a model's events, commands and state live in the same partition.
    """
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    wanted = [NewTopic(name, settings.partitions, 1) for name in topics.all()]
    for name, future in admin.create_topics(wanted, operation_timeout=30).items():
        try:
            future.result(60)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise RuntimeError(f"could not create topic {name}: {exc}") from exc
    meta = admin.list_topics(topics.events, timeout=30).topics[topics.events]
    if len(meta.partitions) != settings.partitions:
        raise RuntimeError(
            f"topic {topics.events} has {len(meta.partitions)} partitions but "
            f"DRIFT_PARTITIONS={settings.partitions}: they must match"
        )
