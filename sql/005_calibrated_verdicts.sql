-- Calibrated verdicts (issue 12): what each drift result says about how it was decided, the
-- changes accepted as the new normal, and the seasonal baseline mode.
-- Contract: docs/architecture.md ("Drift results", "PostgreSQL").

-- Every column is nullable: rows written before this migration (and fixed-rule rows, which
-- have no p-value) keep NULL. "limit" is a reserved word, hence score_limit.
ALTER TABLE drift_runs
    ADD COLUMN rule           text CHECK (rule IN ('calibrated', 'fixed')),
    ADD COLUMN p_value        double precision,
    ADD COLUMN q_value        double precision,   -- Benjamini-Hochberg adjusted p-value
    ADD COLUMN score          double precision,   -- -log10 p (fixed rule: largest value/limit)
    ADD COLUMN score_limit    double precision,   -- -log10 of the BH cut-off (fixed rule: 1)
    ADD COLUMN limits         jsonb,              -- {metric: limit in its own units | null}
    ADD COLUMN test           text,               -- the deciding test, e.g. "trend@fresh"
    ADD COLUMN effect         double precision,   -- total variation distance
    ADD COLUMN null_center    double precision,   -- mean of G under the calibrated null
    ADD COLUMN null_spread    double precision,   -- sd of G under the calibrated null
    ADD COLUMN subwindows     integer,            -- baseline sub-windows that calibrated it
    ADD COLUMN new_categories jsonb;              -- {"count": n, "share": s}

-- Changes accepted as the new normal (POST /models/{id}/accept → worker → drift-baselines).
-- The worker's accept record is the key: a replay of the same record stores nothing twice.
CREATE TABLE accepted_changes (
    id          bigserial PRIMARY KEY,
    model_id    text        NOT NULL,
    streams     text[]      NOT NULL,   -- the streams whose frozen baseline was dropped
    accepted_by text        NOT NULL,
    accepted_at timestamptz NOT NULL,
    UNIQUE (model_id, accepted_at)
);
CREATE INDEX accepted_changes_time_idx ON accepted_changes (model_id, accepted_at DESC, id DESC);

-- models.baseline_mode is what the model is judged against now: pinned, else its unpinned
-- mode (rolling or seasonal, PUT /models/{id}/baseline-mode), kept in unpinned_mode so
-- unpinning returns to it.
ALTER TABLE models DROP CONSTRAINT IF EXISTS models_baseline_mode_check;
ALTER TABLE models
    ADD CONSTRAINT models_baseline_mode_check
        CHECK (baseline_mode IN ('rolling', 'seasonal', 'pinned')),
    ADD COLUMN unpinned_mode text NOT NULL DEFAULT 'rolling'
        CHECK (unpinned_mode IN ('rolling', 'seasonal'));

GRANT SELECT ON accepted_changes TO driftmon_reader;
