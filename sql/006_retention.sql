-- Retention (issue 14): inference_logs keeps DRIFT_LOG_RETENTION_DAYS of daily partitions;
-- drift_runs older than DRIFT_RUNS_ROLLUP_DAYS are rolled up into one row per
-- (model, stream, hour). Both run from the sinks' scheduled job (sinks/retention.py), which
-- holds an advisory lock so that concurrent sinks processes never run them at once.
-- Contract: docs/architecture.md ("Retention").

-- One row per (model, stream, hour of window_end): the hour (window_end - 1h, window_end]
-- of the drift_runs rows it replaces. Metrics hold the worst value of the hour (largest
-- divergence, smallest similarity or p-value), status the worst status (drift > ok >
-- insufficient_data), counts the largest window's. Per-run detail (bins, limits, the
-- deciding test) is not kept. Ids are negative, so (window_end, id) stays unique across
-- drift_runs and drift_runs_hourly for the API's keyset paging.
CREATE TABLE drift_runs_hourly (
    id                bigint GENERATED ALWAYS AS IDENTITY (START WITH -1 INCREMENT BY -1)
                      PRIMARY KEY,
    model_id          text        NOT NULL,
    stream            text        NOT NULL,
    stream_kind       text        NOT NULL,
    window_start      timestamptz NOT NULL,   -- earliest window_start of the hour's runs
    window_end        timestamptz NOT NULL,   -- the hour's end (runs with window_end <= it)
    baseline_start    timestamptz,
    baseline_end      timestamptz,
    baseline_mode     text        NOT NULL,   -- of the hour's last run
    status            text        NOT NULL CHECK (status IN ('ok', 'drift', 'insufficient_data')),
    runs              integer     NOT NULL,   -- evaluations rolled into this one
    drifted_runs      integer     NOT NULL,   -- of which status = 'drift'
    -- their window ends: a result replayed after its hour was rolled up merges without being
    -- counted twice (runs, drifted_runs are these arrays' lengths)
    window_ends       timestamptz[] NOT NULL,
    drifted_ends      timestamptz[] NOT NULL DEFAULT '{}',
    last_window_end   timestamptz NOT NULL,   -- window_end of the hour's last run
    last_status       text        NOT NULL,   -- its status
    kl_divergence     double precision,       -- max
    cosine_similarity double precision,       -- min
    psi               double precision,       -- max
    js_distance       double precision,       -- max
    hellinger         double precision,       -- max
    wasserstein       double precision,       -- max
    ks_statistic      double precision,       -- max
    chi2_pvalue       double precision,       -- min
    recent_count      bigint      NOT NULL,   -- max
    baseline_count    bigint      NOT NULL,   -- max
    drifted_metrics   text[]      NOT NULL DEFAULT '{}',   -- union
    rule              text,                   -- of the hour's last run
    p_value           double precision,       -- min
    q_value           double precision,       -- min
    score             double precision,       -- max
    score_limit       double precision,       -- of the run with the largest score - limit
    effect            double precision,       -- max
    rolled_up_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (model_id, stream, window_end)
);
CREATE INDEX drift_runs_hourly_model_time_idx
    ON drift_runs_hourly (model_id, stream, window_end DESC, id DESC);
CREATE INDEX drift_runs_hourly_model_only_time_idx
    ON drift_runs_hourly (model_id, window_end DESC, id DESC);
CREATE INDEX drift_runs_hourly_time_idx ON drift_runs_hourly (window_end DESC, id DESC);

-- Moves every drift_runs row with window_end <= cutoff (an hour boundary) into
-- drift_runs_hourly, in one statement: the rows are deleted and their hours upserted together.
-- A late row of an hour rolled up before merges into that hour's row; a replayed one (same
-- window_end) changes no count. Returns the rows moved.
CREATE FUNCTION rollup_drift_runs(cutoff timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    moved bigint;
BEGIN
    IF cutoff <> date_trunc('hour', cutoff) THEN
        RAISE EXCEPTION 'rollup cutoff % is not an hour boundary', cutoff;
    END IF;
    WITH gone AS (
        DELETE FROM drift_runs WHERE window_end <= cutoff RETURNING *
    ), hours AS (
        SELECT g.*,
               date_trunc('hour', g.window_end - interval '1 microsecond') + interval '1 hour'
                   AS hour_end
        FROM gone g
    ), named AS (  -- the union of each hour's drifted_metrics
        SELECT x.model_id, x.stream, x.hour_end, array_agg(DISTINCT m ORDER BY m) AS metrics
        FROM hours x CROSS JOIN LATERAL unnest(x.drifted_metrics) AS m
        GROUP BY x.model_id, x.stream, x.hour_end
    ), rolled AS (
        INSERT INTO drift_runs_hourly AS h (model_id, stream, stream_kind, window_start,
            window_end, baseline_start, baseline_end, baseline_mode, status, runs, drifted_runs,
            window_ends, drifted_ends, last_window_end, last_status, kl_divergence, cosine_similarity, psi, js_distance,
            hellinger, wasserstein, ks_statistic, chi2_pvalue, recent_count, baseline_count,
            drifted_metrics, rule, p_value, q_value, score, score_limit, effect)
        SELECT x.model_id, x.stream,
               (array_agg(x.stream_kind ORDER BY x.window_end DESC))[1],
               min(x.window_start), x.hour_end, min(x.baseline_start), max(x.baseline_end),
               (array_agg(x.baseline_mode ORDER BY x.window_end DESC))[1],
               CASE WHEN bool_or(x.status = 'drift') THEN 'drift'
                    WHEN bool_or(x.status = 'ok') THEN 'ok' ELSE 'insufficient_data' END,
               count(*), count(*) FILTER (WHERE x.status = 'drift'),
               array_agg(x.window_end ORDER BY x.window_end),
               coalesce(array_agg(x.window_end ORDER BY x.window_end)
                        FILTER (WHERE x.status = 'drift'), '{}'),
               max(x.window_end), (array_agg(x.status ORDER BY x.window_end DESC))[1],
               max(x.kl_divergence), min(x.cosine_similarity), max(x.psi), max(x.js_distance),
               max(x.hellinger), max(x.wasserstein), max(x.ks_statistic), min(x.chi2_pvalue),
               max(x.recent_count), max(x.baseline_count),
               coalesce(min(n.metrics), '{}'),
               (array_agg(x.rule ORDER BY x.window_end DESC))[1],
               min(x.p_value), min(x.q_value), max(x.score),
               (array_agg(x.score_limit ORDER BY x.score - x.score_limit DESC NULLS LAST))[1],
               max(x.effect)
        FROM hours x
        LEFT JOIN named n USING (model_id, stream, hour_end)
        GROUP BY x.model_id, x.stream, x.hour_end
        ON CONFLICT (model_id, stream, window_end) DO UPDATE SET
            window_start = LEAST(h.window_start, EXCLUDED.window_start),
            baseline_start = LEAST(h.baseline_start, EXCLUDED.baseline_start),
            baseline_end = GREATEST(h.baseline_end, EXCLUDED.baseline_end),
            status = CASE WHEN 'drift' IN (h.status, EXCLUDED.status) THEN 'drift'
                          WHEN 'ok' IN (h.status, EXCLUDED.status) THEN 'ok'
                          ELSE 'insufficient_data' END,
            window_ends = ARRAY(SELECT DISTINCT e FROM unnest(h.window_ends
                                                              || EXCLUDED.window_ends) e
                                ORDER BY 1),
            drifted_ends = ARRAY(SELECT DISTINCT e FROM unnest(h.drifted_ends
                                                               || EXCLUDED.drifted_ends) e
                                 ORDER BY 1),
            runs = (SELECT count(DISTINCT e)
                    FROM unnest(h.window_ends || EXCLUDED.window_ends) e),
            drifted_runs = (SELECT count(DISTINCT e)
                            FROM unnest(h.drifted_ends || EXCLUDED.drifted_ends) e),
            baseline_mode = CASE WHEN EXCLUDED.last_window_end >= h.last_window_end
                                 THEN EXCLUDED.baseline_mode ELSE h.baseline_mode END,
            rule = CASE WHEN EXCLUDED.last_window_end >= h.last_window_end
                        THEN EXCLUDED.rule ELSE h.rule END,
            last_status = CASE WHEN EXCLUDED.last_window_end >= h.last_window_end
                               THEN EXCLUDED.last_status ELSE h.last_status END,
            last_window_end = GREATEST(h.last_window_end, EXCLUDED.last_window_end),
            kl_divergence = GREATEST(h.kl_divergence, EXCLUDED.kl_divergence),
            cosine_similarity = LEAST(h.cosine_similarity, EXCLUDED.cosine_similarity),
            psi = GREATEST(h.psi, EXCLUDED.psi),
            js_distance = GREATEST(h.js_distance, EXCLUDED.js_distance),
            hellinger = GREATEST(h.hellinger, EXCLUDED.hellinger),
            wasserstein = GREATEST(h.wasserstein, EXCLUDED.wasserstein),
            ks_statistic = GREATEST(h.ks_statistic, EXCLUDED.ks_statistic),
            chi2_pvalue = LEAST(h.chi2_pvalue, EXCLUDED.chi2_pvalue),
            recent_count = GREATEST(h.recent_count, EXCLUDED.recent_count),
            baseline_count = GREATEST(h.baseline_count, EXCLUDED.baseline_count),
            drifted_metrics = ARRAY(SELECT DISTINCT unnest(h.drifted_metrics
                                                           || EXCLUDED.drifted_metrics) ORDER BY 1),
            p_value = LEAST(h.p_value, EXCLUDED.p_value),
            q_value = LEAST(h.q_value, EXCLUDED.q_value),
            score_limit = CASE WHEN EXCLUDED.score > h.score OR h.score IS NULL
                               THEN EXCLUDED.score_limit ELSE h.score_limit END,
            score = GREATEST(h.score, EXCLUDED.score),
            effect = GREATEST(h.effect, EXCLUDED.effect),
            rolled_up_at = now()
        RETURNING 1
    )
    SELECT count(*) INTO moved FROM gone;
    RETURN moved;
END;
$$;

-- Drops every daily partition of inference_logs whose upper bound is at or before cutoff
-- (all its rows are older), read from the partition bound itself rather than its name.
-- The default partition is never dropped. Returns the names dropped.
CREATE FUNCTION drop_inference_logs_partitions(cutoff timestamptz) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    part record;
BEGIN
    FOR part IN
        SELECT c.relname AS name,
               substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']+)''\)')
                   ::timestamptz AS upper_bound
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'inference_logs'::regclass
          AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
        ORDER BY 2
    LOOP
        IF part.upper_bound <= cutoff THEN
            EXECUTE format('DROP TABLE %I', part.name);
            RETURN NEXT part.name;
        END IF;
    END LOOP;
END;
$$;
