"""Control commands (``Processor`` part): thresholds, pin, unpin, accept a change, baseline mode.

Commands arrive as decoded JSON and are parsed into the typed commands of ``drift.messages``
(an invalid one is logged with the reason and ignored); the worker answers on
``drift-baselines`` with the typed records of the same module.
"""

from __future__ import annotations

import logging
from typing import Any

from drift.messages import (
    AcceptChange,
    AcceptRecord,
    InvalidCommand,
    PinBaseline,
    PinRecord,
    SetBaselineMode,
    SetThresholds,
    UnpinBaseline,
    UnpinRecord,
    parse_command,
)
from stream_app.records import Output
from stream_app.runtime import ProcessorBase, Runtime
from stream_app.state import PinnedBaseline, pinned_key, reference_key

log = logging.getLogger(__name__)


class Commands(ProcessorBase):
    def control(self, partition: int, command: dict[str, Any], now: float) -> Output:
        """Apply a control command. Like events, a command creates a model's state only under
        a valid model name and while the worker holds fewer than ``max_models`` models."""
        out = Output()
        try:
            cmd = parse_command(command)
        except InvalidCommand as exc:
            log.warning("ignoring an invalid control command: %s", exc)
            return out
        model_id = cmd.model_id
        if model_id not in self.models and len(self.models) >= self.hist.max_models:
            log.warning(
                "ignoring control action %r for model %r: worker holds %d models",
                cmd.action,
                model_id,
                self.hist.max_models,
            )
            return out
        rt = self._runtime(model_id, partition)
        rt.meta.last_seen = rt.meta.last_seen or now  # a command alone does not keep it
        if isinstance(cmd, SetThresholds):
            rt.meta.thresholds = dict(cmd.thresholds)
        elif isinstance(cmd, PinBaseline):
            self._pin(rt, now, out)
        elif isinstance(cmd, AcceptChange):
            self._accept(rt, cmd, now, out)
        elif isinstance(cmd, SetBaselineMode):
            rt.meta.baseline_mode = cmd.mode
            if cmd.mode == "seasonal" and rt.meta.next_end is not None:
                self._keep_hours(rt, rt.meta.next_end, out)
        elif isinstance(cmd, UnpinBaseline):
            rt.meta.pinned, rt.pinned = False, None
            out.writes[pinned_key(model_id)] = (rt.meta.partition, None)
            out.baselines.append(UnpinRecord(model_id))
        self._flush(rt, out)
        return out

    def _accept(self, rt: Runtime, cmd: AcceptChange, now: float, out: Output) -> None:
        """Accept a change as the new normal: the named stream (every frozen one when None)
        goes back to the rolling baseline, which holds the changed data; recorded who/when."""
        streams = [cmd.stream] if cmd.stream else sorted(rt.frozen)
        by = (cmd.by or "unknown")[:200]
        for name in streams:
            self._thaw(rt, name, out)
            rt.meta.accepted[name] = {"by": by, "at": cmd.requested_at or now}
        out.baselines.append(AcceptRecord(rt.meta.model_id, streams, by, now))

    def _pin(self, rt: Runtime, now: float, out: Output) -> None:
        meta, spec = rt.meta, self.spec
        if meta.next_end is None:
            log.warning("cannot pin a baseline for %r: no data yet", meta.model_id)
            return
        hists = {s: rt.sums.baseline(s) for s in rt.sums.streams()}
        start = meta.next_end - spec.recent - spec.baseline
        rt.pinned = PinnedBaseline(hists, start, meta.next_end - spec.recent)
        meta.pinned = True
        out.writes[pinned_key(meta.model_id)] = (meta.partition, rt.pinned.to_bytes())
        rt.pinned_subs = {}
        for stream in hists:
            ref = self._reference(rt, stream, meta.next_end)
            rt.pinned_subs[stream] = ref.subwindows
            key = reference_key(meta.model_id, "ps", stream)
            out.writes[key] = (meta.partition, ref.to_bytes())
        hexed = {s: h.to_bytes().hex() for s, h in hists.items()}
        out.baselines.append(
            PinRecord(meta.model_id, start, meta.next_end - spec.recent, now, hexed)
        )
