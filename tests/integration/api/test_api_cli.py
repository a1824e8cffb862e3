"""`driftmon api`: the subcommand serves the app with uvicorn."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from api_support import free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def test_help_lists_the_options():
    out = subprocess.run(
        [sys.executable, "driftmon_cli.py", "api", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--host" in out and "--port" in out and "DRIFT_DATABASE_URL" in out


def test_driftmon_api_serves_healthz(kafka, db_dsn, topic_prefix, topics):
    port = free_port()
    env = {
        **os.environ,
        "DRIFT_DATABASE_URL": db_dsn,
        "DRIFT_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "DRIFT_TOPIC_PREFIX": topic_prefix,
    }
    cmd = [sys.executable, "driftmon_cli.py", "api", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    try:
        deadline, status = time.monotonic() + 30, None
        while status != 200 and time.monotonic() < deadline:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code
            except httpx.TransportError:
                time.sleep(0.2)
        assert status == 200
    finally:
        proc.terminate()
        # uvicorn shuts down gracefully, then re-raises SIGTERM
        assert proc.wait(30) in (0, -signal.SIGTERM)
