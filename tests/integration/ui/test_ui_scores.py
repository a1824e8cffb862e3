"""The dashboard's score ÷ limit (api/ui/static/scores.js), run in Chromium on crafted results:
calibrated fields win when present, the fixed thresholds (direction-aware) stand in otherwise."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

CONFIG = {
    "thresholds": {"kl_divergence": 0.1, "cosine_similarity": 0.9, "psi": 0.2, "chi2_pvalue": None},
    "directions": {
        "kl_divergence": "above",
        "cosine_similarity": "below",
        "psi": "above",
        "chi2_pvalue": "below",
    },
}
CASES = """
const s = await import('/ui/static/scores.js');
const cfg = arguments[0];
const over = {'*': {kl_divergence: 0.2}, 'input.a': {kl_divergence: 0.4}};
return {
  calibrated: s.ratio({status: 'ok', score: 3, limit: 2, kl_divergence: 0.9}, cfg, {}),
  limit_line: s.limitOf({stream: 'x', limits: {kl_divergence: 0.5}}, cfg, over, 'kl_divergence'),
  no_limit: s.limitOf({stream: 'x', limits: {psi: null}}, cfg, {}, 'psi'),
  limits_ratio: s.ratio({status: 'ok', limits: {kl_divergence: 0.5}, kl_divergence: 0.25}, cfg, {}),
  cosine: s.ratio({status: 'drift', stream: 'x', cosine_similarity: 0.8}, cfg, {}),
  stream_override: s.fixedLimit(cfg, over, 'input.a', 'kl_divergence'),
  star_override: s.fixedLimit(cfg, over, 'input.b', 'kl_divergence'),
  metrics_dict: s.metricValue({metrics: {kl_divergence: 0.3}, kl_divergence: 0.1}, 'kl_divergence'),
  insufficient: s.ratio({status: 'insufficient_data', score: 5, limit: 1}, cfg, {}),
  grey: s.colour(null),
};
"""


def test_score_over_limit_prefers_calibrated_fields(chrome, base_url):
    chrome.get(f"{base_url}/ui")
    got = chrome.execute_script(CASES, CONFIG)
    assert got["calibrated"] == 1.5
    assert got["limit_line"] == 0.5 and got["no_limit"] is None and got["limits_ratio"] == 0.5
    assert got["cosine"] == pytest.approx(2.0)  # (1 - 0.8) / (1 - 0.9): below its limit
    assert got["stream_override"] == 0.4 and got["star_override"] == 0.2
    assert got["metrics_dict"] == 0.3
    assert got["insufficient"] is None and got["grey"] == "#c4c9cf"
