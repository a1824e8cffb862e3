-- Vector streams (issue 16): embedding.<name> and multivariate results, and their metrics.
-- Contract: docs/architecture.md ("Drift results", "Vector streams").
ALTER TABLE drift_runs DROP CONSTRAINT IF EXISTS drift_runs_stream_kind_check;
ALTER TABLE drift_runs
    ADD CONSTRAINT drift_runs_stream_kind_check
        CHECK (stream_kind IN ('numeric', 'categorical', 'vector')),
    ADD COLUMN cosine_distance     double precision,  -- 1 - cosine of the mean vectors
    ADD COLUMN sliced_wasserstein  double precision,  -- mean normed Wasserstein of projections
    ADD COLUMN drifted_projections double precision,  -- share of projections with p <= FDR
    ADD COLUMN mean_shift          double precision,  -- diagonal Mahalanobis distance of means
    ADD COLUMN correlation_shift   double precision;  -- largest change of a correlation

-- a pinned baseline holds the vector moments of its vector streams too
ALTER TABLE baselines DROP CONSTRAINT IF EXISTS baselines_stream_kind_check;
ALTER TABLE baselines
    ADD CONSTRAINT baselines_stream_kind_check
        CHECK (stream_kind IN ('numeric', 'categorical', 'vector'));
