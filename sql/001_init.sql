-- AI Drift Monitor: initial schema.
-- Applied by sql/migrations.py (one transaction per file, recorded in schema_migrations).

CREATE TABLE models (
    model_id      text PRIMARY KEY CHECK (model_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    display_name  text,
    -- per-model / per-stream threshold overrides: {"*": {"kl_divergence": 0.2}, "feature1": {...}}
    thresholds    jsonb NOT NULL DEFAULT '{}'::jsonb,
    baseline_mode text  NOT NULL DEFAULT 'rolling' CHECK (baseline_mode IN ('rolling', 'pinned')),
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Every logged inference, partitioned by day on event time. Replays carry the same
-- (model_id, event_id, event_time), so ON CONFLICT DO NOTHING drops duplicates.
CREATE TABLE inference_logs (
    model_id    text        NOT NULL,
    event_id    text        NOT NULL,
    event_time  timestamptz NOT NULL,
    ingested_at timestamptz NOT NULL DEFAULT now(),
    input_data  jsonb       NOT NULL,
    prediction  jsonb,
    confidence  double precision,
    metadata    jsonb,
    PRIMARY KEY (model_id, event_id, event_time)
) PARTITION BY RANGE (event_time);

-- Catches rows for days whose partition was not created ahead of time.
CREATE TABLE inference_logs_default PARTITION OF inference_logs DEFAULT;

-- Creates the daily partition holding `day` (idempotent).
CREATE FUNCTION ensure_inference_logs_partition(day date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    part text := format('inference_logs_%s', to_char(day, 'YYYYMMDD'));
BEGIN
    IF to_regclass(part) IS NULL THEN
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF inference_logs FOR VALUES FROM (%L) TO (%L)',
            part, day::timestamptz, (day + 1)::timestamptz);
    END IF;
END;
$$;

CREATE INDEX inference_logs_time_idx ON inference_logs (event_time);

-- One row per (model, stream, window end): the stream app upserts, so replays never duplicate.
CREATE TABLE drift_runs (
    id                bigserial PRIMARY KEY,
    model_id          text        NOT NULL,
    stream            text        NOT NULL,
    stream_kind       text        NOT NULL CHECK (stream_kind IN ('numeric', 'categorical')),
    window_start      timestamptz NOT NULL,
    window_end        timestamptz NOT NULL,
    baseline_start    timestamptz,
    baseline_end      timestamptz,
    baseline_mode     text        NOT NULL DEFAULT 'rolling',
    status            text        NOT NULL CHECK (status IN ('ok', 'drift', 'insufficient_data')),
    kl_divergence     double precision,
    cosine_similarity double precision,
    psi               double precision,
    js_distance       double precision,
    hellinger         double precision,
    wasserstein       double precision,
    ks_statistic      double precision,
    chi2_pvalue       double precision,
    recent_count      bigint      NOT NULL,
    baseline_count    bigint      NOT NULL,
    drifted_metrics   text[]      NOT NULL DEFAULT '{}',
    -- regrouped distributions for plotting: {"labels": [...], "recent": [...], "baseline": [...]}
    bins              jsonb,
    computed_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (model_id, stream, window_end)
);
CREATE INDEX drift_runs_model_time_idx ON drift_runs (model_id, stream, window_end DESC, id DESC);
CREATE INDEX drift_runs_time_idx ON drift_runs (window_end DESC, id DESC);

-- Alerts raised by the monitor's hysteresis policy: one open alert per (model, stream, metric).
CREATE TABLE alerts (
    id          bigserial PRIMARY KEY,
    model_id    text        NOT NULL,
    stream      text        NOT NULL,
    metric      text        NOT NULL,
    severity    text        NOT NULL DEFAULT 'warning',
    status      text        NOT NULL CHECK (status IN ('open', 'resolved')),
    value       double precision,
    threshold   double precision,
    message     text,
    opened_at   timestamptz NOT NULL,   -- event-time window end of the evaluation that opened it
    resolved_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (model_id, stream, metric, opened_at)
);
CREATE UNIQUE INDEX alerts_one_open_idx ON alerts (model_id, stream, metric) WHERE status = 'open';
CREATE INDEX alerts_time_idx ON alerts (opened_at DESC, id DESC);

-- Notifications Alertmanager delivered to POST /alertmanager/webhook.
CREATE TABLE alert_notifications (
    id           bigserial PRIMARY KEY,
    received_at  timestamptz NOT NULL DEFAULT now(),
    receiver     text,
    status       text NOT NULL,          -- firing | resolved
    alertname    text NOT NULL,
    fingerprint  text,
    model_id     text,
    stream       text,
    severity     text,
    labels       jsonb NOT NULL,
    annotations  jsonb NOT NULL,
    starts_at    timestamptz,
    ends_at      timestamptz
);
CREATE INDEX alert_notifications_time_idx ON alert_notifications (received_at DESC, id DESC);

-- Pinned baselines: a frozen histogram per (model, stream), serialised by drift.histogram.
CREATE TABLE baselines (
    model_id     text        NOT NULL,
    stream       text        NOT NULL,
    stream_kind  text        NOT NULL CHECK (stream_kind IN ('numeric', 'categorical')),
    histogram    bytea       NOT NULL,
    sample_count bigint      NOT NULL,
    window_start timestamptz,
    window_end   timestamptz,
    pinned_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, stream)
);

-- Least privilege: Grafana and the query API read through members of this role.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'driftmon_reader') THEN
        CREATE ROLE driftmon_reader NOLOGIN;
    END IF;
END;
$$;
GRANT USAGE ON SCHEMA public TO driftmon_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO driftmon_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO driftmon_reader;
