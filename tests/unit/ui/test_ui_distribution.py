"""The stream view's ranking of moved bins and the limits the dashboard falls back to."""

from __future__ import annotations

import pytest

from api.routes.ui import limits_config
from api.ui.distribution import distribution, moved_bins, shares
from drift.policy import Thresholds

pytestmark = pytest.mark.unit


def test_shares_normalise_counts_and_keep_zeros():
    assert shares([1, 3]) == [0.25, 0.75]
    assert shares([0, 0]) == [0.0, 0.0]


def test_moved_bins_largest_absolute_change_first():
    bins = {"labels": ["DE", "FR", "US"], "baseline": [0.5, 0.3, 0.2], "recent": [0.2, 0.3, 0.5]}
    moved = moved_bins(bins)
    assert [m["label"] for m in moved] == ["DE", "US", "FR"]  # a tie keeps the bins' order
    assert moved[0]["change"] == pytest.approx(-0.3) and moved[1]["change"] == pytest.approx(0.3)
    assert moved[2] == {"label": "FR", "baseline": 0.3, "recent": 0.3, "change": 0.0}


def test_moved_bins_accepts_counts_and_numeric_labels():
    moved = moved_bins({"labels": [0.5, 1.5], "baseline": [90, 10], "recent": [50, 50]})
    assert moved[0]["label"] == "0.5" and moved[0]["change"] == pytest.approx(-0.4)


@pytest.mark.parametrize(
    "bins",
    [None, {}, {"labels": ["a", "b"], "baseline": [1.0], "recent": [1.0, 2.0]}],
)
def test_moved_bins_of_missing_or_inconsistent_bins_is_empty(bins):
    assert moved_bins(bins) == []


def test_distribution_keeps_the_run_and_adds_the_moves():
    run = {"id": 1, "stream": "x", "bins": {"labels": ["a"], "baseline": [1], "recent": [1]}}
    body = distribution(run)
    assert body["id"] == 1 and body["bins"] == run["bins"]
    assert body["moved"] == [{"label": "a", "baseline": 1.0, "recent": 1.0, "change": 0.0}]
    assert distribution({"id": 2, "bins": None})["moved"] == []


def test_limits_config_is_the_workers_defaults_with_directions():
    config = limits_config()
    assert config["thresholds"]["kl_divergence"] == 0.1
    assert config["thresholds"]["chi2_pvalue"] is None
    assert config["directions"] == dict(Thresholds.DIRECTIONS)
    assert limits_config(Thresholds(psi=0.3))["thresholds"]["psi"] == 0.3
