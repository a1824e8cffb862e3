"""SQL statements of the worker's sinks; bound parameters only."""

UPSERT_MODEL = """
INSERT INTO models (model_id) VALUES (%s)
ON CONFLICT (model_id) DO UPDATE SET last_seen_at = now()
"""

UPSERT_DRIFT_RUN = """
INSERT INTO drift_runs (model_id, stream, stream_kind, window_start, window_end, baseline_start,
    baseline_end, baseline_mode, status, kl_divergence, cosine_similarity, psi, js_distance,
    hellinger, wasserstein, ks_statistic, chi2_pvalue, recent_count, baseline_count,
    drifted_metrics, bins, rule, p_value, q_value, score, score_limit, limits, test, effect,
    null_center, null_spread, subwindows, new_categories)
VALUES (%(model_id)s, %(stream)s, %(stream_kind)s, to_timestamp(%(window_start)s),
    to_timestamp(%(window_end)s), to_timestamp(%(baseline_start)s), to_timestamp(%(baseline_end)s),
    %(baseline_mode)s, %(status)s, %(kl_divergence)s, %(cosine_similarity)s, %(psi)s,
    %(js_distance)s, %(hellinger)s, %(wasserstein)s, %(ks_statistic)s, %(chi2_pvalue)s,
    %(recent_count)s, %(baseline_count)s, %(drifted_metrics)s, %(bins)s, %(rule)s, %(p_value)s,
    %(q_value)s, %(score)s, %(score_limit)s, %(limits)s, %(test)s, %(effect)s, %(null_center)s,
    %(null_spread)s, %(subwindows)s, %(new_categories)s)
ON CONFLICT (model_id, stream, window_end) DO UPDATE SET
    status = EXCLUDED.status, kl_divergence = EXCLUDED.kl_divergence,
    cosine_similarity = EXCLUDED.cosine_similarity, psi = EXCLUDED.psi,
    js_distance = EXCLUDED.js_distance, hellinger = EXCLUDED.hellinger,
    wasserstein = EXCLUDED.wasserstein, ks_statistic = EXCLUDED.ks_statistic,
    chi2_pvalue = EXCLUDED.chi2_pvalue, recent_count = EXCLUDED.recent_count,
    baseline_count = EXCLUDED.baseline_count, drifted_metrics = EXCLUDED.drifted_metrics,
    bins = EXCLUDED.bins, baseline_mode = EXCLUDED.baseline_mode, rule = EXCLUDED.rule,
    p_value = EXCLUDED.p_value, q_value = EXCLUDED.q_value, score = EXCLUDED.score,
    score_limit = EXCLUDED.score_limit, limits = EXCLUDED.limits, test = EXCLUDED.test,
    effect = EXCLUDED.effect, null_center = EXCLUDED.null_center,
    null_spread = EXCLUDED.null_spread, subwindows = EXCLUDED.subwindows,
    new_categories = EXCLUDED.new_categories, computed_at = now()
"""

OPEN_ALERT = """
INSERT INTO alerts (model_id, stream, metric, severity, status, value, threshold, message,
    opened_at)
VALUES (%(model_id)s, %(stream)s, %(metric)s, %(severity)s, 'open', %(value)s, %(threshold)s,
    %(message)s, to_timestamp(%(at)s))
ON CONFLICT DO NOTHING
"""

RESOLVE_ALERT = """
UPDATE alerts SET status = 'resolved', resolved_at = to_timestamp(%(at)s), updated_at = now()
WHERE model_id = %(model_id)s AND stream = %(stream)s AND metric = %(metric)s
  AND status = 'open' AND opened_at <= to_timestamp(%(at)s)
"""

UPSERT_BASELINE = """
INSERT INTO baselines (model_id, stream, stream_kind, histogram, sample_count, window_start,
    window_end, pinned_at)
VALUES (%s, %s, %s, %s, %s, to_timestamp(%s), to_timestamp(%s), to_timestamp(%s))
ON CONFLICT (model_id, stream) DO UPDATE SET stream_kind = EXCLUDED.stream_kind,
    histogram = EXCLUDED.histogram, sample_count = EXCLUDED.sample_count,
    window_start = EXCLUDED.window_start, window_end = EXCLUDED.window_end,
    pinned_at = EXCLUDED.pinned_at
"""

INSERT_ACCEPTED_CHANGE = """
INSERT INTO accepted_changes (model_id, streams, accepted_by, accepted_at)
VALUES (%(model_id)s, %(streams)s, %(accepted_by)s, to_timestamp(%(accepted_at)s))
ON CONFLICT (model_id, accepted_at) DO NOTHING
"""

DELETE_BASELINES = "DELETE FROM baselines WHERE model_id = %s"

STAGE_LOGS = """
CREATE TEMP TABLE IF NOT EXISTS logs_stage (LIKE inference_logs INCLUDING DEFAULTS)
ON COMMIT DELETE ROWS
"""

COPY_LOGS = """
COPY logs_stage (model_id, event_id, event_time, input_data, prediction, confidence, metadata)
FROM STDIN
"""

# One row per (model_id, event_id) within the dedup horizon (%(horizon)s seconds) of its
# event_time: a retried event stamped with another receive time is stored once (see
# sql/003_inference_logs_event_dedup.sql). The staged batch is de-duplicated first (earliest
# event_time wins); the NOT EXISTS probe is a primary-key range scan.
MERGE_LOGS = """
INSERT INTO inference_logs
SELECT s.* FROM (
    SELECT DISTINCT ON (model_id, event_id) * FROM logs_stage
    ORDER BY model_id, event_id, event_time
) s
WHERE NOT EXISTS (
    SELECT 1 FROM inference_logs l
    WHERE l.model_id = s.model_id AND l.event_id = s.event_id
      AND l.event_time BETWEEN s.event_time - make_interval(secs => %(horizon)s)
                           AND s.event_time + make_interval(secs => %(horizon)s)
)
ON CONFLICT DO NOTHING
"""

ENSURE_PARTITION = "SELECT ensure_inference_logs_partition(%s::date)"
