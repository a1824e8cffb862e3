-- inference_logs de-duplicates on (model_id, event_id): its primary key includes event_time (a
-- partitioned table's keys must hold the partition column), so an event retried without a
-- timestamp (the API and the worker then use the receive time) was stored once per attempt.
-- The sink now inserts a row only when no row of the same (model_id, event_id) lies within the
-- dedup horizon of its event_time (a primary-key index range scan in one or two daily
-- partitions; stream_app/queries.py MERGE_LOGS). This removes the duplicates stored before
-- within the default horizon (DRIFT_DEDUP_HORIZON_SECONDS = 1 hour): the first row (by
-- event_time) of each (model_id, event_id) stays.
DELETE FROM inference_logs l
USING inference_logs k
WHERE l.model_id = k.model_id
  AND l.event_id = k.event_id
  AND l.event_time > k.event_time
  AND l.event_time <= k.event_time + interval '1 hour';
