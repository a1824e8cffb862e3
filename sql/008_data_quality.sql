-- Data-quality signals per drift result (issue 15): missing share, out-of-range share, new
-- categories, schema changes. Contract: docs/architecture.md ("Drift results", "Data quality").
-- Nullable: rows of workers before this migration, and vector streams, have none.
ALTER TABLE drift_runs
    ADD COLUMN quality        jsonb,    -- {issues, missing_share, baseline_missing_share, ...}
    ADD COLUMN quality_issues text[];   -- the issues found, e.g. {missing,new_category}
