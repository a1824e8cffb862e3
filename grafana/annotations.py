"""Alert transitions as Grafana annotations, so drift shows up on every time-series panel.

The stream app calls ``GrafanaAnnotator.annotate_alert`` for each open/resolve transition when
``DRIFT_GRAFANA_URL`` is set. Annotations carry the tags ``driftmon``, the model id, the stream
and ``open``/``resolve``; the dashboards' "Drift alerts" annotation query filters on them
(the model dashboard on ``driftmon`` + ``$model_id``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from grafana_client import GrafanaApi

TAG = "driftmon"
_ACTIONS = {"open": "open", "opened": "open", "resolve": "resolve", "resolved": "resolve"}
_TIME_KEYS = ("at", "time", "timestamp", "window_end")


def _action(transition: Mapping[str, Any]) -> str:
    for key in ("transition", "action", "kind", "status"):
        word = str(transition.get(key, "")).lower()
        if word in _ACTIONS:
            return _ACTIONS[word]
    raise ValueError(f"alert transition has no open/resolve action: {dict(transition)!r}")


def _epoch_ms(value: object) -> int:
    """Milliseconds since the epoch of an ISO 8601 text, epoch seconds or a datetime."""
    if isinstance(value, datetime):
        return round(value.timestamp() * 1000)
    if isinstance(value, int | float):
        return round(value * 1000)
    return round(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() * 1000)


def annotation_for(transition: Mapping[str, Any]) -> dict[str, Any]:
    """The annotation (time in ms, tags, text) for one transition dict.

    Expects ``model_id``, ``stream``, an action (``transition``/``action``: open|resolve, or
    ``status``: open|resolved), optionally ``metric`` (or the worker's ``trigger_metric``),
    ``value``, ``threshold`` and a time
    (``at``/``time``/``timestamp``/``window_end``, else ``resolved_at``/``opened_at``, else now).
    """
    action = _action(transition)
    model_id, stream = str(transition["model_id"]), str(transition["stream"])
    moment = next((transition[k] for k in _TIME_KEYS if transition.get(k) is not None), None)
    if moment is None:
        moment = transition.get("resolved_at" if action == "resolve" else "opened_at")
    # the worker's transitions carry metric "drift" (the verdict) and the statistic behind it
    metric = transition.get("trigger_metric") or transition.get("metric", "drift")
    verb = "drift" if action == "open" else "resolved"
    calibrated = str(metric).startswith("calibrated:")
    if metric == "drift" or calibrated:
        what = "drift" if action == "open" else "drift resolved"
    else:
        what = f"{metric} {verb}"
    text = f"{what}: model {model_id}, {stream}"
    if calibrated and transition.get("value") is not None:  # score = -log10 p against its limit
        test = str(metric).split(":", 1)[1]
        text += f" (calibrated {test} test: score {float(transition['value']):.3g}"
        threshold = transition.get("threshold")
        text += f", limit {float(threshold):.3g})" if threshold is not None else ")"
    elif transition.get("value") is not None:
        text += f" (value {float(transition['value']):.4g}"
        threshold = transition.get("threshold")
        text += f", threshold {float(threshold):.4g})" if threshold is not None else ")"
    return {
        "time_ms": _epoch_ms(moment) if moment is not None else round(time.time() * 1000),
        "tags": [TAG, model_id, stream, action],
        "text": text,
    }


class GrafanaAnnotator:
    """Posts alert transitions to Grafana's annotation API (no network until the first call)."""

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 5.0) -> None:
        self._api = GrafanaApi.from_url(url, credential=token, timeout=timeout)

    def annotate_alert(self, transition: Mapping[str, Any]) -> Any:
        """Post one annotation; returns Grafana's answer (``{"id": ..., "message": ...}``)."""
        note = annotation_for(transition)
        return self._api.annotations.add_annotation(
            time_from=note["time_ms"], tags=note["tags"], text=note["text"]
        )
