"""Null-calibrated drift tests from mergeable histograms.

A fixed effect-size limit ("JS distance > 0.1") ignores sampling noise: at a few hundred events
per window it is crossed by chance, at a hundred thousand it misses real changes. Here each
stream gets a p-value that accounts for both the sample sizes and the baseline's own variation.

Bins: :mod:`drift.bins`; tails and combinations of p-values: :mod:`drift.significance`.

Tests on the 2 x K table (recent against baseline), each vectorised over rows:

* omnibus: the likelihood-ratio G statistic of homogeneity, ``G ~ chi2(K - 1)`` (any change of
  shape);
* trend (numeric): the linear rank statistic with mid-rank scores (a Wilcoxon test on the bins),
  ``Z ~ N(0, 1)`` (a change of location, far more power than the omnibus test for it);
* share (categorical): the largest standardised change of one category's share, Bonferroni
  over the K categories (one category moving).

Calibration (:func:`calibrate`). Sub-windows of the baseline with the recent window's length
(each hour of a 24 h baseline) are compared with the rest of the baseline by the same tests. When
nothing drifts they differ by sampling noise only; a daily rhythm adds a between-hour component
that grows with the sample size. Each test statistic is modelled as sampling noise plus
``n_eff * tau^2`` (``n_eff = n a / (n + a)``), with ``tau^2`` estimated by moments pooled over the
sub-windows (DerSimonian-Laird style, ``tau^2 = max(0, sum(stat_h - E0) / sum(n_eff_h))``), and
transferred to the recent window's own ``n_eff`` — the documented size correction. The recent
statistic is then referred to the inflated null: ``G / (df * phi) ~ F(df, d2)`` with
``phi = 1 + n_eff tau^2 / df``, and ``Z / sqrt(1 + n_eff tau^2) ~ t(d2)``, where ``d2`` falls from
infinity (no between-hour variation: the known sampling variance) to ``H - 1`` (the variance is
then estimated from H sub-windows) — so a daily rhythm seen in the baseline is not drift, while a
change beyond it is. The stream's p-value is the Cauchy combination of its tests (the window's
and its fresh parts'), :func:`drift.significance.cauchy_combination`.

References: Agresti (2013), "Categorical Data Analysis", 3rd ed., §2.4 (G test), §3.4 (linear
trend with mid-ranks); McCullagh & Nelder (1989), §4.5 (over-dispersion, quasi-likelihood F);
DerSimonian & Laird (1986) (moment estimator of between-group variance); NannyML's reference-chunk
thresholds are the same idea with a fixed ``mean ± 3 sd``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import special

from drift.bins import ordered_groups, pool_columns, pooled
from drift.significance import (
    cauchy_combination,
    component_alpha,
    df2,
    df2_many,
    f_isf,
    t_isf2,
    t_sf2_many,
)
from drift.table_tests import table_tests

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class RowTests:
    """The calibrated tests of one window (the recent hour, or its newest part) against the
    baseline: p-values per test and what the omnibus test's null looks like."""

    p: Mapping[str, float]
    g: float
    df: float
    phi: float  # null inflation of G (1: sampling noise only)
    trend_inflation: float  # the same for the trend Z's variance
    n_eff: float
    tvd: float
    auc: float | None
    subwindows: int


@dataclass(frozen=True, slots=True)
class Null:
    """The between-sub-window variance of each test per unit of ``n_eff`` (0: sampling noise
    only), estimated from ``h`` sub-windows on one pooling of the bins."""

    h: int
    tau_g: float
    tau_z: float
    tau_share: FloatArray


@dataclass(frozen=True, slots=True)
class CalibrationRequest:
    """One stream's count rows on its bin plan, for :func:`calibrate_many` (see
    :func:`calibrate` for the fields)."""

    recent: FloatArray
    baseline: FloatArray
    subs: FloatArray
    ordered: bool
    fresh: Mapping[str, FloatArray] = field(default_factory=dict)
    min_expected: float = 5.0
    min_fresh: float = 30.0
    nulls: dict[bytes, Null] | None = None
    smallest_sub: float | None = None  # given: ``subs`` holds non-empty rows, the least this


