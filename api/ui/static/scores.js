// How far a result is from its limit: score ÷ limit (calibrated results) or, for results without
// those fields, the fixed thresholds of GET /models/{id} over the worker's defaults, direction-aware.
export const METRICS = [
  "kl_divergence", "cosine_similarity", "psi", "js_distance",
  "hellinger", "wasserstein", "ks_statistic", "chi2_pvalue",
];
export const LABELS = {
  kl_divergence: "KL divergence", cosine_similarity: "cosine similarity", psi: "PSI",
  js_distance: "JS distance", hellinger: "Hellinger", wasserstein: "Wasserstein (normed)",
  ks_statistic: "KS statistic", chi2_pvalue: "χ² p-value",
};

export const SHORT = {
  kl_divergence: "KL", cosine_similarity: "cos", psi: "PSI", js_distance: "JS",
  hellinger: "Hell", wasserstein: "W", ks_statistic: "KS", chi2_pvalue: "χ²",
};

const isNum = (v) => typeof v === "number" && Number.isFinite(v);

export function metricValue(run, metric) {
  const v = run.metrics && metric in run.metrics ? run.metrics[metric] : run[metric];
  return isNum(v) ? v : null;
}

// The fixed limit: worker default, then the model's "*" override, then the stream's.
export function fixedLimit(config, thresholds, stream, metric) {
  let limit = config.thresholds[metric] ?? null;
  for (const key of ["*", stream]) {
    const over = thresholds && thresholds[key];
    if (over && metric in over) limit = over[metric];
  }
  return isNum(limit) ? limit : null;
}

// The limit the run was judged against: limits[metric] when the result carries it, else fixed.
export function limitOf(run, config, thresholds, metric) {
  if (run.limits && typeof run.limits === "object" && metric in run.limits) {
    return isNum(run.limits[metric]) ? run.limits[metric] : null;
  }
  return fixedLimit(config, thresholds, run.stream, metric);
}

// value ÷ limit on the drifting side (> 1 beyond the limit); below-limits count the distance to 1.
export function metricRatio(value, limit, direction) {
  if (!isNum(value) || !isNum(limit)) return null;
  if (direction === "below") return limit < 1 ? (1 - value) / (1 - limit) : null;
  return limit > 0 ? value / limit : null;
}

// null while the status is insufficient_data (drawn grey).
export function ratio(run, config, thresholds) {
  if (run.status === "insufficient_data") return null;
  if (isNum(run.score) && isNum(run.limit) && run.limit > 0) return run.score / run.limit;
  let worst = null;
  for (const m of METRICS) {
    const r = metricRatio(metricValue(run, m), limitOf(run, config, thresholds, m), config.directions[m]);
    if (r !== null && (worst === null || r > worst)) worst = r;
  }
  return worst;
}

// Colour of a ratio: green → yellow up to the limit, orange → dark red beyond; grey without one.
export function colour(r) {
  if (r === null) return "#c4c9cf";
  if (r <= 1) return `hsl(${Math.round(120 - 70 * r)}, 65%, ${Math.round(82 - 22 * r)}%)`;
  const over = Math.min(r - 1, 2) / 2;
  return `hsl(${Math.round(30 - 30 * over)}, 80%, ${Math.round(55 - 25 * over)}%)`;
}
