"""Detection quality: false alarms and detection delay, old fixed policy against the calibrated one.

Streams are simulated in 5-minute buckets (Poisson counts at the stated rate), with the worker's
windows (recent 1 h, baseline the 24 h before, sub-windows = the baseline's whole hours, the
newest 3 and 6 buckets tested alone) and the drift core's functions as the worker calls them
(``measure_stream``, ``decide``, ``step``). Both policies judge the same windows in the same run:

* fixed: the seed's limits (KL > 0.1, cosine < 0.9, PSI > 0.2, JS/Hellinger/Wasserstein/KS >
  0.1), alert on the first drifted evaluation (the old defaults);
* calibrated: calibrated p-values, Benjamini-Hochberg across the model's streams at
  ``fdr=0.001``, minimum effect 0.02, alert after 3 drifted evaluations, baseline frozen while
  an alert is open (the new defaults).

Printed: the share of evaluations flagged per stream with no drift (kinds x rates, daily
cycles), false alerts per model-week of a 20-stream model, and detection delays of sudden,
gradual and categorical shifts (evaluations after the change; 1 evaluation = 5 min), and the
trade-off the FDR level sets between the category shift's delay and the false alarms. Every
figure states its sample size. Deterministic for a ``--seed``; ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drift import (
    AlertState,
    CategoricalHistogram,
    DetectionPolicy,
    Histogram,
    Hysteresis,
    NumericHistogram,
    step,
)
from drift.evaluate import decide, measure_stream

BUCKET_H = 1 / 12  # hours per bucket
RECENT, BASELINE, FRESH = 12, 288, (3, 6)  # fresh parts: 15 and 30 min
FIXED = DetectionPolicy(rule="fixed", min_recent=200, min_baseline=1000)
CALIBRATED = DetectionPolicy(min_recent=200, min_baseline=1000)
OLD_ALERTS, NEW_ALERTS = Hysteresis(1, 3), Hysteresis(3, 3)

# value generators: (rng, n, shift) -> values; shift is in the stream's own units of change
Gen = Callable[[np.random.Generator, int, float], object]
CATS3 = np.array(["a", "b", "c"])
CATS50 = np.array([f"c{i:02d}" for i in range(50)])
ZIPF50 = (1.0 / np.arange(1, 51)) / (1.0 / np.arange(1, 51)).sum()


def _cat(names: np.ndarray, shares: np.ndarray, rng: np.random.Generator, n: int) -> list[str]:
    counts = rng.multinomial(n, shares)
    return [str(name) for name, c in zip(names, counts, strict=True) for _ in range(c)]


def _cat3(rng: np.random.Generator, n: int, shift: float) -> list[str]:
    # shift = change of the first category's share (taken evenly from the others)
    return _cat(CATS3, np.array([0.3 + shift, 0.4 - shift / 2, 0.3 - shift / 2]), rng, n)


def _cat50(rng: np.random.Generator, n: int, shift: float) -> list[str]:
    shares = ZIPF50 * (1 - shift)
    shares[0] += shift
    return _cat(CATS50, shares, rng, n)


KINDS: dict[str, Gen] = {
    "normal": lambda r, n, s: r.normal(s, 1.0, n),
    "lognormal": lambda r, n, s: r.lognormal(s, 1.0, n),
    "heavy-tailed t(2)": lambda r, n, s: r.standard_t(2, n) + s,
    "integer Poisson(3)": lambda r, n, s: r.poisson(3.0 + s * np.sqrt(3.0), n).astype(float),
    "integer age 18-90": lambda r, n, s: np.clip(np.round(r.normal(45 + 15 * s, 15, n)), 18, 90),
    "score Beta(2,5)": lambda r, n, s: np.clip(r.beta(2, 5, n) + 0.16 * s, 0, 1),
    "categorical 3": _cat3,
    "categorical 50 Zipf": _cat50,
}


def histogram(values: object) -> Histogram:
    if isinstance(values, list):
        c = CategoricalHistogram(100)
        c.update(values)
        return c
    h = NumericHistogram(0.01)
    h.update(values)  # type: ignore[arg-type]
    return h


@dataclass
class Stream:
    """One simulated stream: its generator and the shift at each bucket (a function of time)."""

    name: str
    gen: Gen
    shift: Callable[[float], float] = lambda hours: 0.0


@dataclass
class PolicyState:
    alerts: dict[str, AlertState] = field(default_factory=dict)
    frozen: dict[str, tuple[Histogram, list[Histogram]]] = field(default_factory=dict)
    opened: int = 0


@dataclass
class Run:
    """Per evaluation and stream: the status under both policies."""

    fixed: list[dict[str, str]] = field(default_factory=list)
    calibrated: list[dict[str, str]] = field(default_factory=list)
    fixed_alerts: int = 0
    calibrated_alerts: int = 0
    calibrated_open: list[dict[str, bool]] = field(default_factory=list)


def _sum(hists: Sequence[Histogram]) -> Histogram | None:
    if not hists:
        return None
    total = hists[0].copy()
    for h in hists[1:]:
        total += h  # type: ignore[operator]
    return total


def simulate(
    streams: Sequence[Stream],
    rate: float,
    hours: float,
    seed: int,
    accept_at: float | None = None,
    fdr: float = CALIBRATED.fdr,
) -> Run:
    """Warm up 25 h, then evaluate every bucket for ``hours`` (shift functions get hours since
    the evaluation period began); ``fdr``: the calibrated policy's false discovery rate."""
    policy = dataclasses.replace(CALIBRATED, fdr=fdr)
    rng = np.random.default_rng(seed)
    n_buckets = RECENT + BASELINE + round(hours / BUCKET_H)
    t0 = (RECENT + BASELINE) * BUCKET_H
    buckets: dict[str, list[Histogram]] = {s.name: [] for s in streams}
    for i in range(n_buckets):
        t = i * BUCKET_H - t0
        n = int(rng.poisson(rate * BUCKET_H))
        for s in streams:
            buckets[s.name].append(histogram(s.gen(rng, n, s.shift(t))))
    run = Run()
    state = PolicyState()
    old = PolicyState()
    rollups: dict[tuple[str, int], Histogram] = {}
    recent_sum: dict[str, Histogram] = {}
    base_sum: dict[str, Histogram] = {}
    for s in streams:  # running sums, as the worker's WindowSums
        recent_sum[s.name] = _sum(buckets[s.name][BASELINE : BASELINE + RECENT])  # type: ignore[assignment]
        base_sum[s.name] = _sum(buckets[s.name][:BASELINE])  # type: ignore[assignment]
    for end in range(RECENT + BASELINE, n_buckets + 1):
        hours_in = (end - RECENT - BASELINE) * BUCKET_H
        if accept_at is not None and abs(hours_in - accept_at) < 1e-9:
            state.frozen.clear()
        measured = []
        for s in streams:
            hs = buckets[s.name]
            lo = end - RECENT - BASELINE
            first = -(-lo // RECENT) * RECENT
            subs = []
            for start in range(first, end - 2 * RECENT + 1, RECENT):
                key = (s.name, start)
                if key not in rollups:
                    rollups[key] = _sum(hs[start : start + RECENT])  # type: ignore[assignment]
                subs.append(rollups[key])
            base, ref_subs = state.frozen.get(s.name, (base_sum[s.name], subs))
            fresh = {f"{5 * k}m": _sum(hs[end - k : end]) for k in FRESH}
            measured.append(
                measure_stream(s.name, recent_sum[s.name], base, policy, ref_subs, fresh)
            )
        # the fixed policy always judged against the rolling baseline
        fixed = decide(
            [
                measure_stream(m.stream, recent_sum[m.stream], base_sum[m.stream], FIXED)
                if m.stream in state.frozen
                else dataclasses.replace(m, rule="fixed", calibration=None)
                for m in measured
            ],
            FIXED,
        )
        calibrated = decide(measured, policy)
        run.fixed.append({e.stream: e.status for e in fixed})
        run.calibrated.append({e.stream: e.status for e in calibrated})
        for e in fixed:
            st, tr = step(old.alerts.get(e.stream, AlertState()), e.status, OLD_ALERTS)
            old.alerts[e.stream] = st
            run.fixed_alerts += tr == "open"
        for e in calibrated:
            st, tr = step(state.alerts.get(e.stream, AlertState()), e.status, NEW_ALERTS)
            state.alerts[e.stream] = st
            run.calibrated_alerts += tr == "open"
            if tr == "open" and e.stream not in state.frozen:
                lo = end - RECENT - BASELINE
                first = -(-lo // RECENT) * RECENT
                subs = [
                    rollups[(e.stream, st_)]
                    for st_ in range(first, end - 2 * RECENT + 1, RECENT)
                    if (e.stream, st_) in rollups
                ]
                state.frozen[e.stream] = (base_sum[e.stream].copy(), subs)
            elif tr == "resolve":
                state.frozen.pop(e.stream, None)
        run.calibrated_open.append({k: v.open for k, v in state.alerts.items()})
        if end == n_buckets:
            break
        for s in streams:  # slide by one bucket
            hs = buckets[s.name]
            recent_sum[s.name] += hs[end]  # type: ignore[operator,unused-ignore]
            recent_sum[s.name] -= hs[end - RECENT]  # type: ignore[operator,unused-ignore]
            base_sum[s.name] += hs[end - RECENT]  # type: ignore[operator,unused-ignore]
            base_sum[s.name] -= hs[end - RECENT - BASELINE]  # type: ignore[operator,unused-ignore]
        for key in [k for k in rollups if k[1] < end - RECENT - BASELINE]:
            del rollups[key]
    return run


def flagged_share(statuses: list[dict[str, str]], stream: str) -> tuple[float, int, int]:
    """Share of judged evaluations flagged, how many were judged, and in how many separate
    runs of consecutive flags (overlapping windows make neighbouring verdicts correlated)."""
    judged = [s[stream] for s in statuses if s.get(stream) in ("ok", "drift")]
    runs = sum(
        1 for i, x in enumerate(judged) if x == "drift" and (i == 0 or judged[i - 1] != "drift")
    )
    share = sum(x == "drift" for x in judged) / len(judged) if judged else float("nan")
    return share, len(judged), runs


def first_flag(statuses: list[dict[str, str]], stream: str, after: int = 0) -> int | None:
    """Evaluations after the change until the first flag: evaluation ``after + k`` is the first
    whose recent window holds ``k`` changed buckets."""
    for i, s in enumerate(statuses):
        if i > after and s.get(stream) == "drift":
            return i - after
    return None


def _fmt_delay(values: list[int | None]) -> str:
    got = [v for v in values if v is not None]
    missed = len(values) - len(got)
    if not got:
        return f"never ({len(values)} runs)"
    return f"median {int(np.median(got))}, max {max(got)}" + (
        f", missed {missed}" if missed else ""
    )


def null_cell(
    kind: str, amplitude: float, rate: float, hours: float, seed: int, fdr: float = CALIBRATED.fdr
) -> tuple:
    """One stream with no drift (a daily cycle of ``amplitude`` at most): flagged shares under
    both policies, evaluations judged, separate runs of calibrated flags."""
    cycle = Stream("s", KINDS[kind], lambda h: amplitude * np.sin(2 * np.pi * h / 24))
    run = simulate([cycle], rate, hours, seed, fdr=fdr)
    old, n, old_runs = flagged_share(run.fixed, "s")
    new, _, new_runs = flagged_share(run.calibrated, "s")
    return old, new, n, old_runs, new_runs


def _table(
    title: str,
    rows: dict[str, tuple[str, float]],
    rates: Sequence[float],
    hours: float,
    seeds: int,
    seed: int,
    pool: Executor,
) -> None:
    print(
        f"\n## {title}: share of evaluations flagged per stream, fixed -> calibrated "
        "(evaluations judged; separate runs of calibrated flags)"
    )
    print(f"{'stream':28}" + "".join(f"{int(r):>29,}/h" for r in rates))
    jobs = {
        (name, rate, k): pool.submit(null_cell, kind, amp, rate, hours, seed + k)
        for name, (kind, amp) in rows.items()
        for rate in rates
        for k in range(seeds)
    }
    for name in rows:
        line = f"{name:28}"
        for rate in rates:
            got = [jobs[(name, rate, k)].result() for k in range(seeds)]
            old = float(np.nanmean([g[0] for g in got]))
            new = float(np.nanmean([g[1] for g in got]))
            n, runs = sum(g[2] for g in got), sum(g[4] for g in got)
            line += f"  {old:7.1%} -> {new:5.2%} (n={n}, {runs} runs)"
        print(line, flush=True)


def bench_null(rates: Sequence[float], days: float, seeds: int, seed: int, pool: Executor) -> None:
    rows = {name: (name, 0.0) for name in KINDS}
    _table("No drift", rows, rates, days * 24, seeds, seed, pool)


def bench_cycles(
    rates: Sequence[float], days: float, seeds: int, seed: int, pool: Executor
) -> None:
    rows = {
        "normal, mean +-0.2 sd": ("normal", 0.2),
        "normal, mean +-0.1 sd": ("normal", 0.1),
        "categorical 3, +-5 points": ("categorical 3", 0.05),
    }
    _table("Daily cycle, no drift", rows, rates, days * 24, seeds, seed, pool)


def alert_cell(weeks: float, seed: int) -> tuple[int, int, int]:
    """A 20-stream model (the kinds above in turn) at 250 events/h with no drift: alerts opened
    under both policies, evaluations."""
    kinds = list(KINDS.items())
    streams = [
        Stream(f"s{i:02d} {kinds[i % len(kinds)][0]}", kinds[i % len(kinds)][1]) for i in range(20)
    ]
    run = simulate(streams, 250, weeks * 7 * 24, seed)
    return run.fixed_alerts, run.calibrated_alerts, len(run.calibrated)


def bench_alerts(weeks: float, runs: int, seed: int, pool: Executor) -> None:
    print("\n## False alerts of a 20-stream model at 250 events/h (hysteresis included)")
    got = [f.result() for f in [pool.submit(alert_cell, weeks, seed + k) for k in range(runs)]]
    total = weeks * runs
    fixed, calibrated = sum(g[0] for g in got), sum(g[1] for g in got)
    print(
        f"fixed policy: {fixed / total:.1f} alerts per model-week; calibrated: "
        f"{calibrated / total:.2f} per model-week ({calibrated} alerts in {total:g} model-weeks, "
        f"{sum(g[2] for g in got)} evaluations x 20 streams)"
    )


def _shift_model(target: Stream, seed: int) -> list[Stream]:
    calm = [
        Stream(f"calm{i}", KINDS[k])
        for i, k in enumerate(["normal", "score Beta(2,5)", "categorical 3", "lognormal"])
    ]
    return [target, *calm]


CHANGE_AT = 2.0  # hours into the evaluation period
# label, stream kind, size of the step, events/h, model of 1 stream, flag and alert targets
DELAY_CASES = [
    ("sudden 0.5 sd, 1,000/h", "normal", 0.5, 1000, False, 3, 6),
    ("sudden 0.5 sd, 10,000/h", "normal", 0.5, 10000, False, 3, 6),
    ("sudden 1 sd, 250/h", "normal", 1.0, 250, False, 6, None),
    ("category 30% -> 40%, 1,000/h", "categorical 3", 0.1, 1000, False, 6, None),
    ("  the same, a 1-stream model", "categorical 3", 0.1, 1000, True, 6, None),
    ("category 30% -> 40%, 10,000/h", "categorical 3", 0.1, 10000, False, 6, None),
    ("category 30% -> 40%, 100,000/h", "categorical 3", 0.1, 100000, False, 6, None),
]


def _step(size: float, at: float) -> Callable[[float], float]:
    return lambda h: size if h >= at - 1e-9 else 0.0


def _ramp(at: float) -> Callable[[float], float]:
    return lambda h: float(np.clip((h - at) / 6.0, 0, 1))


def delay_cell(
    kind: str,
    size: float,
    rate: float,
    alone: bool,
    gradual: bool,
    seed: int,
    fdr: float = CALIBRATED.fdr,
) -> tuple[int | None, int | None, int | None]:
    """Evaluations after the change until the first flag (fixed, calibrated) and until the
    calibrated alert opens."""
    shift = _ramp(CHANGE_AT) if gradual else _step(size, CHANGE_AT)
    target = Stream("x", KINDS[kind], shift)
    model = [target] if alone else _shift_model(target, seed)
    run = simulate(model, rate, CHANGE_AT + (7 if gradual else 4), seed, fdr=fdr)
    offset = round(CHANGE_AT / BUCKET_H)
    opened = next(
        (i - offset for i, o in enumerate(run.calibrated_open) if i > offset and o.get("x")),
        None,
    )
    return first_flag(run.fixed, "x", offset), first_flag(run.calibrated, "x", offset), opened


def _within(values: list[int | None], target: int | None) -> str:
    if target is None:
        return ""
    hits = sum(v is not None and v <= target for v in values)
    return f", {hits}/{len(values)} <= {target}"


def bench_delays(seeds: int, seed: int, pool: Executor) -> None:
    print(
        "\n## Detection delay after a change, in evaluations of 5 min after it "
        "(a model of 5 streams, 1 changing, unless said)"
    )
    jobs = {
        (label, k): pool.submit(delay_cell, kind, size, rate, alone, False, seed + k)
        for label, kind, size, rate, alone, _, _ in DELAY_CASES
        for k in range(seeds)
    }
    ramps = [
        pool.submit(delay_cell, "normal", 1.0, 1000, False, True, seed + k) for k in range(seeds)
    ]
    for label, *_, flag_target, alert_target in DELAY_CASES:
        got = [jobs[(label, k)].result() for k in range(seeds)]
        old, new, alert = ([g[i] for g in got] for i in range(3))
        print(
            f"{label:31} fixed: {_fmt_delay(old):22} calibrated: "
            f"{_fmt_delay(new) + _within(new, flag_target):32} alert open: "
            f"{_fmt_delay(alert) + _within(alert, alert_target)} ({seeds} runs)",
            flush=True,
        )
    got = [f.result() for f in ramps]
    old, new = [g[0] for g in got], [g[1] for g in got]
    print(
        f"{'gradual 1 sd over 6 h, 1,000/h':31} fixed: {_fmt_delay(old):22} calibrated: "
        f"{_fmt_delay(new) + _within(new, 35):32} (36 = 0.5 sd reached; {seeds} runs)"
    )


TRADEOFF_FDR = (0.001, 0.003, 0.01)


def bench_tradeoff(
    fdrs: Sequence[float], runs: int, null_seeds: int, seed: int, pool: Executor
) -> None:
    """The category target against the no-drift target, by the calibrated rule's FDR level:
    what it would take to flag 30% -> 40% at 1,000/h within 6 evaluations in a 5-stream model."""
    print(
        "\n## Trade-off by DRIFT_FDR: category 30% -> 40% at 1,000/h in a 5-stream model "
        f"({runs} runs) against no-drift flags at 1,000/h (every kind above, {null_seeds} x 24 h "
        "each)"
    )
    for fdr in fdrs:
        delays = [
            pool.submit(delay_cell, "categorical 3", 0.1, 1000, False, False, seed + k, fdr)
            for k in range(runs)
        ]
        nulls = {
            kind: [
                pool.submit(null_cell, kind, 0.0, 1000, 24.0, seed + k, fdr)
                for k in range(null_seeds)
            ]
            for kind in KINDS
        }
        new = [f.result()[1] for f in delays]
        shares = {k: float(np.mean([f.result()[1] for f in fs])) for k, fs in nulls.items()}
        worst = max(shares, key=lambda k: shares[k])
        n = sum(f.result()[2] for f in nulls[worst])
        print(
            f"fdr {fdr:<6g} category: {_fmt_delay(new) + _within(new, 6):32} no drift: worst "
            f"{shares[worst]:.2%} ({worst}, n={n}), mean over kinds "
            f"{np.mean(list(shares.values())):.2%}",
            flush=True,
        )


def bench_persisting(seed: int, hours: float) -> None:
    print(f"\n## A persisting 0.25 sd shift at 10,000/h, {hours:g} h later")
    at = 1.0
    stream = Stream("x", KINDS["normal"], lambda h: 0.25 if h >= at else 0.0)
    run = simulate([stream], 10000, at + hours, seed)
    tail = run.calibrated[-12:]
    old_tail = run.fixed[-12:]
    print(
        f"last hour flagged: fixed {sum(s['x'] == 'drift' for s in old_tail)}/12, calibrated "
        f"{sum(s['x'] == 'drift' for s in tail)}/12; calibrated alert open at the end: "
        f"{run.calibrated_open[-1].get('x', False)}"
    )
    accepted = simulate([stream], 10000, at + hours, seed, accept_at=at + 6)
    print(
        f"accepted as the new normal 6 h after the shift: alert open at the end: "
        f"{accepted.calibrated_open[-1].get('x', False)}; last hour flagged "
        f"{sum(s['x'] == 'drift' for s in accepted.calibrated[-12:])}/12"
    )


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--quick", action="store_true", help="small sizes (a smoke run, ~20 s)")
    args = p.parse_args(argv)
    started = time.perf_counter()
    if args.quick:
        rates, days, seeds, weeks, dseeds, persist = [250, 10000], 0.5, 1, 0.25, 2, 12.0
        trade = dict(fdrs=TRADEOFF_FDR[1:], runs=2, null_seeds=1)
    else:
        rates, days, seeds, weeks, persist = [250, 1000, 10000, 100000], 1.0, 4, 2.0, 48.0
        dseeds = 12
        trade = dict(fdrs=TRADEOFF_FDR, runs=24, null_seeds=2)
    print(f"# bench_detection (seed {args.seed}{', quick' if args.quick else ''})")
    with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
        bench_null(rates, days, seeds, args.seed, pool)
        bench_cycles(rates, days, seeds // 2 or 1, args.seed + 100, pool)
        bench_alerts(weeks, 2, args.seed + 200, pool)
        bench_delays(dseeds, args.seed, pool)
        bench_tradeoff(**trade, seed=args.seed, pool=pool)  # type: ignore[arg-type]
    bench_persisting(args.seed, persist)
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
