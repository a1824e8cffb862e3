// Model performance per window: realised (from labels) next to the label-free estimate, with
// the labelled share that says how complete each window is (GET /models/{id}/performance).
import { query, request } from "./api.js";
import { h, hhmm, num, pct, seconds, time, utc } from "./format.js";

const fin = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);

// The series a task is drawn with: classification accuracy (realised, estimated); regression MAE, RMSE.
function seriesOf(task) {
  if (task === "regression") {
    return [
      { key: "mae", label: "MAE", stroke: "#1f5fbf" },
      { key: "rmse", label: "RMSE", stroke: "#8e44ad" },
    ];
  }
  return [
    { key: "accuracy", label: "accuracy (realised)", stroke: "#1f5fbf" },
    { key: "estimated_accuracy", label: "accuracy (estimated, no labels)", stroke: "#e67e22", dash: [6, 4] },
  ];
}

function chart(items, view, width) {
  const task = items.at(-1).task;
  const times = items.map((w) => seconds(w.window_end));
  const lines = seriesOf(task);
  const data = [times, ...lines.map((s) => items.map((w) => fin(w[s.key]))), items.map((w) => fin(w.labelled_share))];
  const el = h("div", { class: "perf-chart", id: "performance-chart", dataset: { task, points: times.length } });
  const opts = {
    width,
    height: 200,
    tzDate: utc,
    scales: { x: { time: true, min: seconds(view.range.from), max: seconds(view.range.to) }, share: { range: [0, 1] } },
    series: [
      {},
      ...lines.map((s) => ({ label: s.label, stroke: s.stroke, dash: s.dash, width: 1.5, points: { show: times.length < 60 } })),
      { label: "labelled share", stroke: "#9aa3ad", width: 1, scale: "share", paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } },
    ],
    axes: [{ space: 70, values: hhmm }, { size: 56 }, { side: 1, scale: "share", size: 44, grid: { show: false }, values: (u, t) => t.map((v) => `${Math.round(v * 100)}%`) }],
  };
  el.append(h("div", {}));
  new uPlot(opts, data, el.lastChild);
  return el;
}

function latest(w) {
  const rows =
    w.task === "regression"
      ? [["MAE", num(w.mae)], ["RMSE", num(w.rmse)], ["bias", num(w.bias)]]
      : [["accuracy (realised)", pct(w.accuracy)], ["accuracy (estimated)", pct(w.estimated_accuracy)], ["log loss", num(w.log_loss)], ["calibration error (ECE)", num(w.ece)]];
  rows.push(["labelled", `${w.labelled} of ${w.inferences} (${pct(w.labelled_share)})`], ["labels too late", String(w.too_late)]);
  return h(
    "table",
    { id: "performance-latest", class: "compact" },
    h("caption", {}, `window ${time(w.window_start)} – ${time(w.window_end)}`),
    h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", { class: "num" }, v)))),
  );
}

// The card of the model page; says so when the model has no labelled windows in the range.
export async function performanceCard(view, modelId, width) {
  const { from, to } = view.range;
  const body = await request(query(`/models/${encodeURIComponent(modelId)}/performance`, { from, to, limit: 10000 }));
  const items = body.items;
  const card = h("section", { class: "card", id: "performance", dataset: { windows: items.length } }, h("h2", {}, "Performance"));
  if (!items.length) {
    card.append(h("p", { class: "muted" }, "No labelled windows in this range: send ground truth with log_label or POST /labels."));
    return card;
  }
  card.append(
    h("p", { class: "muted" }, "Per window of inference time; figures change while late labels arrive (grey: the labelled share, right axis)."),
    h("div", { class: "row" }, chart(items, view, width), latest(items.at(-1))),
  );
  return card;
}
