"""Null-calibrated drift tests from mergeable histograms.

A fixed effect-size limit ("JS distance > 0.1") ignores sampling noise: at a few hundred events
per window it is crossed by chance, at a hundred thousand it misses real changes. Here each
stream gets a p-value that accounts for both the sample sizes and the baseline's own variation.

Bins. The baseline fixes the bins (:class:`BinPlan`): for a numeric stream its quantiles, or one
bin per distinct value when it holds few (integers, ties); for a categorical stream one bin per
category. Bins are then pooled (:func:`pool_columns`) until each has an expected count of at
least ``min_expected`` in the smaller sample: adjacent bins for numbers, rare categories into one
bin for categories (values never seen in the baseline land there too). Every edge is a bucket
boundary, so any histogram maps onto the bins exactly.

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
change beyond it is. The stream's p-value is the Bonferroni minimum over its tests.

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
from scipy import special, stats

from drift.binning import quantile_cuts
from drift.categorical import MISSING, OTHER, CategoricalHistogram
from drift.histogram import Histogram, NumericHistogram

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
_BIG_DF = 1e6


@dataclass(frozen=True, slots=True)
class BinPlan:
    """How any histogram of one stream maps onto the baseline's bins.

    Numeric: bin ``j`` holds bucket keys ``<= cuts[j]`` (and ``> cuts[j-1]``); the last bin holds
    the rest. Categorical: one bin per name in ``names``; any other category (a new one) maps to
    the last bin, ``OTHER``. ``per_value`` says the numeric bins are the baseline's distinct values.
    """

    kind: str
    cuts: IntArray | None = None
    names: tuple[str, ...] = ()
    per_value: bool = False
    cut_index: NDArray[np.intp] | None = None  # quantile bins: the baseline buckets closing them

    @property
    def size(self) -> int:
        return len(self.names) if self.kind == "categorical" else int(self.cuts.size) + 1  # type: ignore[union-attr]


def plan_for(
    baseline: Histogram,
    n_bins: int,
    per_value_max: int,
    quantiles: NDArray[np.intp] | None = None,
) -> BinPlan:
    """Bins of a non-empty baseline: quantiles, one per value when few, one per category
    (``quantiles``: the numeric baseline's ``quantile_cuts``, when already known)."""
    if isinstance(baseline, NumericHistogram):
        keys, counts = baseline.buckets()
        if keys.size == 0:
            raise ValueError("cannot plan bins on an empty baseline")
        if keys.size <= per_value_max:
            return BinPlan("numeric", keys[:-1].copy(), per_value=True)
        index = quantile_cuts(keys, counts, n_bins) if quantiles is None else quantiles
        return BinPlan("numeric", keys[index].copy(), cut_index=index)
    if not isinstance(baseline, CategoricalHistogram):
        raise TypeError("vector moments have no bins: their projections are binned")
    held = baseline.counts()
    names = sorted((n for n in held if n != OTHER), key=lambda n: (-held[n], n))
    if baseline.missing:
        names.append(MISSING)
    return BinPlan("categorical", names=(*names, OTHER))


def counts_on(plan: BinPlan, hists: Sequence[Histogram]) -> FloatArray:
    """A (len(hists), plan.size) matrix of counts; numeric missing values are left out."""
    out = np.zeros((len(hists), plan.size))
    if plan.kind == "numeric":
        assert plan.cuts is not None
        parts = [h.raw_buckets() for h in hists if isinstance(h, NumericHistogram)]
        if len(parts) != len(hists):
            raise TypeError("a numeric bin plan needs numeric histograms")
        if not parts:
            return out
        sizes = [k.size for k, _ in parts]
        keys = np.concatenate([k for k, _ in parts])
        counts = np.concatenate([c for _, c in parts]).astype(np.float64)
        rows = np.repeat(np.arange(len(parts)), sizes)
        cols = np.searchsorted(plan.cuts, keys, side="left")
        flat = np.bincount(rows * plan.size + cols, weights=counts, minlength=out.size)
        return flat.reshape(out.shape).astype(np.float64)
    index = {name: j for j, name in enumerate(plan.names)}
    other = len(plan.names) - 1
    for i, h in enumerate(hists):
        if not isinstance(h, CategoricalHistogram):
            raise TypeError("a categorical bin plan needs categorical histograms")
        for name, n in h.counts().items():
            out[i, index.get(name, other)] += n
        if h.missing:
            out[i, index.get(MISSING, other)] += h.missing
    return out


class Subwindows:
    """The baseline sub-windows of one stream, prepared once for the many evaluations that use
    them (each roll-up serves about 24 x 12 evaluations): their buckets concatenated (numeric)
    and the last matrix made for a bin plan, reused while the plan's bins stay the same."""

    __slots__ = ("_flat", "_last", "_nonempty", "hists", "nulls", "quality")

    def __init__(self, hists: Sequence[Histogram]) -> None:
        self.hists = list(hists)
        self._flat: tuple[IntArray, FloatArray, IntArray] | None = None
        self._last: tuple[tuple[object, ...], FloatArray] | None = None
        self._nonempty: tuple[FloatArray, FloatArray, float] | None = None
        self.nulls: dict[bytes, Null] = {}  # null estimates for the last plan, per pooling
        self.quality: dict[str, float] = {}  # data-quality null rates (drift.quality)

    def __len__(self) -> int:
        return len(self.hists)

    def counts(self, plan: BinPlan) -> FloatArray:
        """``counts_on(plan, self.hists)``, cached for the last plan."""
        key = (plan.kind, plan.names, None if plan.cuts is None else plan.cuts.tobytes())
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        if plan.kind == "numeric" and self.hists:
            matrix = self._numeric(plan)
        else:
            matrix = counts_on(plan, self.hists)
        self._last = (key, matrix)
        self.nulls = {}
        return matrix

    def nonempty(self, plan: BinPlan) -> tuple[FloatArray, float]:
        """The rows of ``counts(plan)`` that hold values, and the smallest of their totals
        (infinite when none): what :func:`calibrate_many` keeps of them, kept with them."""
        matrix = self.counts(plan)
        if self._nonempty is None or self._nonempty[0] is not matrix:
            sizes = matrix.sum(1)
            rows = matrix[sizes > 0]
            smallest = float(sizes[sizes > 0].min()) if len(rows) else math.inf
            self._nonempty = (matrix, rows, smallest)
        return self._nonempty[1], self._nonempty[2]

    def _numeric(self, plan: BinPlan) -> FloatArray:
        assert plan.cuts is not None
        if self._flat is None:
            parts = [h.raw_buckets() for h in self.hists if isinstance(h, NumericHistogram)]
            if len(parts) != len(self.hists):
                raise TypeError("a numeric bin plan needs numeric histograms")
            keys = np.concatenate([k for k, _ in parts])
            counts = np.concatenate([c for _, c in parts]).astype(np.float64)
            rows = np.repeat(np.arange(len(parts)), [k.size for k, _ in parts])
            self._flat = (keys, counts, rows)
        keys, counts, rows = self._flat
        cols = np.searchsorted(plan.cuts, keys, side="left")
        flat = np.bincount(rows * plan.size + cols, weights=counts, minlength=len(self) * plan.size)
        return flat.reshape(len(self), plan.size).astype(np.float64)


def pool_columns(
    baseline: FloatArray, n_small: float, ordered: bool, min_expected: float
) -> IntArray:
    """Group index per column so that every group expects ``>= min_expected`` of ``n_small``.

    Ordered (numeric) bins merge with their neighbours, left to right, the last short group into
    the one before. Unordered (categorical) bins: columns expecting too little (and the last,
    ``OTHER``, column) form one group, merged into the smallest kept column if still short."""
    k = baseline.size
    total = baseline.sum()
    expected = n_small * baseline / total if total > 0 else np.zeros(k)
    if ordered:
        return np.array(_ordered_groups(expected.tolist(), min_expected), np.int64)
    group = np.zeros(k, np.int64)
    keep = [j for j in range(k - 1) if expected[j] >= min_expected]
    pooled = k if not keep else len(keep)
    for rank, j in enumerate(keep):
        group[j] = rank
    kept = set(keep)
    rare = np.array([j for j in range(k) if j not in kept], np.int64)
    group[rare] = pooled if keep else 0
    if keep and expected[rare].sum() < min_expected:
        smallest = min(keep, key=lambda j: expected[j])
        group[rare] = group[smallest]
    _, dense = np.unique(group, return_inverse=True)
    return dense.astype(np.int64)


def _ordered_groups(expected: list[float], min_expected: float) -> list[int]:
    """The ordered branch of :func:`pool_columns` on Python floats: the same sums, without
    numpy's per-element cost."""
    k = len(expected)
    groups, g, acc = [], 0, 0.0
    for j, e in enumerate(expected):
        groups.append(g)
        acc += e
        if acc >= min_expected and j < k - 1:
            g, acc = g + 1, 0.0
    if acc < min_expected and g > 0:
        groups = [g - 1 if x == g else x for x in groups]
    return groups


def pooled(matrix: FloatArray, group: IntArray) -> FloatArray:
    """Columns of ``matrix`` summed per group."""
    if group.size and np.all(group == np.arange(group.size)):
        return matrix
    k = int(group.max()) + 1
    idx = (np.arange(matrix.shape[0])[:, None] * k + group[None, :]).ravel()
    sums = np.bincount(idx, weights=matrix.ravel(), minlength=matrix.shape[0] * k)
    return sums.reshape(matrix.shape[0], k).astype(np.float64)


# distribution tails straight from scipy.special (scipy.stats' argument checking costs ~50 us a
# call, more than the tests themselves)
def _f_sf(x: float, d1: float, d2: float) -> float:
    return float(special.fdtrc(d1, d2, max(x, 0.0)))


def _f_isf(alpha: float, d1: float, d2: float) -> float:
    return (
        float(special.fdtri(d1, d2, 1.0 - alpha))
        if alpha > 1e-12
        else float(stats.f.isf(alpha, d1, d2))
    )


def _t_sf2(z: float, df: float) -> float:
    """Two-sided tail of Student's t (``df`` >= 1e6: the normal)."""
    z = abs(float(z))
    if df >= _BIG_DF:
        return math.erfc(z / math.sqrt(2.0))
    return float(2.0 * special.stdtr(df, -z))


def _t_sf2_many(z: FloatArray, df: FloatArray) -> FloatArray:
    z = np.abs(z)
    normal = special.erfc(z / np.sqrt(2.0))
    return np.where(df >= _BIG_DF, normal, 2.0 * special.stdtr(np.minimum(df, _BIG_DF), -z))


def _t_isf2(alpha: float, df: float) -> float:
    """|t| whose two-sided tail is ``alpha``."""
    if df >= _BIG_DF:
        return (
            float(special.ndtri(1.0 - alpha / 2.0))
            if alpha > 1e-12
            else float(stats.norm.isf(alpha / 2.0))
        )
    return float(-special.stdtrit(df, alpha / 2.0))


@dataclass(frozen=True, slots=True)
class TableTests:
    """Per row of a pair of (rows, K) count tables: the test statistics and effect sizes."""

    g: FloatArray
    df: FloatArray
    z_trend: FloatArray
    z_share: FloatArray  # (rows, K): standardised change of each column's share
    n_eff: FloatArray
    tvd: FloatArray  # total variation distance of the two rows' shares
    auc: FloatArray  # P(a > b) + P(a = b) / 2 from the bins (0.5: no location change)


def table_tests(a: FloatArray, b: FloatArray, ordered: bool = True) -> TableTests:
    """G test, and the trend test (``ordered``) or the share changes (not ``ordered``), of row
    ``a[i]`` against row ``b[i]``; the other one is left as zeros."""
    na, nb = a.sum(1), b.sum(1)
    n = na + nb
    col = a + b
    safe_n = np.where(n > 0, n, 1.0)
    share = col / safe_n[:, None]
    # G = 2 sum O ln(O / E), E = row total x column share, by the identity
    # sum a ln a + sum b ln b - sum col ln col - na ln na - nb ln nb + n ln n (0 ln 0 = 0)
    xl = special.xlogy
    g = 2.0 * ((xl(a, a) + xl(b, b) - xl(col, col)).sum(1) - xl(na, na) - xl(nb, nb) + xl(n, n))
    g = np.maximum(g, 0.0)  # rounding
    df = np.maximum((col > 0).sum(1) - 1, 1).astype(np.float64)
    safe_na, safe_nb = np.where(na > 0, na, 1.0), np.where(nb > 0, nb, 1.0)
    pa, pb = a / safe_na[:, None], b / safe_nb[:, None]
    n_eff = na * nb / safe_n
    tvd = 0.5 * np.abs(pa - pb).sum(1)
    zeros = np.zeros(len(a))
    if ordered:  # mid-rank scores of the pooled row (Wilcoxon on the bins)
        score = np.cumsum(col, 1) - col + (col + 1.0) / 2.0
        mean_score = (score * col).sum(1) / safe_n
        sa = (score * a).sum(1)
        t = sa - na * mean_score
        spread = (col * (score - mean_score[:, None]) ** 2).sum(1)
        var = na * nb / np.maximum(n * (n - 1.0), 1.0) * spread
        z_trend = np.where(var > 0, t / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)
        auc = (sa / safe_na - (na + 1.0) / 2.0) / safe_nb
        return TableTests(g, df, z_trend, np.zeros_like(a), n_eff, tvd, auc)
    se = np.sqrt(share * (1.0 - share) * (1.0 / safe_na + 1.0 / safe_nb)[:, None])
    z_share = np.where(se > 0, (pa - pb) / np.where(se > 0, se, 1.0), 0.0)
    return TableTests(g, df, zeros, z_share, n_eff, tvd, zeros + 0.5)


def _df2(h: int, inflation: float) -> float:
    """Degrees of freedom of an estimated null variance: infinite with no between-sub-window
    component, ``h - 1`` when it dominates (Satterthwaite-style)."""
    if inflation <= 1.0 + 1e-12 or h < 2:
        return _BIG_DF
    return float(min(_BIG_DF, (h - 1) * (inflation / (inflation - 1.0)) ** 2))


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


def _df2_many(h: FloatArray, inflation: FloatArray) -> FloatArray:
    """:func:`_df2` elementwise."""
    excess = np.maximum(inflation - 1.0, 1e-300)
    with np.errstate(over="ignore", invalid="ignore"):  # no excess: infinite, capped below
        d2 = np.minimum(_BIG_DF, (h - 1.0) * (inflation / excess) ** 2)
    return np.where((inflation <= 1.0 + 1e-12) | (h < 2), _BIG_DF, d2)


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
    groups = _ordered_groups(expected, min_expected)
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
    p_omnibus = special.fdtrc(tt.df, _df2_many(h, phi), np.maximum(tt.g / (tt.df * phi), 0.0))
    v = np.ones(total)
    p_other: FloatArray | None = None
    if ordered:
        v = 1.0 + tt.n_eff * tau_z
        p_other = _t_sf2_many(tt.z_trend / np.sqrt(v), _df2_many(h, v))
    elif width > 2:  # with two columns the share test is the omnibus test
        v_col = 1.0 + tt.n_eff[:, None] * tau_share
        tails = _t_sf2_many(tt.z_share / np.sqrt(v_col), _df2_many(h[:, None], v_col))
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
        alpha = _component_alpha(cut, len(self.components))
        return w.df * w.phi * _f_isf(alpha, w.df, _df2(w.subwindows, w.phi))

    def z_limit(self, cut: float) -> float:
        """The same for the trend test's |Z| (its null variance included)."""
        alpha = _component_alpha(cut, len(self.components))
        w = self.window
        return _t_isf2(alpha, _df2(w.subwindows, w.trend_inflation)) * float(
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


def cauchy_combination(p_values: Sequence[float]) -> float:
    """Equal-weight Cauchy combination of dependent p-values (Liu & Xie 2020, ACAT):
    ``T = mean tan((0.5 - p_i) pi)``, ``p = 1/2 - arctan(T) / pi``. Valid under arbitrary
    dependence in the tail that matters; when one test alone is small it costs about a factor
    of the number of tests (like Bonferroni), when correlated tests agree far less."""
    terms = []
    for p in p_values:
        p = min(max(float(p), 1e-300), 1.0 - 1e-16)
        # tan overflows near 0: use its asymptote 1 / (pi p)
        terms.append(1.0 / (math.pi * p) if p < 1e-15 else math.tan((0.5 - p) * math.pi))
    t = sum(terms) / len(terms)
    if t > 1e15:
        return min(1.0, 1.0 / (t * math.pi))
    return min(1.0, max(0.0, 0.5 - math.atan(t) / math.pi))


def _component_alpha(cut: float, k: int) -> float:
    """The p-value one component alone must reach for the combination to reach ``cut``."""
    return min(1.0, cut / k)


def benjamini_hochberg(p_values: Sequence[float], q: float) -> tuple[FloatArray, float]:
    """BH-adjusted p-values (q-values) and the p-value cut-off that controls the FDR at ``q``
    (the largest ``p_(k) <= k q / m``; ``q / m`` when nothing is rejected: the cut the smallest
    p-value would have to make)."""
    p = np.asarray(p_values, np.float64)
    m = p.size
    if m == 0:
        return p, q
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    passing = np.flatnonzero(p[order] <= q * np.arange(1, m + 1) / m)
    cut = float(q * (passing[-1] + 1) / m) if passing.size else q / m
    return out, cut
