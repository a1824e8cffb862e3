"""Control commands (``Processor`` part): thresholds, pin, unpin, accept a change, baseline mode."""

from __future__ import annotations

import logging
from typing import Any

from drift.fields import is_model_name
from stream_app.records import Output
from stream_app.runtime import ProcessorBase, Runtime
from stream_app.state import PinnedBaseline, pinned_key, reference_key

log = logging.getLogger(__name__)

_CONTROL_ACTIONS = frozenset(
    {"set_thresholds", "pin_baseline", "unpin_baseline", "accept_change", "set_baseline_mode"}
)


class Commands(ProcessorBase):
    def control(self, partition: int, command: dict[str, Any], now: float) -> Output:
        """Apply a control command. Like events, a command creates a model's state only under
        a valid model name and while the worker holds fewer than ``max_models`` models."""
        out = Output()
        if not isinstance(command, dict):
            log.warning("ignoring a control record that is not a JSON object")
            return out
        model_id = str(command.get("model_id", ""))
        action = command.get("action")
        if action not in _CONTROL_ACTIONS:
            log.warning("ignoring unknown control action %r for model %r", action, model_id)
            return out
        if not is_model_name(model_id):
            log.warning(
                "ignoring control action %r for an invalid model id %.80r", action, model_id
            )
            return out
        if model_id not in self.models and len(self.models) >= self.hist.max_models:
            log.warning(
                "ignoring control action %r for model %r: worker holds %d models",
                action,
                model_id,
                self.hist.max_models,
            )
            return out
        rt = self._runtime(model_id, partition)
        rt.meta.last_seen = rt.meta.last_seen or now  # a command alone does not keep it
        if action == "set_thresholds":
            rt.meta.thresholds = dict(command.get("thresholds") or {})
        elif action == "pin_baseline":
            self._pin(rt, now, out)
        elif action == "accept_change":
            self._accept(rt, command, now, out)
        elif action == "set_baseline_mode":
            mode = command.get("mode")
            if mode not in ("rolling", "seasonal"):
                log.warning("ignoring baseline mode %r for model %r", mode, model_id)
                return out
            rt.meta.baseline_mode = str(mode)
            if mode == "seasonal" and rt.meta.next_end is not None:
                self._keep_hours(rt, rt.meta.next_end, out)
        elif action == "unpin_baseline":
            rt.meta.pinned, rt.pinned = False, None
            out.writes[pinned_key(model_id)] = (rt.meta.partition, None)
            out.baselines.append({"action": "unpin", "model_id": model_id})
        self._flush(rt, out)
        return out

    def _accept(self, rt: Runtime, command: dict[str, Any], now: float, out: Output) -> None:
        """Accept a change as the new normal: the named stream (every frozen one when None)
        goes back to the rolling baseline, which holds the changed data; recorded who/when."""
        stream = command.get("stream")
        streams = [str(stream)] if stream else sorted(rt.frozen)
        for name in streams:
            self._thaw(rt, name, out)
            rt.meta.accepted[name] = {
                "by": str(command.get("by") or "unknown")[:200],
                "at": float(command.get("requested_at") or now),
            }
        out.baselines.append(
            {
                "action": "accept",
                "model_id": rt.meta.model_id,
                "streams": streams,
                "by": str(command.get("by") or "unknown")[:200],
                "accepted_at": now,
            }
        )

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
        out.baselines.append(
            {
                "action": "pin",
                "model_id": meta.model_id,
                "window_start": start,
                "window_end": meta.next_end - spec.recent,
                "pinned_at": now,
                "histograms": {s: h.to_bytes().hex() for s, h in hists.items()},
            }
        )
