"""Decoding a batch's records and gathering their events per model (``Processor`` part).

Three paths: a plain columnar record goes straight to numpy columns (``drift.columnar``); the
common row record (valid events of one admitted model, times in bounds) is gathered as decoded;
anything else takes the general path, which judges every event and dead-letters the refused
ones with their reasons (a copy of the record holding only them).
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from typing import Any

from drift import columnar
from drift.columnar_wire import decode_columns
from drift.eventtime import TIMESTAMP_IN_FUTURE, TIMESTAMP_TOO_OLD
from drift.wire import DecodedStreams, decode_event, decode_streams
from stream_app.records import Output, RawRecord, Rejected, rejection
from stream_app.runtime import Gathered, ProcessorBase
from stream_app.state import ModelMeta, meta_key

EMBEDDING_DIM = "embedding_dimension"

log = logging.getLogger(__name__)


class Gathering(ProcessorBase):
    def _decode(self, rec: RawRecord, by_model: dict[str, Gathered], out: Output) -> None:
        decoded: DecodedStreams | None = None
        try:
            if columnar.looks_columnar(rec.value):
                if self._columns(rec, by_model):
                    return
            elif (one := decode_event(rec.value, self.limits)) is not None:
                if self._one(rec, *one, by_model):
                    return
                decoded = DecodedStreams([one[0]], [], one[1], frozenset((one[0].model_id,)))
            if decoded is None:
                decoded = decode_streams(rec.value, self.limits, f"{rec.partition}-{rec.offset}")
                if (
                    not decoded.errors
                    and len(decoded.models) == 1
                    and self._fast(rec, decoded, by_model)
                ):
                    return
        except Exception as exc:  # decoding is total; should a bug remain, the record is refused
            log.exception("decoding record %d-%d failed", rec.partition, rec.offset)
            error = f"{type(exc).__name__}: {exc}"
            out.rejected.append(Rejected(rec, "decode_error", error, {"decode_error": 1}))
            return
        # refused: (item index or None for the whole record, reason, message)
        refused = [(e.index, e.reason, str(e)) for e in decoded.errors]
        events = decoded.events
        positions: list[int] | None = None  # item index of each event; None: 0..n-1
        if refused and events:
            taken = {i for i, _, _ in refused}
            positions = [i for i in range(len(events) + len(taken)) if i not in taken]
        if self.event_time is not None and events and rec.timestamp > 0:  # 0: no broker time
            events, positions = self._bound_times(rec, events, positions, refused)
        groups: dict[str, list[int]] = defaultdict(list)  # model → indices into events
        if len(decoded.models) == 1 and len(events) == len(decoded.events):
            groups[next(iter(decoded.models))] = list(range(len(events)))
        else:
            for k, event in enumerate(events):
                groups[event.model_id].append(k)
        for model_id, rows in groups.items():
            if (
                model_id not in self.models
                and model_id not in by_model
                and len(self.models.keys() | by_model.keys()) >= self.hist.max_models
            ):
                message = f"model {model_id!r}: worker holds {self.hist.max_models} models already"
                refused.extend(
                    (k if positions is None else positions[k], "too_many_models", message)
                    for k in rows
                )
                continue
            rows = self._check_dims(model_id, rows, events, positions, refused)
            if not rows:
                continue
            chosen = events if len(rows) == len(events) else [events[k] for k in rows]
            by_model.setdefault(model_id, Gathered()).add(rec, chosen, decoded.numeric_names)
        if refused:
            out.rejected.append(rejection(rec, refused))

    def _one(
        self,
        rec: RawRecord,
        event: Any,
        names: tuple[str, ...] | None,
        by_model: dict[str, Gathered],
    ) -> bool:
        """A record's single event (``decode_event``) gathered as ``_fast`` would gather it;
        False: the general path judges it."""
        model_id = event.model_id
        gathered = by_model.get(model_id)
        if (gathered is None and model_id not in self.models) or event.embeddings:
            return False
        bounds, t = self.event_time, event.timestamp
        if bounds is not None and rec.timestamp > 0 and t is not None:
            if t > rec.timestamp + bounds.max_future:
                return False
            if bounds.max_age > 0 and t < rec.timestamp - bounds.max_age:
                return False
        if gathered is None:
            gathered = by_model[model_id] = Gathered()
        gathered.add_one(rec, event, names)
        return True

    def _fast(self, rec: RawRecord, decoded: DecodedStreams, by_model: dict[str, Gathered]) -> bool:
        """The common record (valid events of one admitted model, every time in bounds)
        gathered without the general path's bookkeeping; False: take the general path."""
        model_id = next(iter(decoded.models))
        gathered = by_model.get(model_id)
        if gathered is None and model_id not in self.models:
            return False
        if any(getattr(e, "embeddings", None) for e in decoded.events):
            return False  # the general path checks their dimensions
        bounds = self.event_time
        if bounds is not None and rec.timestamp > 0:
            high = rec.timestamp + bounds.max_future
            low = rec.timestamp - bounds.max_age if bounds.max_age > 0 else -math.inf
            for event in decoded.events:
                t = event.timestamp
                if t is not None and not low <= t <= high:
                    return False
        if gathered is None:
            gathered = by_model[model_id] = Gathered()
        gathered.add(rec, decoded.events, decoded.numeric_names)
        return True

    def _dims(self, model_id: str) -> dict[str, int]:
        """The embedding dimensions fixed for ``model_id``: declared, counted before (its
        meta), or first seen in this batch (kept in ``_batch_dims``)."""
        held = self._batch_dims.get(model_id)
        if held is None:
            rt = self.models.get(model_id)
            raw = None if rt is not None else self.store.get(meta_key(model_id))
            meta = rt.meta if rt is not None else (ModelMeta.from_bytes(raw) if raw else None)
            held = {**self.vectors.declared, **(meta.vector_dims if meta else {})}
            self._batch_dims[model_id] = held
        return held

    def _check_dims(
        self,
        model_id: str,
        rows: list[int],
        events: list[Any],
        positions: list[int] | None,
        refused: list[tuple[int | None, str, str]],
    ) -> list[int]:
        """``rows`` without the events carrying an embedding of another dimension than the
        one fixed for (model, name); those are refused as ``embedding_dimension``."""
        if not any(getattr(events[k], "embeddings", None) for k in rows):
            return rows
        dims, kept = self._dims(model_id), []
        for k in rows:
            vectors = getattr(events[k], "embeddings", None) or {}
            bad = [
                f"embeddings.{name}: {len(v)} dimensions, the model's has {dims[name]}"
                for name, v in vectors.items()
                if dims.get(name, len(v)) != len(v)
            ]
            if not bad:
                dims.update((name, len(v)) for name, v in vectors.items() if name not in dims)
                kept.append(k)
            else:
                refused.append((k if positions is None else positions[k], EMBEDDING_DIM, bad[0]))
        return kept

    def _bound_times(
        self,
        rec: RawRecord,
        events: list[Any],
        positions: list[int] | None,
        refused: list[tuple[int | None, str, str]],
    ) -> tuple[list[Any], list[int] | None]:
        """Refuse the events whose time lies outside ``self.event_time`` around the record's
        broker timestamp (the rule of ``drift.eventtime.event_time_error``, inlined)."""
        bounds = self.event_time
        assert bounds is not None
        high = rec.timestamp + bounds.max_future
        low = rec.timestamp - bounds.max_age if bounds.max_age > 0 else -math.inf
        bad = [
            k
            for k, e in enumerate(events)
            if (t := e.timestamp) is not None and not low <= t <= high
        ]
        if not bad:
            return events, positions
        for k in bad:
            t = events[k].timestamp
            reason = TIMESTAMP_IN_FUTURE if t > high else TIMESTAMP_TOO_OLD
            where = "after" if t > high else "before"
            refused.append(
                (
                    k if positions is None else positions[k],
                    reason,
                    f"event time {t} lies too far {where} the record's broker time {rec.timestamp}",
                )
            )
        drop = set(bad)
        keep = [k for k in range(len(events)) if k not in drop]
        kept_positions = [k if positions is None else positions[k] for k in keep]
        return [events[k] for k in keep], kept_positions

    def _columns(self, rec: RawRecord, by_model: dict[str, Gathered]) -> bool:
        """The plain columnar record (valid, every time in bounds, its model admitted)
        gathered as validated columns; False: the general path judges it event by event."""
        part = decode_columns(rec.value, self.limits)
        if part is None:
            return False
        model_id, bounds = part.model_id, self.event_time
        if (
            model_id not in by_model
            and model_id not in self.models
            and len(self.models.keys() | by_model.keys()) >= self.hist.max_models
        ):
            return False
        if bounds is not None and rec.timestamp > 0:
            high = rec.timestamp + bounds.max_future
            low = rec.timestamp - bounds.max_age if bounds.max_age > 0 else -math.inf
            span = part.time_range()
            if span is not None and (span[1] > high or span[0] < low):
                return False
        if part.vectors:  # of the model's dimensions (the general path refuses the others)
            dims = self._dims(model_id)
            if any(dims.get(k, v.shape[1]) != v.shape[1] for k, v in part.vectors.items()):
                return False
            dims.update((k, v.shape[1]) for k, v in part.vectors.items() if k not in dims)
        gathered = by_model.get(model_id)
        if gathered is None:
            gathered = by_model[model_id] = Gathered()
        gathered.add_columns(rec, part)
        return True
