"""PostgreSQL from the Debian package, in its own data directory on a free loopback port.

initdb refuses to run as root, so as root the server runs as the ``postgres`` system user.
The cluster trusts loopback connections (a throwaway test/demo cluster, never production).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from harness.process import ManagedProcess, ServiceError, free_port

SUPERUSER = "postgres"
OWNER = "driftmon"


def _bin_dir() -> Path:
    explicit = os.environ.get("DRIFT_PG_BINDIR")
    candidates = [explicit] if explicit else sorted(glob.glob("/usr/lib/postgresql/*/bin"))[::-1]
    for cand in candidates:
        if cand and (Path(cand) / "initdb").exists():
            return Path(cand)
    raise ServiceError(
        "PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin): "
        "apt-get install postgresql, or set DRIFT_PG_BINDIR"
    )


def _run_as() -> dict[str, object]:
    if os.geteuid() != 0:
        return {}
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ServiceError("running as root needs the 'postgres' system user") from exc
    return {"user": "postgres", "group": "postgres"}


class PostgresServer:
    """A throwaway PostgreSQL cluster; stop()/start() keep the data (outage tests)."""

    def __init__(self) -> None:
        self.bindir = _bin_dir()
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="driftmon-pg-"))
        self.datadir = self.workdir / "data"
        self._as = _run_as()
        if self._as:
            shutil.chown(self.workdir, "postgres", "postgres")
        self._initdb()
        argv = [
            str(self.bindir / "postgres"),
            "-D",
            str(self.datadir),
            "-p",
            str(self.port),
            "-k",
            str(self.workdir),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
            "-c",
            "shared_buffers=128MB",
        ]
        self.process = ManagedProcess("postgresql", argv, self.workdir / "postgres.log", **self._as)

    def _initdb(self) -> None:
        cmd = [
            str(self.bindir / "initdb"),
            "-D",
            str(self.datadir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C",
        ]
        res = subprocess.run(cmd, capture_output=True, text=True, check=False, **self._as)  # type: ignore[call-overload]
        if res.returncode != 0:
            raise ServiceError(f"initdb failed:\n{res.stdout}{res.stderr}")

    def dsn(self, dbname: str = OWNER, user: str = OWNER) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"

    def _select_one(self) -> bool:
        import psycopg

        with psycopg.connect(self.dsn("postgres", SUPERUSER), connect_timeout=2) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)

    def start(self, timeout: float = 60.0) -> None:
        self.process.start()
        self.process.wait_ready(self._select_one, timeout, "SELECT 1")
        self._ensure_owner()

    def _ensure_owner(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn("postgres", SUPERUSER), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname=%s", (OWNER,)).fetchone():
                return
            conn.execute(f"CREATE ROLE {OWNER} LOGIN CREATEDB CREATEROLE")
            conn.execute(f"CREATE DATABASE {OWNER} OWNER {OWNER}")

    def create_database(self, name: str) -> str:
        """A fresh database owned by the app role; returns its DSN."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.dsn("postgres", SUPERUSER), autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(OWNER)
                )
            )
        return self.dsn(name)

    def create_login(self, user: str, password: str, member_of: str) -> None:
        """A login role (e.g. the read-only Grafana/API user) granted ``member_of``."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.dsn("postgres", SUPERUSER), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname=%s", (user,)).fetchone():
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(user), sql.Literal(password)
                    )
                )
            conn.execute(
                sql.SQL("GRANT {} TO {}").format(sql.Identifier(member_of), sql.Identifier(user))
            )

    def stop(self) -> None:
        self.process.stop(timeout=30)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
