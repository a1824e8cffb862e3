-- Ground-truth labels and model performance per window (issue 15).
-- Contract: docs/architecture.md ("Performance").

-- One label per inference: a second label for the same event replaces the first when it is
-- at least as new (label_time), so a replayed label topic changes nothing.
CREATE TABLE labels (
    model_id    text             NOT NULL,
    event_id    text             NOT NULL,
    label       jsonb            NOT NULL,   -- a string, a number or a boolean
    label_time  timestamptz      NOT NULL,   -- when the label was observed
    received_at timestamptz      NOT NULL DEFAULT now(),
    matched     boolean          NOT NULL DEFAULT false,  -- its inference was found
    PRIMARY KEY (model_id, event_id)
);
-- labels whose inference is not (yet) logged: looked for again until the grace period ends
CREATE INDEX labels_unmatched_idx ON labels (received_at) WHERE NOT matched;

-- Windows (by inference event time) whose labels changed since they were last computed.
CREATE TABLE performance_dirty (
    model_id     text        NOT NULL,
    window_start timestamptz NOT NULL,
    PRIMARY KEY (model_id, window_start)
);

-- Realised (and estimated) performance of a model per window of inference event time.
CREATE TABLE performance_windows (
    model_id           text             NOT NULL,
    window_start       timestamptz      NOT NULL,
    window_end         timestamptz      NOT NULL,
    task               text             NOT NULL CHECK (task IN ('classification', 'regression')),
    inferences         bigint           NOT NULL,   -- logged inferences in the window
    labelled           bigint           NOT NULL,   -- of them with a label in time
    too_late           bigint           NOT NULL,   -- labels later than the horizon (not used)
    labelled_share     double precision NOT NULL,   -- labelled / inferences: how complete
    accuracy           double precision,
    log_loss           double precision,
    ece                double precision,
    mae                double precision,
    rmse               double precision,
    bias               double precision,
    per_class          jsonb,                       -- {class: {precision, recall, f1, support}}
    confusion          jsonb,                       -- {true: {predicted: count}}
    estimated_accuracy double precision,            -- label-free estimate (CBPE)
    estimated_confusion jsonb,                      -- binary: expected tp, fp, tn, fn
    computed_at        timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, window_start)
);
GRANT SELECT ON labels, performance_windows TO driftmon_reader;
