"""Apache Kafka 4.x assembled from Maven Central jars, run as one KRaft broker+controller.

The jars are fetched once with Maven (``harness/kafka/pom.xml``) into a cache outside the
repository (``$DRIFT_CACHE_DIR`` or ``~/.cache/driftmon``), keyed by version.
"""

from __future__ import annotations

import base64
import fcntl
import logging
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from harness.process import ManagedProcess, ServiceError, free_port, require_binary

KAFKA_VERSION = "4.1.1"
POM = Path(__file__).parent / "kafka" / "pom.xml"
LOG4J2 = """status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = STDOUT
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = info
"""


_QUIET = logging.getLogger("harness.kafka.probe")  # librdkafka's connect-refused noise


def cache_dir() -> Path:
    return Path(os.environ.get("DRIFT_CACHE_DIR", Path.home() / ".cache" / "driftmon"))


def ensure_kafka_libs(version: str = KAFKA_VERSION) -> Path:
    """The libs/ folder of Kafka ``version``, downloading it from Maven Central if needed.

    Safe when several setups run at once on one machine (worktrees, parallel CI jobs): one
    downloads under a file lock into a private folder and renames it into place; the others
    wait for the lock and find it complete."""
    home = cache_dir() / f"kafka-{version}"
    libs = home / "libs"
    if (libs / ".complete").exists():
        return libs
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if (libs / ".complete").exists():
            return libs
        mvn = require_binary("mvn", hint="install Maven (apt-get install maven)")
        require_binary("java", hint="install a JDK 17+ (apt-get install openjdk-17-jre-headless)")
        staging = Path(tempfile.mkdtemp(prefix="libs-", dir=home))
        cmd = [
            mvn,
            "-B",
            "-q",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-Dkafka.version={version}",
            f"-DoutputDirectory={staging}",
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
            shutil.rmtree(staging, ignore_errors=True)
            output = f"{result.stdout}{result.stderr}"
            raise ServiceError(f"could not fetch Kafka {version} jars:\n{output}")
        (staging / ".complete").touch()
        if libs.exists():
            shutil.rmtree(libs)  # an incomplete folder from an interrupted download
        staging.rename(libs)
    return libs


def _cluster_id() -> str:
    """16 random bytes, url-safe base64 (as `kafka-storage random-uuid`); never starting with
    '-', which the storage tool's argument parser would take for an option."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


class KafkaBroker:
    """A single-node KRaft Kafka on free loopback ports; restartable on the same data."""

    def __init__(self, partitions: int = 8, heap: str = "768m") -> None:
        self.libs = ensure_kafka_libs()
        self.port = free_port()
        self.controller_port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="driftmon-kafka-"))
        self.partitions = partitions
        self.heap = heap
        self._write_config()
        self._format()
        self.process = ManagedProcess("kafka", self._argv(), self.workdir / "kafka.log")

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _write_config(self) -> None:
        listeners = (
            f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
        )
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
            "listeners": listeners,
            "advertised.listeners": listeners,
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.workdir / "data"),
            "num.partitions": str(self.partitions),
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "8",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "8",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "log.cleaner.dedupe.buffer.size": "33554432",
            "auto.create.topics.enable": "false",
        }
        text = "".join(f"{k}={v}\n" for k, v in props.items())
        (self.workdir / "server.properties").write_text(text)
        (self.workdir / "log4j2.properties").write_text(LOG4J2)

    def _java(self, *jvm_opts: str) -> list[str]:
        java = require_binary("java", hint="install a JDK 17+")
        return [java, *jvm_opts, "-cp", f"{self.libs}/*"]

    def _format(self) -> None:
        cmd = [
            *self._java("-Xmx256m"),
            "kafka.tools.StorageTool",
            "format",
            "--standalone",
            "-t",
            _cluster_id(),
            "-c",
            str(self.workdir / "server.properties"),
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ServiceError(f"kafka storage format failed:\n{result.stdout}{result.stderr}")

    def _argv(self) -> list[str]:
        return [
            *self._java(
                f"-Xms{self.heap}",
                f"-Xmx{self.heap}",
                "-XX:+UseG1GC",
                f"-Dlog4j2.configurationFile={self.workdir / 'log4j2.properties'}",
                f"-Dkafka.logs.dir={self.workdir}",
            ),
            "kafka.Kafka",
            str(self.workdir / "server.properties"),
        ]

    def _metadata_answers(self) -> bool:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient(
            {"bootstrap.servers": self.bootstrap, "socket.timeout.ms": 2000}, logger=_QUIET
        )
        admin.list_topics(timeout=2)
        return True

    def start(self, timeout: float = 90.0) -> None:
        self.process.start()
        self.process.wait_ready(self._metadata_answers, timeout, "metadata request")

    def stop(self) -> None:
        self.process.stop(timeout=30)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def create_topics(self, names: list[str], partitions: int | None = None) -> None:
        """Create topics (existing ones are left alone) and wait until they exist."""
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        futures = admin.create_topics(
            [NewTopic(n, partitions or self.partitions, 1) for n in names], operation_timeout=30
        )
        for name, fut in futures.items():
            try:
                fut.result(60)
            except KafkaException as exc:
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise ServiceError(f"could not create topic {name}: {exc}") from exc
