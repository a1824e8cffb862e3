-- GET /drift/history?model_id=… (no stream): keyset pages newest first for one model straight
-- from an index, instead of filtering drift_runs_time_idx (slow for a model among many).
CREATE INDEX IF NOT EXISTS drift_runs_model_only_time_idx
    ON drift_runs (model_id, window_end DESC, id DESC);
