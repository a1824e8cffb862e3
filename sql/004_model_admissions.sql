-- Model admission (issue 17): the API admits a model id on its first write (ingest, thresholds,
-- baseline pin) within a quota per API key (DRIFT_MODELS_PER_KEY) and a global one
-- (DRIFT_MAX_MODELS). A model that sent nothing for DRIFT_MODEL_IDLE_EVICT_SECONDS no longer
-- counts, so its slot is free again (the row is taken over by the next admission of that id).
-- key_id is a hash prefix of the API key ("local" without keys), never the key itself.
CREATE TABLE model_admissions (
    model_id     text PRIMARY KEY CHECK (model_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    key_id       text        NOT NULL,
    admitted_at  timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX model_admissions_seen_idx ON model_admissions (last_seen_at);
CREATE INDEX model_admissions_key_seen_idx ON model_admissions (key_id, last_seen_at);

-- Models known before admission existed keep their place (under key_id 'preexisting').
INSERT INTO model_admissions (model_id, key_id, admitted_at, last_seen_at)
SELECT model_id, 'preexisting', first_seen_at, last_seen_at FROM models
ON CONFLICT DO NOTHING;