@dataclass(slots=True)
class _Pooled:
    """A request after pooling: its rows (the recent window first, then the fresh parts), the
    baseline and the sub-windows on the pooled bins, and the null of that pooling (``None``
    until estimated; ``nulls``/``key``: where the caller keeps it)."""

    labels: list[str]
    rows: FloatArray
    baseline: FloatArray
    subs: FloatArray
    ordered: bool
    null: Null | None
    nulls: dict[bytes, Null] | None
    key: bytes


def _nulls(items: Sequence[_Pooled]) -> None:
    """Estimate the missing nulls of ``items`` (all of one kind) in one table: each sub-window
    against the rest of its baseline, the rows of all items padded to the widest."""
    todo = [it for it in items if it.null is None]
    for it in todo:
        if not len(it.subs):
            it.null = Null(0, 0.0, 0.0, np.zeros(it.baseline.shape[1]))
    todo = [it for it in todo if it.null is None]
    if not todo:
        return
    ordered = todo[0].ordered
    width = max(it.subs.shape[1] for it in todo)
    sizes = [len(it.subs) for it in todo]
    s, rest = np.zeros((sum(sizes), width)), np.zeros((sum(sizes), width))
    at = 0
    for it, h in zip(todo, sizes, strict=True):
        kk = it.subs.shape[1]
        s[at : at + h, :kk] = it.subs
        rest[at : at + h, :kk] = it.baseline - it.subs
        at += h
    tt = table_tests(s, rest, ordered)
    starts = np.cumsum([0, *sizes[:-1]])
    n_eff = np.add.reduceat(tt.n_eff, starts)
    g = np.add.reduceat(tt.g - tt.df, starts)
    z = np.add.reduceat(tt.z_trend**2 - 1.0, starts)
    share = np.add.reduceat(tt.z_share**2 - 1.0, starts, axis=0)
    for i, (it, h) in enumerate(zip(todo, sizes, strict=True)):
        k = it.subs.shape[1]
        total = float(n_eff[i])
        safe = total if total > 0 else 1.0
        tau_g = max(0.0, float(g[i]) / safe) if total > 0 else 0.0
        tau_z = max(0.0, float(z[i]) / safe) if ordered and total > 0 else 0.0
        with_share = not ordered and k > 2
        tau_share = np.maximum(0.0, share[i, :k] / safe) if with_share else np.zeros(k)
        it.null = Null(h, tau_g, tau_z, tau_share)
        if it.nulls is not None:
            it.nulls[it.key] = it.null


def _pool(req: CalibrationRequest) -> _Pooled:
    """The request on its pooled bins. Totals of counts are sums of integers (exact in any
    order), so they are taken in Python, cheaper than numpy on rows of ten."""
    if req.smallest_sub is not None:
        subs, smallest = req.subs, req.smallest_sub
    elif req.subs.size:
        sizes = req.subs.sum(1)
        subs, sizes = req.subs[sizes > 0], sizes[sizes > 0]
        smallest = float(sizes.min()) if len(subs) else math.inf
    else:
        subs, smallest = np.zeros((0, req.recent.size)), math.inf
    n_r = sum(req.recent.tolist())
    n_small = min(n_r, smallest) if len(subs) else n_r
    parts = {}
    for label, row in req.fresh.items():
        n = sum(row.tolist())
        if req.min_fresh <= n < n_r:
            parts[label] = row
            n_small = min(n_small, n)
    rows = np.array([req.recent, *parts.values()], np.float64)  # vstack, at a quarter the cost
    group, identity = _grouping(req.baseline, max(n_small, 1.0), req.ordered, req.min_expected)
    key = group.tobytes()
    null = req.nulls.get(key) if req.nulls is not None else None
    if identity:
        return _Pooled(
            list(parts), rows, req.baseline[None, :], subs, req.ordered, null, req.nulls, key
        )
    return _Pooled(
        list(parts),
        pooled(rows, group),
        pooled(req.baseline[None, :], group),
        pooled(subs, group) if null is None and len(subs) else subs,
        req.ordered,
        null,
        req.nulls,
        key,
    )


