"""Moving a model's windows along its watermark and evaluating those that close (``Processor``
part): slides, jumps over gaps (bounded evaluations per event), idle closes, seasonal roll-ups.
"""

from __future__ import annotations

from drift import WindowSums
from stream_app.evaluation import evaluate_model
from stream_app.records import Output
from stream_app.runtime import ProcessorBase, Runtime
from stream_app.state import BucketRecord, bucket_key, hour_key


class WindowMovement(ProcessorBase):
    def _rebuild_sums(self, rt: Runtime) -> None:
        rt.sums = WindowSums()
        end = rt.meta.next_end
        if end is None:
            return
        for start, rec in rt.buckets.items():
            side = self.spec.side(start, end)
            if side == "recent":
                rt.sums.add_to_recent(rec.hists)
            elif side == "baseline":
                rt.sums.add_to_baseline(rec.hists)

    def _advance(self, rt: Runtime, out: Output) -> None:
        """Evaluate the windows that close, with a bound per event: after a bucket holding data,
        the next windows holding it in their recent part are evaluated (at most
        ``max_evaluations - 1``), then the window jumps to where the next bucket with data enters
        it, or to the last ``max_evaluations - that`` windows before the watermark, whichever is
        first. Dense data has every window evaluated; one
        event after a long gap (sparse events) no longer evaluates every window of the span."""
        meta, spec = rt.meta, self.spec
        assert meta.next_end is not None
        # the windows holding a bucket in their recent part are evaluated (up to the bound, less
        # one for the tail): a hole in delivery (records faust skipped, read again later) never
        # makes the window jump over windows whose recent part holds data
        head_n = max(1, min(spec.recent // spec.bucket, self.max_evaluations - 1))
        head = head_n * spec.bucket
        tail = max(1, self.max_evaluations - head_n)
        while spec.closes(meta.next_end, meta.watermark):
            if not rt.sums.streams() and not self._skip_empty(rt):
                break
            end = meta.next_end
            if not spec.closes(end, meta.watermark):
                break
            newest = max((b for b in rt.buckets if b < end), default=end)
            last = spec.bucket_of(meta.watermark - spec.lateness)  # the last end that closes
            if end - newest > head and last - end >= tail * spec.bucket:
                target = last - (tail - 1) * spec.bucket
                ahead = [b for b in rt.buckets if b >= end]
                if ahead:
                    target = min(target, min(ahead) + spec.bucket)
                if target > end:
                    self._jump(rt, target, out)
                    continue
            self._evaluate(rt, out)
            self._slide(rt, out)

    def _skip_empty(self, rt: Runtime) -> bool:
        """No data in the window: jump to the first window holding data (a gap in event time,
        instead of evaluating thousands of empty windows). False when nothing lies ahead."""
        meta, spec = rt.meta, self.spec
        assert meta.next_end is not None
        ahead = [start for start in rt.buckets if start >= meta.next_end]
        if not ahead:
            meta.next_end = spec.bucket_of(meta.watermark - spec.lateness) + spec.bucket
            return False
        meta.next_end = min(ahead) + spec.bucket
        self._rebuild_sums(rt)
        return True

    def _jump(self, rt: Runtime, end: int, out: Output) -> None:
        """Move the next window end to ``end``: buckets expired there are deleted, the sums
        rebuilt from the buckets left (one pass instead of one slide per skipped window)."""
        meta, spec = rt.meta, self.spec
        if meta.baseline_mode == "seasonal":  # keep the roll-ups the skipped slides would have
            for step_end in range(meta.next_end or end, end + 1, spec.recent):
                self._keep_hours(rt, step_end, out)
        meta.next_end = end
        for start in [s for s in rt.buckets if spec.side(s, end) == "expired"]:
            del rt.buckets[start]
            rt.dirty.discard(start)
            out.writes[bucket_key(meta.model_id, start)] = (meta.partition, None)
        self._rebuild_sums(rt)

    def close_idle(self, now: float, idle_seconds: float) -> Output:
        """Close the open bucket of every model that sent nothing for ``idle_seconds``."""
        out = Output()
        for rt in list(self.models.values()):
            end = rt.meta.next_end
            if end is None or now - rt.last_seen < idle_seconds or rt.meta.watermark >= end:
                continue
            if not any(start < end for start in rt.buckets if start >= end - self.spec.bucket):
                continue
            rt.meta.watermark = float(end + self.spec.lateness)
            self._advance(rt, out)
            self._flush(rt, out)
        return out

    def _evaluate(self, rt: Runtime, out: Output) -> None:
        meta, spec = rt.meta, self.spec
        assert meta.next_end is not None
        end = meta.next_end
        policy = self.policy.with_overrides(meta.thresholds) if meta.thresholds else self.policy
        inputs = [i for s in rt.sums.streams() if (i := self._input(rt, s, end)) is not None]
        window = (end - spec.recent, end)
        report = evaluate_model(
            meta, inputs, policy, self.hysteresis, window, self.detection.quality
        )
        if report is None:
            return
        out.reports.append(report)
        if self.detection.freeze_drifted:
            for alert in report.alerts:
                if alert.transition == "open":
                    self._freeze(rt, alert.stream, end, out)
                elif alert.transition == "resolve":
                    self._thaw(rt, alert.stream, out)

    def _slide(self, rt: Runtime, out: Output) -> None:
        meta, spec = rt.meta, self.spec
        assert meta.next_end is not None
        end = meta.next_end
        entering, to_baseline = end, end - spec.recent
        leaving = end - spec.recent - spec.baseline
        if entering in rt.buckets:
            rt.sums.add_to_recent(rt.buckets[entering].hists)
        if to_baseline in rt.buckets:
            rt.sums.remove_from_recent(rt.buckets[to_baseline].hists)
            rt.sums.add_to_baseline(rt.buckets[to_baseline].hists)
        if leaving in rt.buckets:
            rt.sums.remove_from_baseline(rt.buckets[leaving].hists)
        meta.next_end = end + spec.bucket
        if meta.baseline_mode == "seasonal":
            self._keep_hours(rt, meta.next_end, out)
        for start in [s for s in rt.buckets if spec.side(s, meta.next_end) == "expired"]:
            del rt.buckets[start]
            rt.dirty.discard(start)
            out.writes[bucket_key(meta.model_id, start)] = (meta.partition, None)

    def _keep_hours(self, rt: Runtime, end: int, out: Output) -> None:
        """Seasonal mode: store the roll-up of every whole sub-window now in the baseline, and
        drop those older than ``seasonal_days``."""
        spec = self.spec
        lo, hi = end - spec.recent - spec.baseline, end - spec.recent
        first = -(-lo // spec.recent) * spec.recent
        for start in range(first, hi - spec.recent + 1, spec.recent):
            if start in rt.hours:
                continue
            rollup = self._rollup(rt, start)
            if rollup:
                rt.hours[start] = {k: h.copy() for k, h in rollup.items()}
                key = hour_key(rt.meta.model_id, start)
                out.writes[key] = (
                    rt.meta.partition,
                    BucketRecord(start, rt.hours[start]).to_bytes(),
                )
        oldest = end - (self.detection.seasonal_days + 1) * 86400 - spec.recent
        for start in [s for s in rt.hours if s < oldest]:
            del rt.hours[start]
            out.writes[hour_key(rt.meta.model_id, start)] = (rt.meta.partition, None)
        rt.meta.hours = sorted(rt.hours)
