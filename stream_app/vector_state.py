"""The worker's vector streams (docs/architecture.md, "Vector streams"): what one batch adds
to a bucket for each embedding, and for ``multivariate``, the model's standardised numeric
inputs.

Per vector stream ``s`` a bucket holds ``VectorMoments`` under ``s`` and the histograms of the
vectors projected on ``projections`` fixed directions under ``s.p00`` …, all merged by ``+`` /
``-`` like any stream, so window sums, replays and restores are exact. ``multivariate`` starts
once its scales are fixed: from the model's window sums and the batch being counted, when
every one of its numeric inputs (the first ``multivariate_inputs`` by name) holds
``multivariate_after`` values; they are kept in the model's meta and never change (a moving
scale would make buckets incomparable).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from drift import NumericHistogram, WindowSums
from drift.columnar_wire import ColumnarRecord
from drift.columns import ColumnBatch
from drift.embeddings import EMBEDDING
from drift.histogram import Histogram
from drift.vectors import MAX_ABS, VectorMoments, directions, projection_names
from stream_app.tuning import VectorSettings

MULTIVARIATE = "multivariate"
FloatArray = np.ndarray


def is_vector_stream(name: str) -> bool:
    """A vector stream or one of its projections (not an input of the columns)."""
    return name.startswith(EMBEDDING) or name == MULTIVARIATE or name.startswith("multivariate.")


@lru_cache(maxsize=64)
def _directions(dim: int, k: int) -> FloatArray:
    out = directions(dim, k).T.copy()
    out.flags.writeable = False
    return out


def deltas(
    stream: str, x: FloatArray, k: int, accuracy: float, cross: bool
) -> dict[str, Histogram]:
    """What the rows of ``x`` (n, dim) add to a bucket: their moments and projections."""
    moments = VectorMoments(x.shape[1], cross)
    moments.update(x)
    out: dict[str, Histogram] = {stream: moments}
    projected = x @ _directions(x.shape[1], k)
    for j, name in enumerate(projection_names(stream, k)):
        h = NumericHistogram(accuracy)
        h.update(projected[:, j])
        out[name] = h
    return out


def embeddings_of(
    parts: list[list[Any] | ColumnarRecord],
) -> dict[str, tuple[np.ndarray, FloatArray]]:
    """Per embedding name: the rows (positions among the gathered events, the columns' order)
    carrying it, and their vectors (one row each): from row events, and from the binary
    vector columns of ``ColumnarRecord`` parts (a row of only NaN: none)."""
    rows: dict[str, list[np.ndarray]] = {}
    values: dict[str, list[FloatArray]] = {}
    k = 0
    for part in parts:
        if isinstance(part, ColumnarRecord):
            for name, vectors in part.vectors.items():
                present = np.flatnonzero(~np.isnan(vectors).all(axis=1))
                rows.setdefault(name, []).append(present + k)
                values.setdefault(name, []).append(vectors[present])
            k += len(part)
            continue
        held_rows: dict[str, list[int]] = {}
        held: dict[str, list[list[float]]] = {}
        for event in part:
            for name, vector in (getattr(event, "embeddings", None) or {}).items():
                held_rows.setdefault(name, []).append(k)
                held.setdefault(name, []).append(vector)
            k += 1
        for name, at in held_rows.items():
            rows.setdefault(name, []).append(np.asarray(at, np.int64))
            values.setdefault(name, []).append(np.asarray(held[name], np.float64))
    return {name: (np.concatenate(rows[name]), np.concatenate(values[name])) for name in rows}


def standardised(
    cols: ColumnBatch, scales: list[tuple[str, float, float]]
) -> tuple[FloatArray, FloatArray]:
    """(rows with every scaled input present, their standardised vectors, clipped to
    ``±MAX_ABS``)."""
    n = len(cols.timestamps)
    if any(name not in cols.numeric for name, _, _ in scales):
        return np.zeros(0, np.int64), np.zeros((0, len(scales)))
    mat = np.column_stack([cols.numeric[name] for name, _, _ in scales]).reshape(n, len(scales))
    center = np.array([c for _, c, _ in scales])
    scale = np.array([s for _, _, s in scales])
    rows = np.flatnonzero(np.isfinite(mat).all(axis=1))
    return rows, np.clip((mat[rows] - center) / scale, -MAX_ABS, MAX_ABS)


def fix_scales(
    sums: WindowSums, cols: ColumnBatch, settings: VectorSettings, accuracy: float
) -> list[tuple[str, float, float]] | None:
    """Centre and scale (mean, sd) of the model's first ``multivariate_inputs`` numeric inputs,
    from its window sums and the batch's own values (a backfill may come in one batch), once
    every one holds ``multivariate_after`` values; None before (or with fewer than 2 inputs
    that vary)."""
    held = set(sums.streams())
    names = sorted(
        s for s in held | set(cols.numeric) if s.startswith("input.") and not is_vector_stream(s)
    )
    chosen: list[tuple[str, float, float]] = []
    for name in names:
        hist = NumericHistogram(accuracy)
        if name in cols.numeric:
            hist.update(cols.numeric[name])
        for side in (sums.recent(name), sums.baseline(name)) if name in held else ():
            if not isinstance(side, NumericHistogram) or side.mapping != hist.mapping:
                break  # a categorical input
            hist += side
        else:
            if hist.count < settings.multivariate_after:
                return None
            keys, counts = hist.buckets()
            values, weights = hist.mapping.representatives(keys), counts.astype(np.float64)
            mean = float(np.average(values, weights=weights))
            sd = float(np.sqrt(np.average((values - mean) ** 2, weights=weights)))
            if sd > 0:
                chosen.append((name, mean, sd))
            if len(chosen) == settings.multivariate_inputs:
                break
    return chosen if len(chosen) >= 2 else None


def state_bytes(dim: int, k: int, cross: bool, buckets: int) -> int:
    """Bytes of one vector stream's bucket records over ``buckets`` buckets (moments; the
    projection histograms add about 1-2 KB each per bucket): the documented bound."""
    pairs = dim * (dim - 1) // 2 if cross else 0
    return buckets * (8 * (2 * dim + pairs) + 1500 * k)