def _grouping(
    baseline: FloatArray, n_small: float, ordered: bool, min_expected: float
) -> tuple[IntArray, bool]:
    """:func:`pool_columns`, and whether it keeps every column (then nothing is summed)."""
    if not ordered:
        group = pool_columns(baseline, n_small, ordered, min_expected)
        return group, bool(group.size and np.all(group == np.arange(group.size)))
    counts = baseline.tolist()
    total = sum(counts)
    # the very products and quotients numpy's n_small * baseline / total computes
    expected = [n_small * c / total for c in counts] if total > 0 else [0.0] * len(counts)
    groups = ordered_groups(expected, min_expected)
    return np.array(groups, np.int64), groups[-1] == len(groups) - 1


def _rows_tests(items: Sequence[_Pooled]) -> list[list[RowTests]]:
    """The calibrated tests of each item's rows against its baseline, all items of one kind
    (ordered or not) in one table: rows padded with empty columns to the widest item (an empty
    column changes no test), so the cost is a few array operations per model, not per stream.
    The null is the item's own (estimated when its sub-windows or bins change, see
    ``Subwindows``)."""
    if not items:
        return []
    ordered = items[0].ordered
    width = max(it.rows.shape[1] for it in items)
    sizes = [it.rows.shape[0] for it in items]
    total = sum(sizes)
    a, b = np.zeros((total, width)), np.zeros((total, width))
    h, tau_g, tau_z = np.zeros(total), np.zeros(total), np.zeros(total)
    k = np.zeros(total, np.int64)
    tau_share = np.zeros((total, width))
    at = 0
    for it, t in zip(items, sizes, strict=True):
        kk, null = it.rows.shape[1], it.null
        assert null is not None  # estimated by _nulls
        a[at : at + t, :kk] = it.rows
        b[at : at + t, :kk] = it.baseline
        h[at : at + t], tau_g[at : at + t], tau_z[at : at + t] = null.h, null.tau_g, null.tau_z
        tau_share[at : at + t, : null.tau_share.size] = null.tau_share
        k[at : at + t] = kk
        at += t
    tt = table_tests(a, b, ordered)
    phi = 1.0 + tt.n_eff * tau_g / tt.df
    p_omnibus = special.fdtrc(tt.df, df2_many(h, phi), np.maximum(tt.g / (tt.df * phi), 0.0))
    v = np.ones(total)
    p_other: FloatArray | None = None
    if ordered:
        v = 1.0 + tt.n_eff * tau_z
        p_other = t_sf2_many(tt.z_trend / np.sqrt(v), df2_many(h, v))
    elif width > 2:  # with two columns the share test is the omnibus test
        v_col = 1.0 + tt.n_eff[:, None] * tau_share
        tails = t_sf2_many(tt.z_share / np.sqrt(v_col), df2_many(h[:, None], v_col))
        tails = np.where(np.arange(width)[None, :] < k[:, None], tails, 1.0)
        p_other = np.minimum(1.0, k * tails.min(1))
    name = "trend" if ordered else "share"
    # columns as Python floats once (the same values as float() of each element)
    omnibus, others = p_omnibus.tolist(), None if p_other is None else p_other.tolist()
    aucs = tt.auc.tolist() if ordered else None
    widths, hs = k.tolist(), h.tolist()
    fields = (tt.g, tt.df, phi, v, tt.n_eff, tt.tvd)
    rows = list(zip(*(f.tolist() for f in fields), strict=True))
    out: list[list[RowTests]] = []
    at = 0
    for t in sizes:
        tests = []
        for i in range(at, at + t):
            p = {"omnibus": omnibus[i]}
            if others is not None and (ordered or widths[i] > 2):
                p[name] = others[i]
            auc = aucs[i] if aucs is not None else None
            g_i, df_i, phi_i, v_i, n_i, tvd_i = rows[i]
            tests.append(RowTests(p, g_i, df_i, phi_i, v_i, n_i, tvd_i, auc, int(hs[i])))
        out.append(tests)
        at += t
    return out


