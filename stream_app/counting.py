"""Counting a model's gathered events into its buckets, once each (``Processor`` part).

A record is counted once per bucket (the bucket's offset spans), an explicit event id once
within the dedup horizon (the buckets' id hashes); late events (their bucket expired) are
counted as late only.
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np

from drift import Histogram, NumericHistogram
from drift.categorical import CategoricalHistogram
from drift.columnar_join import join
from drift.columnar_wire import ColumnarRecord
from drift.columns import ColumnBatch, concat, to_columns
from drift.embeddings import EMBEDDING
from drift.histogram_block import add_block, split_block, tally_block
from drift.mapping import LogMapping
from stream_app.id_sets import repeats, sorted_union
from stream_app.records import Output
from stream_app.runtime import Gathered, ProcessorBase, Runtime
from stream_app.state import BucketRecord, Spans, id_digests, in_spans, merge_spans
from stream_app.tuning import HistogramSettings
from stream_app.vector_state import (
    MULTIVARIATE,
    deltas,
    embeddings_of,
    fix_scales,
    is_vector_stream,
    standardised,
)

_NO_IDS = np.zeros(0, np.uint64)


def _id_hashes(gathered: Gathered) -> np.ndarray | None:
    """Per event the 64-bit hash of its explicit event id (``state.id_hash``), 0 without one
    (None: no event has one). Ids the decoder made up from the record's partition and offset
    are not explicit: the bucket's offset spans de-duplicate those."""
    if not gathered.ids:
        return None  # no event_id column, no row event with an id
    ids = [
        i
        for part in gathered.parts
        for i in (
            (part.event_ids or [None] * len(part))
            if isinstance(part, ColumnarRecord)
            else [e.event_id for e in part]
        )
    ]
    if all(i is None for i in ids):
        return None
    digests: list[bytes] = []
    k = 0
    for rec, n in zip(gathered.records, gathered.counts, strict=True):
        seed, chunk = f"{rec.partition}-{rec.offset}", ids[k : k + n]
        texts = cast(list[str], chunk)  # when None is not in it
        if None in chunk or seed in "\n".join(texts):  # an id missing or maybe made up
            explicit = [
                eid is not None
                and not (eid.startswith(seed) and (eid == seed or eid[len(seed)] == "."))
                for eid in chunk
            ]
            hashed = iter(id_digests([e for e, x in zip(texts, explicit, strict=True) if x]))
            digests += [next(hashed) if x else _NO_ID for x in explicit]
        else:  # every id explicit: no per-id check
            digests += id_digests(texts)
        k += n
    return np.frombuffer(b"".join(digests), ">u8").astype(np.uint64)


_NO_ID = bytes(8)


def _histograms(
    cols: ColumnBatch, rows: np.ndarray, settings: HistogramSettings, allowed: set[str]
) -> dict[str, Histogram]:
    """The categorical streams' histograms of ``rows`` (numeric ones: ``_NumericBlock``)."""
    out: dict[str, Histogram] = {}
    for name, cats in cols.categorical.items():
        if name in allowed:
            c = CategoricalHistogram(settings.max_categories)
            c.update([cats[i] for i in rows])
            out[name] = c
    return out


class _NumericBlock:
    """A batch's numeric streams as one (streams, events) array, counted per bucket in one
    pass (``drift.histogram_block``): the same histograms as one ``update`` per stream."""

    def __init__(self, cols: ColumnBatch, allowed: set[str], accuracy: float) -> None:
        self.names = [name for name in cols.numeric if name in allowed]
        self.mapping = LogMapping(accuracy)
        self.values = np.stack([cols.numeric[name] for name in self.names]) if self.names else None

    def count(self, rows: np.ndarray, rec: BucketRecord) -> dict[str, Histogram]:
        """Add ``rows`` to the bucket's histograms; returns what was added, per stream."""
        if self.values is None:
            return {}
        x = self.values if len(rows) == self.values.shape[1] else self.values[:, rows]
        codes, counts, missing = tally_block(x, self.mapping)
        delta = split_block(codes, counts, missing, self.mapping)
        held = [rec.hists.get(name) for name in self.names]
        if all(
            h is None or (isinstance(h, NumericHistogram) and h.mapping == self.mapping)
            for h in held
        ):
            merged = add_block(held, codes, counts, missing, self.mapping)  # type: ignore[arg-type]
            rec.hists.update(zip(self.names, merged, strict=True))
        else:  # another kind or accuracy held: merged one by one (and refused as before)
            for name, h, d in zip(self.names, held, delta, strict=True):
                if h is None:
                    rec.hists[name] = d.copy()
                else:
                    h += d  # type: ignore[operator,unused-ignore]
        return dict(zip(self.names, delta, strict=True))


