"""What the stream view shows of one drift run: the regrouped bins and which of them moved.

Pure functions over the stored ``bins`` (``{"labels", "recent", "baseline"}``, shares of each
window) so the ranking is tested without a browser.
"""

from __future__ import annotations

from typing import Any


def shares(values: list[float]) -> list[float]:
    """``values`` as shares summing to 1 (counts are accepted too); all zeros stay zeros."""
    total = sum(values)
    return [v / total for v in values] if total > 0 else [0.0 for _ in values]


def moved_bins(bins: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every bin with its baseline and recent share and the change (recent − baseline),
    largest absolute change first (ties keep the bins' order)."""
    if not bins:
        return []
    labels = [str(label) for label in bins.get("labels") or []]
    recent = shares([float(v) for v in bins.get("recent") or []])
    baseline = shares([float(v) for v in bins.get("baseline") or []])
    if not (len(labels) == len(recent) == len(baseline)):
        return []
    rows = [
        {"label": label, "baseline": b, "recent": r, "change": r - b}
        for label, r, b in zip(labels, recent, baseline, strict=True)
    ]
    return sorted(rows, key=lambda row: -abs(row["change"]))


def distribution(run: dict[str, Any]) -> dict[str, Any]:
    """The stream view's body for one drift_runs row (``bins`` included)."""
    body = {key: value for key, value in run.items() if key != "bins"}
    body["bins"] = run.get("bins")
    body["moved"] = moved_bins(run.get("bins"))
    return body