@dataclass(frozen=True, slots=True)
class Calibrated:
    """The calibrated verdict inputs of one stream (before the model's FDR step)."""

    p_value: float  # Cauchy combination of the components
    test: str  # the component that gave it, e.g. "trend" or "share@30m"
    components: Mapping[str, float]
    window: RowTests  # the whole recent window
    fresh: Mapping[str, RowTests]  # its newest parts tested, by label
    effect: float  # total variation distance of the window whose test decided

    @property
    def null_center(self) -> float:
        """Mean of the recent window's G under the calibrated null: ``df * phi``."""
        return self.window.df * self.window.phi

    @property
    def null_spread(self) -> float:
        """Its standard deviation: ``sqrt(2 df) * phi``."""
        return float(np.sqrt(2.0 * self.window.df)) * self.window.phi

    def g_limit(self, cut: float) -> float:
        """The recent window's G at which the stream's p-value would reach ``cut``."""
        w = self.window
        alpha = component_alpha(cut, len(self.components))
        return w.df * w.phi * f_isf(alpha, w.df, df2(w.subwindows, w.phi))

    def z_limit(self, cut: float) -> float:
        """The same for the trend test's |Z| (its null variance included)."""
        alpha = component_alpha(cut, len(self.components))
        w = self.window
        return t_isf2(alpha, df2(w.subwindows, w.trend_inflation)) * float(
            np.sqrt(w.trend_inflation)
        )


def calibrate(
    recent: FloatArray,
    baseline: FloatArray,
    subs: FloatArray,
    ordered: bool,
    fresh: Mapping[str, FloatArray] | None = None,
    min_expected: float = 5.0,
    min_fresh: float = 30.0,
    nulls: dict[bytes, Null] | None = None,
) -> Calibrated:
    """Calibrated p-value of ``recent`` against ``baseline`` (count rows on one bin plan), with
    the null learnt from ``subs`` (one row per sub-window of the baseline; may be empty).

    ``fresh`` maps a label (e.g. ``"15m"``) to a newest part of the recent window, tested too
    when it holds at least ``min_fresh`` values: a sudden change fills it long before it fills
    the hour. Its null comes from the same sub-windows through the size correction; all rows
    share one pooling (set by the smallest sample) and one table. ``nulls``: a cache of the
    null estimates the caller keeps with these sub-windows and bins (see ``Subwindows``).
    One stream of :func:`calibrate_many`."""
    request = CalibrationRequest(
        recent, baseline, subs, ordered, fresh or {}, min_expected, min_fresh, nulls
    )
    return calibrate_many([request])[0]


def calibrate_many(requests: Sequence[CalibrationRequest]) -> list[Calibrated]:
    """:func:`calibrate` of every stream of a model at once: each stream is pooled on its own,
    then all streams of a kind share one table, so the tests cost a few array operations per
    model instead of per stream (results identical to calibrating each alone)."""
    items = [_pool(req) for req in requests]
    tests: list[list[RowTests] | None] = [None] * len(items)
    for ordered in (True, False):
        chosen = [i for i, it in enumerate(items) if it.ordered == ordered]
        _nulls([items[i] for i in chosen])
        for i, found in zip(chosen, _rows_tests([items[i] for i in chosen]), strict=True):
            tests[i] = found
    out = []
    for it, rows in zip(items, tests, strict=True):
        assert rows is not None
        window, *young = rows
        components = dict(window.p)
        tvd = {"": window.tvd}
        for label, part in zip(it.labels, young, strict=True):
            components.update({f"{name}@{label}": p for name, p in part.p.items()})
            tvd[label] = part.tvd
        test = min(components, key=lambda name: components[name])
        out.append(
            Calibrated(
                cauchy_combination(list(components.values())),
                test,
                components,
                window,
                dict(zip(it.labels, young, strict=True)),
                tvd[test.partition("@")[2]],
            )
        )
    return out
