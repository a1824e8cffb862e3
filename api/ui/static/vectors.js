// Vector streams (embedding.<name>, multivariate): no histogram, their metrics over time instead:
// cosine distance, sliced Wasserstein, the share of drifted projections and the score
// (−log10 p under the calibrated rule) against its limit, with drift windows shaded.
import { badge, h, hhmm, num, pct, seconds, time, utc } from "./format.js";

export const VECTOR_SERIES = [
  { key: "cosine_distance", label: "cosine distance (of the mean vectors)" },
  { key: "sliced_wasserstein", label: "sliced Wasserstein (normed)" },
  { key: "drifted_projections", label: "share of drifted projections" },
  { key: "score", label: "score (−log10 p) and its limit", limit: true },
];
const TABLE = [
  ["cosine_distance", "cosine distance"],
  ["sliced_wasserstein", "sliced Wasserstein"],
  ["drifted_projections", "drifted projections"],
  ["mean_shift", "mean shift"],
  ["correlation_shift", "correlation shift"],
];

const isNum = (v) => typeof v === "number" && Number.isFinite(v);
const value = (r, key) => (isNum(r[key]) ? r[key] : null);

export const isVector = (run) =>
  run.stream_kind === "vector" || run.stream === "multivariate" || run.stream.startsWith("embedding.");

// Shade [t - step, t] of every window whose verdict was drift (behind the series).
export function driftBands(times, drifted, step) {
  return (u) => {
    const { ctx, bbox } = u;
    ctx.save();
    ctx.fillStyle = "rgba(198, 40, 40, 0.13)";
    times.forEach((t, i) => {
      if (!drifted[i]) return;
      const x0 = u.valToPos(t - step, "x", true);
      const x1 = u.valToPos(t, "x", true);
      ctx.fillRect(x0, bbox.top, Math.max(1, x1 - x0), bbox.height);
    });
    ctx.restore();
  };
}

// One time series of runs (oldest first) with a dashed limit line when limits are given.
export function timeChart(runs, { key, label, values, limits }, view, width) {
  const times = runs.map((r) => seconds(r.window_end));
  const drifted = runs.map((r) => r.status === "drift");
  const gaps = times.slice(1).map((t, i) => t - times[i]).filter((d) => d > 0);
  const step = gaps.length ? Math.min(...gaps) : 300;
  const last = [...values].reverse().find((v) => v !== null);
  const el = h("div", {
    class: "chart",
    dataset: { metric: key, points: values.filter((v) => v !== null).length, last: last ?? "" },
  });
  el.append(h("h3", {}, label));
  const series = [{}, { label, stroke: "#1f5fbf", width: 1.5, points: { show: false } }];
  const data = [times, values];
  if (limits) {
    series.push({ label: "limit", stroke: "#c62828", dash: [6, 4], width: 1, points: { show: false }, paths: uPlot.paths.stepped({ align: 1 }) });
    data.push(limits);
  }
  const opts = {
    width,
    height: 160,
    tzDate: utc,
    scales: { x: { time: true, min: seconds(view.range.from), max: seconds(view.range.to) } },
    series,
    axes: [{ space: 70, values: hhmm }, { size: 56 }],
    hooks: { drawClear: [driftBands(times, drifted, step)] },
  };
  el.append(h("div", {}));
  new uPlot(opts, data, el.lastChild);
  return el;
}

// The four charts of a vector stream's runs (oldest first).
export function vectorCharts(runs, view, width) {
  return VECTOR_SERIES.map((s) =>
    timeChart(
      runs,
      {
        key: s.key,
        label: s.label,
        values: runs.map((r) => value(r, s.key)),
        limits: s.limit ? runs.map((r) => value(r, "limit")) : null,
      },
      view,
      width,
    ),
  );
}

export function vectorFacts(run) {
  const rows = [
    ["status", badge(run.status)],
    ["window", `${time(run.window_start)} – ${time(run.window_end)}`],
    ["samples", `recent ${run.recent_count} · baseline ${run.baseline_count}`],
    ["rule", run.rule || "fixed"],
  ];
  if (isNum(run.score) && isNum(run.limit)) rows.push(["score / limit", `${num(run.score)} / ${num(run.limit)}`]);
  if (isNum(run.p_value)) rows.push(["p-value", num(run.p_value, 4)]);
  if (isNum(run.limit) && run.rule === "calibrated") rows.push(["p-value limit", num(10 ** -run.limit, 4)]);
  if (isNum(run.effect)) rows.push(["effect", num(run.effect)]);
  return h("dl", { class: "facts" }, rows.map(([k, ...v]) => [h("dt", {}, k), h("dd", {}, ...v)]));
}

// One line of a vector stream's figures, for a table row whose columns are per-bin metrics.
export function vectorSummary(run) {
  const parts = [
    ["cosine distance", num(value(run, "cosine_distance"), 3)],
    ["sliced W", num(value(run, "sliced_wasserstein"), 3)],
    ["drifted projections", pct(value(run, "drifted_projections"))],
  ];
  return parts.map(([k, v]) => `${k} ${v}`).join(" · ");
}

export function vectorTable(run) {
  return h(
    "table",
    { id: "vector-metrics" },
    h("thead", {}, h("tr", {}, ["metric", "value"].map((c) => h("th", {}, c)))),
    h(
      "tbody",
      {},
      TABLE.map(([key, label]) =>
        h("tr", { dataset: { metric: key } }, h("td", {}, label), h("td", { class: "num" }, key === "drifted_projections" ? pct(value(run, key)) : num(value(run, key), 4))),
      ),
    ),
  );
}
