"""Benchmark of the drift core; prints figures, asserts nothing.

    python bench/bench_drift.py [--events-per-bucket 300] [--repeat 50]

1. Histogram update rate (values/s on one core) for large and for small batches.
2. Evaluation of one model x 20 streams (16 numeric, 4 categorical) with 12 recent and 288
   baseline buckets, read from running window sums; also the cost of sliding the window by one
   bucket and of re-adding all 300 buckets instead (what the running sums avoid).
3. Evidently's DataDriftPreset on the raw samples of the same size (optional ``bench`` extra),
   and the ratio of its time to ours.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core: keep BLAS/OpenMP pools single-threaded
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from drift import (
    CategoricalHistogram,
    DetectionPolicy,
    Histogram,
    NumericHistogram,
    WindowSums,
    evaluate_stream,
    model_verdict,
)
from drift.bins import Subwindows
from drift.evaluate import StreamWindows, decide, measure_model
from drift.quality import QualityInput, QualityPolicy, decide_quality, measure_quality

RECENT_BUCKETS, BASELINE_BUCKETS = 12, 288
NUMERIC_STREAMS, CATEGORICAL_STREAMS = 16, 4
CATEGORIES = np.array(["DE", "FR", "US", "GB", "IT", "ES", "NL", "PL"])


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and best wall time of ``fn`` in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def update_rate(batch: int, total: int) -> float:
    rng = np.random.default_rng(0)
    data = rng.lognormal(0.0, 2.0, batch) * rng.choice([-1.0, 1.0], batch)
    hist = NumericHistogram()
    rounds = max(1, total // batch)
    start = time.perf_counter()
    for _ in range(rounds):
        hist.update(data)
    return rounds * batch / (time.perf_counter() - start)


RawColumns = dict[str, NDArray[np.float64] | list[str]]


def raw_samples(n: int, seed: int) -> RawColumns:
    rng = np.random.default_rng(seed)
    columns: RawColumns = {}
    for i in range(NUMERIC_STREAMS):
        columns[f"input.f{i}"] = rng.normal(i, 1.0 + i / 4, n)
    for i in range(CATEGORICAL_STREAMS):
        columns[f"input.c{i}"] = list(rng.choice(CATEGORIES, n))
    return columns


def bucket_histograms(columns: RawColumns, start: int, size: int) -> dict[str, Histogram]:
    bucket: dict[str, Histogram] = {}
    for name, values in columns.items():
        hist: Histogram
        if isinstance(values, np.ndarray):
            hist = NumericHistogram()
            hist.update(values[start : start + size])
        else:
            hist = CategoricalHistogram()
            hist.update(values[start : start + size])
        bucket[name] = hist
    return bucket


def sum_of(hists: list[Histogram]) -> Histogram:
    total = hists[0].copy()
    for h in hists[1:]:
        total += h  # type: ignore[operator]
    return total


def bench_evaluation(per_bucket: int, repeat: int) -> tuple[float, RawColumns, RawColumns]:
    n_base, n_recent = BASELINE_BUCKETS * per_bucket, RECENT_BUCKETS * per_bucket
    baseline_raw, recent_raw = raw_samples(n_base, 1), raw_samples(n_recent, 2)
    base_buckets = [
        bucket_histograms(baseline_raw, i * per_bucket, per_bucket) for i in range(BASELINE_BUCKETS)
    ]
    recent_buckets = [
        bucket_histograms(recent_raw, i * per_bucket, per_bucket) for i in range(RECENT_BUCKETS)
    ]
    sums = WindowSums()
    for b in base_buckets:
        sums.add_to_baseline(b)
    for b in recent_buckets:
        sums.add_to_recent(b)
    policy = DetectionPolicy()
    fixed = DetectionPolicy(rule="fixed")
    per_sub = len(recent_buckets)  # sub-windows of the recent window's length, as the worker's
    subwindows = {
        s: [
            sum_of([b[s] for b in base_buckets[i : i + per_sub]])
            for i in range(0, len(base_buckets) - per_sub + 1, per_sub)
        ]
        for s in sums.streams()
    }
    fresh = {
        s: {f"{5 * k}m": sum_of([b[s] for b in recent_buckets[-k:]]) for k in (3, 6)}
        for s in sums.streams()
    }

    def evaluate_fixed() -> None:
        evals = [
            evaluate_stream(s, sums.recent(s), sums.baseline(s), fixed) for s in sums.streams()
        ]
        model_verdict(evals)

    # the worker prepares a stream's sub-windows once per set of roll-ups (about hourly) and
    # keeps them for the dozen evaluations that share them: "steady" reuses them, "cold" is the
    # first evaluation after the set changed
    prepared = {s: Subwindows(subs) for s, subs in subwindows.items()}

    def evaluate(cold: bool = False) -> None:  # as the worker: calibrated, sub-windows, fresh
        subs = {s: Subwindows(h) for s, h in subwindows.items()} if cold else prepared
        inputs = [
            StreamWindows(s, sums.recent(s), sums.baseline(s), subs[s], fresh[s])
            for s in sums.streams()
        ]
        model_verdict(decide(measure_model(inputs, policy), policy))

    def slide() -> None:  # one bucket in, the oldest recent one to the baseline, one out
        sums.add_to_recent(recent_buckets[0])
        sums.remove_from_recent(recent_buckets[0])
        sums.add_to_baseline(base_buckets[0])
        sums.remove_from_baseline(base_buckets[0])

    def re_add() -> None:
        again = WindowSums()
        for b in base_buckets + recent_buckets:
            again.add_to_baseline(b)

    qpolicy = QualityPolicy()

    def quality() -> None:  # the data-quality signals the worker adds to each evaluation
        inputs = [
            QualityInput(s, sums.recent(s), sums.baseline(s), prepared[s]) for s in sums.streams()
        ]
        decide_quality(measure_quality(inputs, qpolicy), qpolicy)

    median, best = best_of(evaluate, repeat)
    quality_median, _ = best_of(quality, repeat)
    cold_median, _ = best_of(lambda: evaluate(cold=True), repeat)
    fixed_median, _ = best_of(evaluate_fixed, repeat)
    slide_median, _ = best_of(slide, repeat)
    re_add_median, _ = best_of(re_add, max(3, repeat // 10))
    streams = NUMERIC_STREAMS + CATEGORICAL_STREAMS
    print(
        f"evaluation, 1 model x {streams} streams x ({RECENT_BUCKETS} recent + "
        f"{BASELINE_BUCKETS} baseline buckets of {per_bucket} events):"
    )
    print(
        f"  calibrated (24 sub-windows + 2 fresh parts), from running sums "
        f"{median * 1e3:8.2f} ms median ({best * 1e3:.2f} ms best)"
    )
    print(
        f"  the same, sub-windows prepared anew (once an hour in the worker) "
        f"{cold_median * 1e3:6.2f} ms median"
    )
    print(
        f"  fixed limits only (the old rule)                           "
        f"{fixed_median * 1e3:8.2f} ms median ({fixed_median / median:.0%} of it)"
    )
    print(
        f"  data-quality signals of the same streams (added to each evaluation) "
        f"{quality_median * 1e3:5.2f} ms median"
    )
    print(f"  sliding the window        {slide_median * 1e3:8.2f} ms per bucket")
    print(f"  re-adding 300 buckets     {re_add_median * 1e3:8.2f} ms (avoided by the sums)")
    return median, recent_raw, baseline_raw


def from_raw(recent: RawColumns, baseline: RawColumns) -> float:
    """Seconds to histogram both raw windows in one pass each and evaluate (no running sums)."""
    start = time.perf_counter()
    rec = bucket_histograms(recent, 0, len(next(iter(recent.values()))))
    base = bucket_histograms(baseline, 0, len(next(iter(baseline.values()))))
    policy = DetectionPolicy()
    model_verdict([evaluate_stream(s, rec[s], base[s], policy) for s in rec])
    return time.perf_counter() - start


def bench_evidently(recent: RawColumns, baseline: RawColumns, ours: float, repeat: int) -> None:
    raw = statistics.median(from_raw(recent, baseline) for _ in range(3))
    print(f"drift core from the same raw samples (histogram + evaluate): {raw * 1e3:8.1f} ms")
    try:
        import pandas as pd
        from evidently import Report
        from evidently.presets import DataDriftPreset
    except ImportError as exc:
        print(f"evidently: NOT AVAILABLE ({exc}); install the 'bench' extra to compare")
        return
    current, reference = pd.DataFrame(recent), pd.DataFrame(baseline)

    def run() -> None:
        Report([DataDriftPreset()]).run(current, reference)

    run()  # warm-up: imports and caches
    median, _ = best_of(run, max(1, repeat))
    rows = f"{len(reference):,} reference + {len(current):,} current rows x {current.shape[1]}"
    print(f"evidently DataDriftPreset on raw samples ({rows} columns):")
    print(f"  {median * 1e3:10.1f} ms median")
    print(f"  ratio evidently / drift core: {median / ours:,.0f}x against the running sums,")
    print(f"  {median / raw:,.0f}x against histogramming the raw samples from scratch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events-per-bucket", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--evidently-repeat", type=int, default=3)
    args = parser.parse_args()
    print("histogram update rate (one core, relative accuracy 1%):")
    for batch in (1_000_000, 10_000, 1_000):
        print(f"  batches of {batch:>9,}  {update_rate(batch, 20_000_000) / 1e6:8.1f} M values/s")
    ours, recent, baseline = bench_evaluation(args.events_per_bucket, args.repeat)
    bench_evidently(recent, baseline, ours, args.evidently_repeat)


if __name__ == "__main__":
    main()
