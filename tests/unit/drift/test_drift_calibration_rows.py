"""``_rows_tests`` (all streams of a kind in one padded table) against independent answers per
row: scipy.stats' G test of the 2 x K table, the Mann-Whitney test of the binned values, and
each documented null (F for G, t for the trend and share z) evaluated with scalar scipy.stats
on the row's own figures, on seeded requests of both kinds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from scipy import stats

from drift.calibration import (
    CalibrationRequest,
    Null,
    RowTests,
    _nulls,
    _pool,
    _Pooled,
    _rows_tests,
)
from drift.significance import BIG_DF, df2


def _requests(seed: int, ordered: bool) -> list[CalibrationRequest]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(int(rng.integers(1, 6))):
        k = int(rng.integers(2, 12))
        shares = rng.dirichlet(np.ones(k))
        baseline = rng.multinomial(20_000, shares).astype(np.float64)
        shifted = rng.dirichlet(shares * 200 + 0.1)
        recent = rng.multinomial(int(rng.integers(200, 3000)), shifted).astype(np.float64)
        # a daily rhythm in half of them (each sub-window's shares wobble by about 2 points),
        # so that the nulls' inflation and finite degrees of freedom are exercised too
        rhythm = rng.random() < 0.5
        hourly = [rng.dirichlet(shares * 500) if rhythm else shares for _ in range(12)]
        subs = np.array([rng.multinomial(1500, s) for s in hourly], np.float64)
        fresh = {"15m": rng.multinomial(300, shifted).astype(np.float64)}
        out.append(CalibrationRequest(recent, baseline, subs, ordered, fresh))
    return out


def _t_tail(z: float, v: float, h: int) -> float:
    """Two-sided tail of ``z / sqrt(v)`` under t with the null's degrees of freedom."""
    d2 = df2(h, v)
    x = abs(z) / np.sqrt(v)
    return float(2 * (stats.norm.sf(x) if d2 >= BIG_DF else stats.t.sf(x, d2)))


def _expected(row: np.ndarray, base: np.ndarray, null: Null, ordered: bool) -> dict:
    used = (row + base) > 0
    a, b = row[used], base[used]
    na, nb = a.sum(), b.sum()
    table = stats.chi2_contingency(np.vstack([a, b]), correction=False, lambda_="log-likelihood")
    g, df = float(table.statistic), float(max(used.sum() - 1, 1))
    n_eff = na * nb / (na + nb)
    phi = 1 + n_eff * null.tau_g / df
    out = {
        "g": g,
        "df": df,
        "n_eff": n_eff,
        "tvd": 0.5 * np.abs(row / na - base / nb).sum(),
        "phi": phi,
        "omnibus": float(stats.f.sf(g / (df * phi), df, df2(null.h, phi))),
    }
    if ordered:
        x, y = (
            np.repeat(np.arange(a.size), a.astype(int)),
            np.repeat(np.arange(b.size), b.astype(int)),
        )
        mw = stats.mannwhitneyu(x, y, use_continuity=False, method="asymptotic")
        v = 1 + n_eff * null.tau_z
        out |= {
            "auc": float(mw.statistic) / (na * nb),
            "trend": _t_tail(float(stats.norm.isf(mw.pvalue / 2)), v, null.h),
            "v": v,
        }
    elif row.size > 2:
        pooled = (row + base) / (na + nb)
        tails = []
        for j in range(row.size):
            se = np.sqrt(pooled[j] * (1 - pooled[j]) * (1 / na + 1 / nb))
            z = (row[j] / na - base[j] / nb) / se if se > 0 else 0.0
            tails.append(_t_tail(z, 1 + n_eff * null.tau_share[j], null.h))
        out["share"] = min(1.0, row.size * min(tails))
    return out


@pytest.mark.parametrize("ordered", [True, False])
@pytest.mark.parametrize("seed", range(12))
def test_row_tests_match_scipy(seed: int, ordered: bool) -> None:
    items: Sequence[_Pooled] = [_pool(r) for r in _requests(seed, ordered)]
    _nulls(items)
    got = _rows_tests(items)
    assert [len(rows) for rows in got] == [it.rows.shape[0] for it in items]
    for it, rows in zip(items, got, strict=True):
        assert it.null is not None
        for row, tests in zip(it.rows, rows, strict=True):
            want = _expected(row, it.baseline[0], it.null, ordered)
            assert isinstance(tests, RowTests) and type(tests.g) is float
            assert tests.subwindows == it.null.h
            # G by the sum-of-xlogy identity: cancellation leaves ~1e-9 absolute error near 0
            assert tests.g == pytest.approx(want["g"], rel=1e-9, abs=1e-8)
            for name in ("df", "n_eff", "tvd", "phi"):
                assert getattr(tests, name) == pytest.approx(want[name], rel=1e-9, abs=1e-12)
            assert tests.p["omnibus"] == pytest.approx(want["omnibus"], rel=1e-6, abs=1e-300)
            if ordered:
                assert tests.auc == pytest.approx(want["auc"], rel=1e-9)
                assert tests.trend_inflation == pytest.approx(want["v"], rel=1e-12)
                assert tests.p["trend"] == pytest.approx(want["trend"], rel=1e-6, abs=1e-300)
            elif row.size > 2:
                assert tests.p["share"] == pytest.approx(want["share"], rel=1e-6, abs=1e-300)
            else:
                assert set(tests.p) == {"omnibus"}


def test_some_nulls_are_inflated() -> None:
    """The seeded requests reach both branches of every null (no inflation and inflation), so
    the comparisons above cover the F and t tails with finite degrees of freedom."""
    taus = []
    for seed in range(12):
        for ordered in (True, False):
            items = [_pool(r) for r in _requests(seed, ordered)]
            _nulls(items)
            taus += [it.null.tau_g for it in items if it.null is not None]
    assert min(taus) == 0.0 and max(taus) > 0.0
