"""SQL of the labels / performance store (sinks/performance_store.py); bound parameters only."""

UPSERT_LABELS = """
INSERT INTO labels (model_id, event_id, label, label_time, received_at)
SELECT * FROM unnest(%s::text[], %s::text[], %s::jsonb[], %s::timestamptz[], %s::timestamptz[])
ON CONFLICT (model_id, event_id) DO UPDATE
    SET label = excluded.label, label_time = excluded.label_time,
        received_at = excluded.received_at
    WHERE excluded.label_time >= labels.label_time
"""

# the windows of the inferences these labels name; the labels found are marked matched
MARK = """
WITH named AS (
    SELECT DISTINCT model_id, event_id
    FROM unnest(%(m)s::text[], %(e)s::text[]) AS c(model_id, event_id)
), hit AS (
    SELECT i.model_id, i.event_id, i.event_time
    FROM named n JOIN inference_logs i ON i.model_id = n.model_id AND i.event_id = n.event_id
), flagged AS (
    UPDATE labels l SET matched = true FROM hit
    WHERE l.model_id = hit.model_id AND l.event_id = hit.event_id AND NOT l.matched
)
INSERT INTO performance_dirty (model_id, window_start)
SELECT DISTINCT model_id,
       to_timestamp(floor(extract(epoch FROM event_time) / %(w)s) * %(w)s)
FROM hit
ON CONFLICT DO NOTHING
"""

PENDING = """
SELECT model_id, event_id FROM labels
WHERE NOT matched AND received_at > now() - make_interval(secs => %s)
"""

UNMATCHED = """
SELECT count(*) FROM labels WHERE NOT matched AND received_at <= now() - make_interval(secs => %s)
"""

# a prediction object names its class ({"class", "score"}), label or value
_PRED = """(CASE WHEN jsonb_typeof({c}) = 'object'
    THEN coalesce({c} -> 'class', {c} -> 'label', {c} -> 'value') ELSE {c} END)"""

_NORM = """CASE WHEN jsonb_typeof({c}) = 'number'
    THEN trim_scale(({c} #>> '{{}}')::numeric)::text ELSE {c} #>> '{{}}' END"""

_TRUTH = _NORM.format(c="l.label")
_PREDICTED = _NORM.format(c=_PRED.format(c="i.prediction"))
_PRED_I = _PRED.format(c="i.prediction")

JOINED = f"""
CREATE TEMP TABLE IF NOT EXISTS perf_joined (
    truth text, pred text, numeric boolean, t double precision, p double precision,
    confidence double precision, late boolean
) ON COMMIT DROP;
TRUNCATE perf_joined;
INSERT INTO perf_joined
SELECT {_TRUTH}, {_PREDICTED},
       jsonb_typeof(l.label) = 'number' AND jsonb_typeof({_PRED_I}) = 'number',
       CASE WHEN jsonb_typeof(l.label) = 'number' THEN (l.label #>> '{{}}')::double precision END,
       CASE WHEN jsonb_typeof({_PRED_I}) = 'number'
            THEN ({_PRED_I} #>> '{{}}')::double precision END,
       i.confidence,
       l.label_time - i.event_time > make_interval(secs => %(horizon)s)
FROM inference_logs i JOIN labels l ON l.model_id = i.model_id AND l.event_id = i.event_id
WHERE i.model_id = %(m)s AND i.event_time >= %(start)s AND i.event_time < %(end)s
"""

_BIN = "least(width_bucket(confidence, 0, 1, 10), 10) - 1"

# An exact sum: floats add in the order the plan delivers rows, and a replay (new statistics,
# another plan) changes that order and so a figure's last bit. Each term is rounded to numeric
# once (15 digits, the same every time) and numeric sums are exact, so every recomputation
# gives the same double.
_SUM = "sum(({x})::numeric)::double precision"
_LOSS = """CASE WHEN confidence IS NULL THEN 0
    WHEN truth = pred THEN -ln(greatest(confidence, 1e-15))
    ELSE -ln(greatest(1 - confidence, 1e-15)) END"""

CLASSIFIED = f"""
SELECT truth, pred, {_BIN} AS b, count(*), coalesce({_SUM.format(x="confidence")}, 0),
       {_SUM.format(x=_LOSS)}
FROM perf_joined WHERE NOT late GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""

REGRESSED = f"""
SELECT count(*), {_SUM.format(x="abs(p - t)")}, {_SUM.format(x="(p - t) ^ 2")},
       {_SUM.format(x="p - t")}
FROM perf_joined WHERE NOT late AND numeric
"""

# (groups in a fixed order, exact sums: the same figures on every recomputation)
# the label-free estimate: accuracy per (predicted class, bin) on the labelled reference …
REFERENCE = f"""
SELECT {_PREDICTED}, {_BIN.replace("confidence", "i.confidence")},
       count(*), {_SUM.format(x="i.confidence")}, sum(({_TRUTH} = {_PREDICTED})::int)
FROM inference_logs i JOIN labels l ON l.model_id = i.model_id AND l.event_id = i.event_id
WHERE i.model_id = %(m)s AND i.event_time >= %(ref_start)s AND i.event_time < %(start)s
  AND i.confidence IS NOT NULL
  AND l.label_time - i.event_time <= make_interval(secs => %(horizon)s)
GROUP BY 1, 2 ORDER BY 1, 2
"""

# … and the window's own inferences, labelled or not
WINDOW = f"""
SELECT {_NORM.format(c=_PRED.format(c="prediction"))}, {_BIN}, count(*),
       {_SUM.format(x="confidence")}
FROM inference_logs
WHERE model_id = %(m)s AND event_time >= %(start)s AND event_time < %(end)s
  AND confidence IS NOT NULL
GROUP BY 1, 2 ORDER BY 1, 2
"""

UPSERT_WINDOW = """
INSERT INTO performance_windows (model_id, window_start, window_end, task, inferences, labelled,
    too_late, labelled_share, accuracy, log_loss, ece, mae, rmse, bias, per_class, confusion,
    estimated_accuracy, estimated_confusion, computed_at)
VALUES (%(model_id)s, %(window_start)s, %(window_end)s, %(task)s, %(inferences)s, %(labelled)s,
    %(too_late)s, %(labelled_share)s, %(accuracy)s, %(log_loss)s, %(ece)s, %(mae)s, %(rmse)s,
    %(bias)s, %(per_class)s, %(confusion)s, %(estimated_accuracy)s, %(estimated_confusion)s,
    now())
ON CONFLICT (model_id, window_start) DO UPDATE SET
    window_end = excluded.window_end, task = excluded.task, inferences = excluded.inferences,
    labelled = excluded.labelled, too_late = excluded.too_late,
    labelled_share = excluded.labelled_share, accuracy = excluded.accuracy,
    log_loss = excluded.log_loss, ece = excluded.ece, mae = excluded.mae, rmse = excluded.rmse,
    bias = excluded.bias, per_class = excluded.per_class, confusion = excluded.confusion,
    estimated_accuracy = excluded.estimated_accuracy,
    estimated_confusion = excluded.estimated_confusion, computed_at = now()
"""
