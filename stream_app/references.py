"""What each stream is judged against (``Processor`` part): the pinned, frozen, seasonal or
rolling baseline, its sub-windows (the null's calibration) and the newest parts of recent.
"""

from __future__ import annotations

from drift import Histogram
from drift.bins import Subwindows
from drift.vector_streams import projection_of
from stream_app.evaluation import StreamInput
from stream_app.records import Output
from stream_app.runtime import ProcessorBase, Runtime
from stream_app.state import Reference, reference_key


def _span_label(seconds: int) -> str:
    return f"{seconds // 60}m" if seconds % 3600 else f"{seconds // 3600}h"


class Baselines(ProcessorBase):
    def _input(self, rt: Runtime, stream: str, end: int) -> StreamInput | None:
        """What ``stream`` is judged on at window end ``end``: pinned, frozen, seasonal or
        rolling baseline, in that order of precedence."""
        spec = self.spec
        recent = rt.sums.recent(stream)
        fresh = self._fresh(rt, stream, end)
        if rt.pinned is not None and rt.meta.pinned:
            base = rt.pinned.hists.get(stream, recent.empty_like())
            subs = rt.pinned_subs.get(stream, [])
            span = (rt.pinned.window_start, rt.pinned.window_end)
            mode = "pinned"
        elif stream in rt.frozen:
            ref = rt.frozen[stream]
            base, subs, span, mode = (
                ref.total,
                ref.subwindows,
                (ref.window_start, ref.window_end),
                "frozen",
            )
        elif rt.meta.baseline_mode == "seasonal" and (seasonal := self._seasonal(rt, stream, end)):
            base, subs, span = seasonal
            mode = "seasonal"
        else:
            base = rt.sums.baseline(stream)
            subs = self._subwindows(rt, stream, end)
            span, mode = (end - spec.recent - spec.baseline, end - spec.recent), "rolling"
        if type(base) is not type(recent):
            return None
        subs = [h for h in subs if type(h) is type(recent)]
        held = rt.subsets.get(stream)  # the same roll-ups serve ~12 evaluations: prepared once
        if (
            held is None
            or len(held.hists) != len(subs)
            or any(a is not b for a, b in zip(held.hists, subs, strict=True))
        ):
            held = rt.subsets[stream] = Subwindows(subs)
        return StreamInput(stream, recent, base, held, fresh, mode, span)

    def _fresh(self, rt: Runtime, stream: str, end: int) -> dict[str, Histogram]:
        """The newest parts of the recent window (``fresh_buckets`` buckets each), by label."""
        out: dict[str, Histogram] = {}
        for n in self.detection.fresh_buckets:
            if n <= 0 or n * self.spec.bucket >= self.spec.recent:
                continue
            total: Histogram | None = None
            for start in range(end - n * self.spec.bucket, end, self.spec.bucket):
                h = rt.buckets[start].hists.get(stream) if start in rt.buckets else None
                if h is None:
                    continue
                if total is None:
                    total = h.copy()
                elif type(total) is type(h):
                    total += h  # type: ignore[operator,unused-ignore]
            if total is not None:
                out[_span_label(n * self.spec.bucket)] = total
        return out

    def _rollup(self, rt: Runtime, start: int) -> dict[str, Histogram]:
        """The sum of the buckets of [start, start + recent), cached until one of them changes."""
        held = rt.rollups.get(start)
        if held is None:
            held = {}
            for b in range(start, start + self.spec.recent, self.spec.bucket):
                rec = rt.buckets.get(b)
                if rec is None:
                    continue
                for name, h in rec.hists.items():
                    if name not in held:
                        held[name] = h.copy()
                    elif type(held[name]) is type(h):
                        held[name] += h  # type: ignore[operator,unused-ignore]
            rt.rollups[start] = held
        return held

    def _subwindows(self, rt: Runtime, stream: str, end: int) -> list[Histogram]:
        """The baseline's whole sub-windows of the recent window's length (aligned to
        multiples of it), each the sum of its buckets: the null's calibration data."""
        spec = self.spec
        lo, hi = end - spec.recent - spec.baseline, end - spec.recent
        first = -(-lo // spec.recent) * spec.recent
        for stale in [s for s in rt.rollups if s < lo]:
            del rt.rollups[stale]
        out = []
        for start in range(first, hi - spec.recent + 1, spec.recent):
            h = self._rollup(rt, start).get(stream)
            if h is not None:
                out.append(h)
        return out

    def _seasonal(
        self, rt: Runtime, stream: str, end: int
    ) -> tuple[Histogram, list[Histogram], tuple[int, int]] | None:
        """Baseline of the same time of day on each previous day held: per day the roll-ups
        overlapping [end - recent - k days, end - k days); one sub-window per day."""
        spec, day = self.spec, 86400
        per_day: list[Histogram] = []
        first_start = None
        for k in range(1, self.detection.seasonal_days + 1):
            lo, hi = end - spec.recent - k * day, end - k * day
            total: Histogram | None = None
            for start in range(lo - lo % spec.recent, hi, spec.recent):
                h = rt.hours.get(start, {}).get(stream)
                if h is None:
                    continue
                first_start = start
                if total is None:
                    total = h.copy()
                elif type(total) is type(h):
                    total += h  # type: ignore[operator,unused-ignore]
            if total is not None:
                per_day.append(total)
        if not per_day or first_start is None:
            return None
        base = per_day[0].copy()
        for h in per_day[1:]:
            if type(h) is type(base):
                base += h  # type: ignore[operator,unused-ignore]
        return base, per_day, (first_start, end - day)

    def _reference(self, rt: Runtime, stream: str, end: int) -> Reference:
        spec = self.spec
        return Reference(
            rt.sums.baseline(stream),
            [h.copy() for h in self._subwindows(rt, stream, end)],
            end - spec.recent - spec.baseline,
            end - spec.recent,
            end,
        )

    def _family(self, rt: Runtime, stream: str) -> list[str]:
        """``stream`` and, for a vector stream, its projections: frozen and thawed together."""
        names = rt.sums.streams() + list(rt.frozen)
        return [stream, *sorted({n for n in names if projection_of(n, {stream})})]

    def _freeze(self, rt: Runtime, stream: str, end: int, out: Output) -> None:
        """Keep judging ``stream`` (with its projections) against its baseline as it was when
        its alert opened."""
        for name in self._family(rt, stream):
            self._freeze_one(rt, name, end, out)

    def _freeze_one(self, rt: Runtime, stream: str, end: int, out: Output) -> None:
        if stream in rt.frozen or (rt.pinned is not None and rt.meta.pinned):
            return
        if rt.meta.baseline_mode == "seasonal":
            seasonal = self._seasonal(rt, stream, end)
            if seasonal is not None:
                base, subs, (lo, hi) = seasonal
                rt.frozen[stream] = Reference(base, subs, lo, hi, end)
        if stream not in rt.frozen:
            rt.frozen[stream] = self._reference(rt, stream, end)
        rt.meta.frozen = sorted(rt.frozen)
        key = reference_key(rt.meta.model_id, "f", stream)
        out.writes[key] = (rt.meta.partition, rt.frozen[stream].to_bytes())

    def _thaw(self, rt: Runtime, stream: str, out: Output) -> None:
        for name in self._family(rt, stream):
            if rt.frozen.pop(name, None) is not None:
                rt.meta.frozen = sorted(rt.frozen)
                key = reference_key(rt.meta.model_id, "f", name)
                out.writes[key] = (rt.meta.partition, None)
