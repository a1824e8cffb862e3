"""``_rows_tests`` against its former row builder (numpy scalars read one by one): equal
RowTests, field by field, on seeded requests of both kinds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from scipy import special

from drift.calibration import (
    CalibrationRequest,
    FloatArray,
    RowTests,
    _df2_many,
    _nulls,
    _pool,
    _Pooled,
    _rows_tests,
    _t_sf2_many,
    table_tests,
)


def _reference_rows_tests(items: Sequence[_Pooled]) -> list[list[RowTests]]:
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
    out: list[list[RowTests]] = []
    at = 0
    for t in sizes:
        tests = []
        for i in range(at, at + t):
            p = {"omnibus": float(p_omnibus[i])}
            if p_other is not None and (ordered or k[i] > 2):
                p[name] = float(p_other[i])
            auc = float(tt.auc[i]) if ordered else None
            tests.append(
                RowTests(
                    p,
                    float(tt.g[i]),
                    float(tt.df[i]),
                    float(phi[i]),
                    float(v[i]),
                    float(tt.n_eff[i]),
                    float(tt.tvd[i]),
                    auc,
                    int(h[i]),
                )
            )
        out.append(tests)
        at += t
    return out


def _requests(seed: int, ordered: bool) -> list[CalibrationRequest]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(int(rng.integers(1, 6))):
        k = int(rng.integers(2, 12))
        shares = rng.dirichlet(np.ones(k))
        baseline = rng.multinomial(20_000, shares).astype(np.float64)
        shifted = rng.dirichlet(shares * 200 + 0.1)
        recent = rng.multinomial(int(rng.integers(200, 3000)), shifted).astype(np.float64)
        subs = np.array([rng.multinomial(1500, shares) for _ in range(12)], np.float64)
        fresh = {"15m": rng.multinomial(300, shifted).astype(np.float64)}
        out.append(CalibrationRequest(recent, baseline, subs, ordered, fresh))
    return out


@pytest.mark.parametrize("ordered", [True, False])
@pytest.mark.parametrize("seed", range(12))
def test_row_tests_unchanged(seed: int, ordered: bool) -> None:
    items: Sequence[_Pooled] = [_pool(r) for r in _requests(seed, ordered)]
    _nulls(items)
    got, want = _rows_tests(items), _reference_rows_tests(items)
    assert got == want
    assert all(isinstance(t, RowTests) and type(t.g) is float for rows in got for t in rows)