def _held(applied: dict[int, Spans], parts: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per row, whether the bucket already holds the row's record (its offset in a span).

    A model's records normally share one partition, but a record under a null or another
    model's key arrives on another one; offsets only compare within a partition."""
    held = np.zeros(len(parts), bool)
    for partition, spans in applied.items():
        rows = parts == partition
        held[rows] = in_spans(spans, offsets[rows])
    return held


class Counting(ProcessorBase):
    def _apply(self, rt: Runtime, gathered: Gathered, runs: dict[int, Spans], out: Output) -> None:
        meta = rt.meta
        offsets = gathered.rows("offset", np.int64)
        parts = gathered.rows("partition", np.int64)
        ingest = gathered.rows("timestamp", np.float64)
        cols = self._columns_of(rt, gathered)
        ts = np.where(np.isnan(cols.timestamps), ingest, cols.timestamps)
        starts = (ts // self.spec.bucket).astype(np.int64) * self.spec.bucket
        allowed = self._allowed_streams(rt, cols)
        vectors = self._vectors(rt, gathered, cols, len(allowed))
        # every record of these runs was in this chunk, so the bucket holds all of its own
        spans = {p: runs[p] for p in {r.partition for r in gathered.records}}
        hashes = _id_hashes(gathered) if self.dedup.max_ids_per_bucket else None
        if meta.next_end is None:
            meta.next_end = int(starts.min()) + self.spec.bucket
        block = _NumericBlock(cols, allowed, self.hist.relative_accuracy)
        for start in np.unique(starts).tolist():
            rows = np.flatnonzero(starts == start)
            side = self.spec.side(start, meta.next_end)
            if side == "expired":
                out.late[meta.model_id] += len(rows)
                meta.late_dropped += len(rows)
                continue
            rec = rt.buckets.get(start) or BucketRecord(start)
            fresh = rows[~_held(rec.applied, parts[rows], offsets[rows])]
            out.replayed += len(rows) - len(fresh)
            new_ids = _NO_IDS
            if hashes is not None and len(fresh):
                fresh, new_ids, repeated = self._first_ids(rt, start, fresh, hashes)
                if repeated:
                    out.duplicates[meta.model_id] += repeated
            if len(fresh) == 0:
                continue
            delta = block.count(fresh, rec)
            others = _histograms(cols, fresh, self.hist, allowed)
            for stream, (positions, x, cross) in vectors.items():
                take = np.isin(positions, fresh)
                if take.any():
                    k, accuracy = self.vectors.projections, self.hist.relative_accuracy
                    others.update(deltas(stream, x[take], k, accuracy, cross))
            for name, h in others.items():
                held = rec.hists.get(name)
                if held is None:
                    rec.hists[name] = h
                else:
                    held += h  # type: ignore[operator,unused-ignore]
            delta.update(others)
            for partition, taken in spans.items():
                rec.applied[partition] = merge_spans(rec.applied.get(partition, []), taken)
            room = self.dedup.max_ids_per_bucket - len(rec.ids)
            if len(new_ids) and room > 0:
                rec.ids = sorted_union(rec.ids, new_ids[:room])
            rt.buckets[start] = rec
            rt.dirty.add(start)
            rt.rollups.pop(start - start % self.spec.recent, None)
            out.counted[meta.model_id] += len(fresh)
            if side == "recent":
                rt.sums.add_to_recent(delta)
            elif side == "baseline":
                rt.sums.add_to_baseline(delta)
        meta.watermark = max(meta.watermark, float(ts.max()))

    def _vector_room(self, rt: Runtime, streams: int) -> bool:
        """Room for one more vector stream (and its projections) within both caps."""
        held = len(rt.meta.vector_dims) + (1 if rt.meta.scales else 0)
        wanted = streams + 1 + self.vectors.projections
        return held < self.vectors.max_streams and wanted <= self.hist.max_streams_per_model

    def _vectors(
        self, rt: Runtime, gathered: Gathered, cols: ColumnBatch, streams: int
    ) -> dict[str, tuple[np.ndarray, np.ndarray, bool]]:
        """Per vector stream of the batch: (rows, vectors, with cross products). A new
        embedding is admitted within the caps (else not counted) and fixes its dimension; the
        gathering refused vectors of another dimension."""
        meta = rt.meta
        out: dict[str, tuple[np.ndarray, np.ndarray, bool]] = {}
        if self.vectors.multivariate and not meta.scales and self._vector_room(rt, streams):
            accuracy = self.hist.relative_accuracy
            meta.scales = fix_scales(rt.sums, cols, self.vectors, accuracy) or []
            streams += (1 + self.vectors.projections) if meta.scales else 0
        if meta.scales:
            rows, x = standardised(cols, meta.scales)
            if len(rows):
                out[MULTIVARIATE] = (rows, x, True)
        embeddings = embeddings_of(gathered.parts) if gathered.vectors else {}
        for name, (rows, values) in embeddings.items():
            if name not in meta.vector_dims:
                if not self._vector_room(rt, streams):
                    continue
                meta.vector_dims[name] = values.shape[1]
                streams += 1 + self.vectors.projections
            out[EMBEDDING + name] = (rows, values, False)
        return out

    def _first_ids(
        self, rt: Runtime, start: int, rows: np.ndarray, hashes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """Drop the rows whose event id was counted already: held by a bucket within the
        dedup horizon of ``start``, or earlier among ``rows``. Returns (rows kept, their id
        hashes, how many were dropped)."""
        h = hashes[rows]
        with_id = np.flatnonzero(h)
        if len(with_id) == 0:
            return rows, _NO_IDS, 0
        hv = h[with_id]
        horizon = self.dedup.horizon
        held = (r.ids for o, r in rt.buckets.items() if len(r.ids) and abs(o - start) <= horizon)
        repeated = repeats(hv, held)
        if not repeated.any():
            return rows, hv, 0
        keep = np.ones(len(rows), bool)
        keep[with_id[repeated]] = False
        return rows[keep], hv[~repeated], int(repeated.sum())

    def _kinds(self, rt: Runtime) -> dict[str, Any]:
        for rec in rt.buckets.values():
            return {
                n: "numeric" if isinstance(h, NumericHistogram) else "categorical"
                for n, h in rec.hists.items()
                if not is_vector_stream(n)
            }
        return {}

    def _allowed_streams(self, rt: Runtime, cols: ColumnBatch) -> set[str]:
        # the window sums hold streams of held buckets only (a bucket leaves after its
        # histograms left the sums), so the buckets name every stream known
        known: set[str] = set()
        for rec in rt.buckets.values():
            known.update(rec.hists)
        room = self.hist.max_streams_per_model - len(known)
        new = sorted(set(cols.kinds()) - known)
        return known | set(new[: max(room, 0)])

    def _columns_of(self, rt: Runtime, gathered: Gathered) -> ColumnBatch:
        """The events' streams as columns: row events converted together, columnar parts
        joined as they are (a stream's kind: the model's, else its first with a value)."""
        kinds = self._kinds(rt)
        if not gathered.columnar:
            return to_columns(gathered.events, math.nan, kinds, gathered.names)
        if not gathered.events:  # only columnar records: one array per stream
            return join(gathered.parts, kinds)  # type: ignore[arg-type]
        batches = [
            join([p], kinds) if isinstance(p, ColumnarRecord) else to_columns(p, math.nan, kinds)
            for p in gathered.parts
        ]
        return concat(batches, kinds)
