"""API settings: one pydantic-settings class, env prefix ``DRIFT_``, defaults that run locally."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_DSN = "postgresql://driftmon@127.0.0.1:5432/driftmon"


class Settings(BaseSettings):
    """Every tunable of the API service (``DRIFT_<NAME>`` in the environment)."""

    model_config = SettingsConfigDict(env_prefix="DRIFT_", env_file=".env", extra="ignore")

    # PostgreSQL
    database_url: str = Field(
        default=LOCAL_DSN, description="writer DSN (webhook, thresholds, baseline)"
    )
    database_read_url: str = Field(
        default="",
        description="DSN of the read-only login (granted driftmon_reader) for the query "
        "endpoints; empty = database_url (local runs)",
    )
    db_pool_min_size: int = Field(default=1, ge=0, description="connections kept open per pool")
    db_pool_max_size: int = Field(default=10, ge=1, description="connections at most per pool")
    db_timeout_s: float = Field(default=5.0, gt=0, description="wait for a pooled connection (s)")
    db_statement_timeout_ms: int = Field(
        default=5000, ge=0, description="statement_timeout; 0 = off"
    )
    run_migrations: bool = Field(default=True, description="apply sql/ migrations at start-up")

    # Kafka
    kafka_bootstrap: str = Field(default="127.0.0.1:9092", description="Kafka bootstrap servers")
    topic_prefix: str = Field(
        default="", description="prefix for every topic name (several deployments)"
    )
    kafka_delivery_timeout_ms: int = Field(
        default=1500,
        ge=100,
        description="message.timeout.ms: a produce not acknowledged by then answers 503",
    )
    kafka_linger_ms: int = Field(default=2, ge=0, description="producer linger.ms (batching delay)")
    kafka_probe_interval_s: float = Field(
        default=0.5, gt=0, description="while the broker is down, how often its metadata is probed"
    )
    kafka_record_max_bytes: int = Field(
        default=900_000,
        ge=1024,
        description="batch endpoint: events are packed into arrays ≤ this size",
    )

    # Request limits
    max_body_bytes: int = Field(
        default=1_048_576, ge=1, description="POST /inference body limit (413)"
    )
    max_batch_body_bytes: int = Field(
        default=33_554_432, ge=1, description="POST /inference/batch body limit (413)"
    )
    max_batch_events: int = Field(
        default=10_000, ge=1, description="events per batch request (413)"
    )
    page_limit_default: int = Field(
        default=100, ge=1, description="default page size of list endpoints"
    )
    page_limit_max: int = Field(default=1000, ge=1, description="largest page size accepted")

    # Security
    api_keys: str = Field(
        default="",
        description="comma-separated keys accepted in X-API-Key; empty = no authentication "
        "(local runs). Set it in production; /healthz and /metrics stay open.",
    )

    # Server (driftmon api)
    api_host: str = Field(default="127.0.0.1", description="bind address of `driftmon api`")
    api_port: int = Field(default=8000, ge=0, le=65535, description="port of `driftmon api`")

    @property
    def read_url(self) -> str:
        """The DSN of the query side (the writer DSN when no reader is configured)."""
        return self.database_read_url or self.database_url

    @property
    def api_key_set(self) -> frozenset[str]:
        """The accepted API keys; empty means authentication is off."""
        return frozenset(k.strip() for k in self.api_keys.split(",") if k.strip())
