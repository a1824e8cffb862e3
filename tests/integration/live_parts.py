"""Standalone parts of the live stack (``tests.integration.live_stack``): polling with a
deadline, a stand-in Grafana recording annotation requests, the `driftmon api` process and a
plain HTTP GET."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from harness.process import free_port
from tests.integration.workers import REPO


def deadline_poll(
    predicate: Callable[[], Any],
    timeout: float,
    what: str,
    guard: Callable[[], None] | None = None,
) -> Any:
    """``predicate()`` once it is truthy; AssertionError naming ``what`` after ``timeout`` s.

    ``guard`` runs before each try and raises to stop early (a process that exited).
    """
    deadline = time.monotonic() + timeout
    while True:
        if guard is not None:
            guard()
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


# --- a stand-in Grafana ---------------------------------------------------------------------
class FakeGrafana:
    """Answers Grafana's annotation API and records the bodies; ``fail_first`` answers 500."""

    def __init__(self, fail_first: int = 0) -> None:
        self.annotations: list[dict[str, Any]] = []
        self.failures_left = fail_first
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"] or 0)))
                with fake.lock:
                    failing = self.path == "/api/annotations" and fake.failures_left > 0
                    if failing:
                        fake.failures_left -= 1
                    elif self.path == "/api/annotations":
                        fake.annotations.append(body)
                    n = len(fake.annotations)
                if self.path != "/api/annotations":
                    self._reply(404, {"message": "not found"})
                elif failing:
                    self._reply(500, {"message": "injected failure"})
                else:
                    self._reply(200, {"id": n, "message": "Annotation added"})

            def do_GET(self) -> None:
                self._reply(200, {"database": "ok", "version": "11.6.0"})

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def received(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.annotations)

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the API as a real process ----------------------------------------------------------------
class ApiProcess:
    def __init__(self, bootstrap: str, dsn: str, prefix: str, log_dir: Path) -> None:
        self.port = free_port()
        self.log_path = log_dir / f"api-{uuid.uuid4().hex[:6]}.log"
        self.env = {
            **os.environ,
            "DRIFT_KAFKA_BOOTSTRAP": bootstrap,
            "DRIFT_DATABASE_URL": dsn,
            "DRIFT_TOPIC_PREFIX": f"{prefix}-",
            "DRIFT_RUN_MIGRATIONS": "false",
            "DRIFT_INSECURE_LOCAL": "1",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        argv = [sys.executable, "-m", "driftmon_cli", "--log-level", "WARNING", "api"]
        self.proc = subprocess.Popen(
            [*argv, "--port", str(self.port)],
            env=self.env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def log_tail(self, n: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])


def http_text(url: str) -> str | None:
    """The body of a 200 answer, else None (connection refused, not ready, ...)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return str(resp.read().decode()) if resp.status == 200 else None
    except OSError:
        return None


# --- the live scenario --------------------------------------------------------------------
