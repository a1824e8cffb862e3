"""Pure drift core: event schema, mergeable histograms, statistics, policy, alerting, windows.

numpy and scipy only; no I/O, clock, logging or globals. Everything the stream processor and
the API need is re-exported here.
"""

from drift.alerting import AlertState, Hysteresis, step
from drift.categorical import MISSING, OTHER, CategoricalHistogram
from drift.evaluate import Bins, StreamEvaluation, evaluate_stream
from drift.events import (
    ColumnBatch,
    DecodedRecord,
    EventLimits,
    InferenceEvent,
    InvalidEvent,
    decode_record,
    event_to_json,
    flatten_streams,
    to_columns,
    validate_event,
)
from drift.histogram import Histogram, NumericHistogram, histogram_from_bytes
from drift.policy import DEFAULT_THRESHOLDS, DetectionPolicy, Thresholds
from drift.statistics import STATISTICS
from drift.verdict import ModelVerdict, is_prediction, model_verdict
from drift.window import WindowSums

__all__ = [
    "DEFAULT_THRESHOLDS",
    "MISSING",
    "OTHER",
    "STATISTICS",
    "AlertState",
    "Bins",
    "CategoricalHistogram",
    "ColumnBatch",
    "DecodedRecord",
    "DetectionPolicy",
    "EventLimits",
    "Histogram",
    "Hysteresis",
    "InferenceEvent",
    "InvalidEvent",
    "ModelVerdict",
    "NumericHistogram",
    "StreamEvaluation",
    "Thresholds",
    "WindowSums",
    "decode_record",
    "evaluate_stream",
    "event_to_json",
    "flatten_streams",
    "histogram_from_bytes",
    "is_prediction",
    "model_verdict",
    "step",
    "to_columns",
    "validate_event",
]
