"""Prometheus from the Debian package on a free loopback port with temporary storage."""

from __future__ import annotations

import shutil
import tempfile
import urllib.request
from pathlib import Path

from harness.process import ManagedProcess, free_port, require_binary


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as resp:
        return bool(resp.status == 200)


class ReadyHttpService:
    """A loopback service with a ``/-/ready`` endpoint (Prometheus, Alertmanager)."""

    port: int
    workdir: Path
    process: ManagedProcess

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        self.process.start()
        self.process.wait_ready(lambda: http_ok(f"{self.url}/-/ready"), timeout, "/-/ready")

    def stop(self) -> None:
        self.process.stop()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


class PrometheusServer(ReadyHttpService):
    """Prometheus with a config written by the caller; ``reload()`` re-reads it."""

    def __init__(self, config_yaml: str, files: dict[str, str] | None = None) -> None:
        binary = require_binary("prometheus", hint="apt-get install prometheus")
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="driftmon-prom-"))
        self.write_config(config_yaml, files or {})
        argv = [
            binary,
            f"--config.file={self.workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-lifecycle",
            "--rules.alert.resend-delay=1s",
            "--log.level=warn",
        ]
        self.process = ManagedProcess("prometheus", argv, self.workdir / "prometheus.log")

    def write_config(self, config_yaml: str, files: dict[str, str]) -> None:
        """Write prometheus.yml and extra files (rules) into the working directory."""
        for name, text in files.items():
            path = self.workdir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        (self.workdir / "prometheus.yml").write_text(config_yaml)

    def reload(self) -> None:
        req = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        urllib.request.urlopen(req, timeout=10).close()
