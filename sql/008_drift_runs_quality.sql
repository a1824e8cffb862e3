-- Data-quality signals of each drift run (issue 15): the result's `quality` object.
-- Contract: docs/architecture.md ("Drift results", "Data quality").
ALTER TABLE drift_runs ADD COLUMN quality jsonb;
