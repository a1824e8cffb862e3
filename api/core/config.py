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
    db_timeout_s: float = Field(
        default=2.0, gt=0, description="wait for a pooled connection (s); then 503"
    )
    db_statement_timeout_ms: int = Field(
        default=3000, ge=0, description="statement_timeout; 0 = off"
    )
    db_connect_timeout_s: int = Field(
        default=2, ge=1, description="libpq connect_timeout: a server that does not answer (s)"
    )
    db_tcp_user_timeout_ms: int = Field(
        default=3000,
        ge=0,
        description="libpq tcp_user_timeout: unacknowledged data drops the connection (ms)",
    )
    db_deadline_s: float = Field(
        default=3.5,
        gt=0,
        description="a request's whole PostgreSQL work (checkout + queries) ends by then with "
        "503, also when the server hangs (SIGSTOP, network stall)",
    )
    db_reconnect_delay_s: float = Field(
        default=0.5,
        gt=0,
        description="while PostgreSQL is down the pools try to connect this often (no "
        "exponential back-off, so the API recovers at once)",
    )
    retry_after_s: int = Field(
        default=2, ge=1, description="Retry-After (s) of a 503 (database or broker unavailable)"
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
    max_json_depth: int = Field(
        default=64,
        ge=2,
        le=250,
        description="nesting depth of an event's JSON (objects and arrays); deeper is 422 "
        "too_deep (orjson cannot encode beyond 254)",
    )
    # the worker's embedding limits (same names, same defaults): what the API accepts the
    # worker accepts
    max_embeddings: int = Field(default=4, ge=0, description="named vectors per event")
    max_embedding_dims: int = Field(default=1024, ge=1, description="dimensions of one embedding")
    max_embedding_abs: float = Field(
        default=100.0, gt=0, le=100.0, description="largest |value| of an embedding"
    )
    webhook_max_body_bytes: int = Field(
        default=4_194_304, ge=1, description="POST /alertmanager/webhook body limit (413)"
    )

    # Event time (the same names and rule as the worker's)
    max_future_seconds: int = Field(
        default=300,
        ge=0,
        description="events stamped more than this ahead of the ingest time are 422 "
        "timestamp_in_future",
    )
    recent_seconds: int = Field(default=3600, ge=1, description="the worker's recent window span")
    baseline_seconds: int = Field(
        default=86400, ge=1, description="the worker's rolling baseline span before recent"
    )

    # Model admission (quotas held in PostgreSQL, table model_admissions)
    max_models: int = Field(
        default=1000,
        ge=1,
        description="models admitted at once over all keys (the worker's cap); then 429",
    )
    models_per_key: int = Field(
        default=250,
        ge=1,
        description="models one API key may have admitted at once; then 429 model_quota_exceeded",
    )
    model_idle_evict_seconds: int = Field(
        default=604_800,
        ge=60,
        description="a model without events for this long no longer holds its admission slot",
    )
    admission_touch_seconds: float = Field(
        default=60.0,
        ge=0,
        description="how often an admitted model's last_seen_at is refreshed by this process",
    )

    # Security
    api_keys: str = Field(
        default="",
        description="comma-separated keys accepted in X-API-Key or Authorization: Bearer. "
        "Set: every endpoint but /healthz and /metrics needs one. Empty: reads are open and "
        "writes are refused (401) unless insecure_local is on.",
    )
    insecure_local: bool = Field(
        default=False,
        description="DRIFT_INSECURE_LOCAL=1: without API keys the write endpoints (ingest, "
        "thresholds, baseline, webhook) are open too. Local runs only (driftmon stack/demo "
        "and the tests set it).",
    )
    docs_public: bool | None = Field(
        default=None,
        description="whether /docs, /redoc and /openapi.json need no key; unset = public "
        "when no API keys are configured, key required when keys are set",
    )
    allowed_hosts: str = Field(
        default="localhost,127.0.0.1,[::1]",
        description="Host header values accepted (comma-separated; the bind host is added; "
        "'*' = any); others are 400 invalid_host (DNS rebinding)",
    )
    allowed_origins: str = Field(
        default="",
        description="Origins (scheme://host[:port]) whose browser requests may write; a "
        "write request with another Origin than these or the API's own is 403",
    )

    # Server (driftmon api)
    api_host: str = Field(default="127.0.0.1", description="bind address of `driftmon api`")
    api_port: int = Field(default=8000, ge=0, le=65535, description="port of `driftmon api`")

    @property
    def read_url(self) -> str:
        """The DSN of the query side (the writer DSN when no reader is configured)."""
        return self.database_read_url or self.database_url

    @property
    def max_event_age_seconds(self) -> int:
        """How old an event may be: the span the worker keeps (recent + baseline)."""
        return self.recent_seconds + self.baseline_seconds

    @property
    def docs_open(self) -> bool:
        """Whether the docs routes need no key."""
        return not self.api_key_set if self.docs_public is None else self.docs_public

    @property
    def host_set(self) -> frozenset[str]:
        """Accepted Host names (lower case, without port); the bind host included."""
        hosts = {h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip()}
        if self.api_host not in {"0.0.0.0", "::", ""}:
            hosts.add(f"[{self.api_host}]" if ":" in self.api_host else self.api_host.lower())
        return frozenset(hosts)

    @property
    def origin_set(self) -> frozenset[str]:
        """Allowed foreign Origins, without a trailing slash."""
        return frozenset(
            o.strip().rstrip("/").lower() for o in self.allowed_origins.split(",") if o.strip()
        )

    @property
    def api_key_set(self) -> frozenset[str]:
        """The accepted API keys; empty means authentication is off."""
        return frozenset(k.strip() for k in self.api_keys.split(",") if k.strip())
