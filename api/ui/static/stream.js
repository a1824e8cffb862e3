// Stream view: recent vs baseline distribution, the bins that moved most, and baseline actions
// (a vector stream: its metrics over time instead, vectors.js).
import { history as runsOf, request } from "./api.js";
import { isVector, vectorCharts, vectorFacts, vectorTable } from "./vectors.js";
import { link } from "./state.js";
import { badge, h, num, pct, time } from "./format.js";
import { METRICS, LABELS, limitOf, metricValue, ratio } from "./scores.js";

const BY = "driftmon.by";
const SHOWN_MS = 60000;
let said = null; // the last action's outcome, shown again after the view redraws

function say(result, text, cls) {
  said = { text, cls, at: Date.now() };
  result.className = cls;
  result.textContent = text;
}

function bars(bins, width) {
  const labels = bins.labels.map(String);
  const total = (v) => v.reduce((a, b) => a + b, 0) || 1;
  const base = bins.baseline.map((v) => v / total(bins.baseline));
  const recent = bins.recent.map((v) => v / total(bins.recent));
  const x = labels.map((_, i) => i);
  const el = h("div", { id: "bars", dataset: { bins: labels.length } });
  const opts = {
    width,
    height: 260,
    legend: { show: false },
    scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: (u, min, max) => [0, max * 1.1 || 1] } },
    series: [
      { label: "bin", value: (u, i) => (i === null ? "—" : labels[i]) },
      { label: "baseline", fill: "rgba(120,130,140,0.55)", stroke: "#78828c", paths: uPlot.paths.bars({ size: [0.4, 80], align: -1 }), points: { show: false }, value: (u, v) => pct(v) },
      { label: "recent", fill: "rgba(31,95,191,0.75)", stroke: "#1f5fbf", paths: uPlot.paths.bars({ size: [0.4, 80], align: 1 }), points: { show: false }, value: (u, v) => pct(v) },
    ],
    axes: [
      {
        splits: () => x,
        values: (u, splits) => splits.map((i) => (labels[i] || "").slice(0, 18)),
        rotate: labels.some((l) => l.length > 8) ? -25 : 0,
        size: labels.some((l) => l.length > 8) ? 70 : 40,
        grid: { show: false },
      },
      { values: (u, splits) => splits.map((v) => `${Math.round(v * 100)}%`), size: 50 },
    ],
  };
  new uPlot(opts, [x, base, recent], el);
  el.append(
    h(
      "div",
      { class: "legend" },
      h("span", {}, h("i", { style: "background:rgba(120,130,140,0.55)" }), "baseline"),
      h("span", {}, h("i", { style: "background:rgba(31,95,191,0.75)" }), "recent"),
      h("span", {}, "shares of each window's samples"),
    ),
  );
  return el;
}

function movedTable(moved) {
  const biggest = Math.max(1e-9, ...moved.map((m) => Math.abs(m.change)));
  return h(
    "table",
    { id: "moved" },
    h("thead", {}, h("tr", {}, ["bin / category", "baseline", "recent", "change", ""].map((c, i) => h("th", { class: i && i < 4 ? "num" : null }, c)))),
    h(
      "tbody",
      {},
      moved.map((m) =>
        h(
          "tr",
          { dataset: { label: m.label } },
          h("td", {}, m.label),
          h("td", { class: "num" }, pct(m.baseline)),
          h("td", { class: "num" }, pct(m.recent)),
          h("td", { class: "num" }, `${m.change >= 0 ? "+" : "−"}${(100 * Math.abs(m.change)).toFixed(1)} pp`),
          h("td", {}, h("span", { class: `bar ${m.change < 0 ? "down" : ""}`, style: `width:${Math.round((80 * Math.abs(m.change)) / biggest)}px` })),
        ),
      ),
    ),
  );
}

function explanation(moved) {
  const top = moved.filter((m) => Math.abs(m.change) >= 0.005).slice(0, 3);
  if (!top.length) return "No bin moved by more than half a percentage point.";
  return "Moved most: " + top.map((m) => `${m.label} ${pct(m.baseline)} → ${pct(m.recent)}`).join("; ") + ".";
}

function facts(run, model, view) {
  const q = ratio(run, view.config, model.thresholds);
  const rows = [
    ["status", badge(run.status)],
    ["window", `${time(run.window_start)} – ${time(run.window_end)}`],
    ["samples", `recent ${run.recent_count} · baseline ${run.baseline_count}`],
    ["baseline mode", h("strong", { id: "baseline-mode" }, model.baseline_mode), run.baseline_mode !== model.baseline_mode ? ` (this run: ${run.baseline_mode})` : ""],
    ["score ÷ limit", q === null ? "—" : q.toFixed(2)],
    ["drifted metrics", (run.drifted_metrics || []).join(", ") || "none"],
  ];
  if (run.rule) rows.push(["rule", run.rule]);
  if (typeof run.score === "number" && typeof run.limit === "number") {
    rows.push(["score / limit", `${num(run.score)} / ${num(run.limit)}`]);
  }
  if (typeof run.null_center === "number") {
    rows.push(["no-drift range", `${num(run.null_center)} ± ${num(run.null_spread)}`]);
  }
  if (typeof run.p_value === "number") rows.push(["p-value", num(run.p_value, 4)]);
  if (run.new_categories && run.new_categories.count) {
    rows.push(["new categories", `${run.new_categories.count} (${pct(run.new_categories.share)} of recent)`]);
  }
  return h("dl", { class: "facts" }, rows.map(([k, ...v]) => [h("dt", {}, k), h("dd", {}, ...v)]));
}

const limitText = (limit, direction) =>
  limit === null ? "reported only" : `${direction === "below" ? "<" : ">"} ${num(limit)}`;

function metricsTable(run, model, view) {
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, ["metric", "value", "limit", ""].map((c) => h("th", {}, c)))),
    h(
      "tbody",
      {},
      METRICS.filter((m) => metricValue(run, m) !== null).map((m) =>
        h(
          "tr",
          {},
          h("td", {}, LABELS[m]),
          h("td", { class: "num" }, num(metricValue(run, m), 4)),
          h("td", { class: "num" }, limitText(limitOf(run, view.config, model.thresholds, m), view.config.directions[m])),
          h("td", {}, (run.drifted_metrics || []).includes(m) ? badge("drift") : ""),
        ),
      ),
    ),
  );
}

// A button that sends one request and reports the outcome (404/405: not supported here).
function action(label, id, send, result, after) {
  return h("button", {
    id,
    type: "button",
    onclick: async (ev) => {
      ev.target.disabled = true;
      say(result, `${label}: sending…`, "muted");
      try {
        const body = await send();
        say(result, `${label}: accepted${body && body.action ? ` (${body.action})` : ""}.`, "muted");
        if (after) after();
      } catch (err) {
        const text =
          err.status === 404 || err.status === 405
            ? `${label}: not supported by this API (${err.status}).`
            : `${label} failed: ${err.message} (${err.status || "network"}).`;
        say(result, text, "error");
      } finally {
        ev.target.disabled = false;
      }
    },
  });
}

function actions(modelId, stream, refresh) {
  const recent = said && Date.now() - said.at < SHOWN_MS ? said : null;
  const result = h("div", { id: "action-result", role: "status", class: recent ? recent.cls : null }, recent ? recent.text : "");
  const path = `/models/${encodeURIComponent(modelId)}`;
  const by = h("input", { id: "by", placeholder: "your name", value: sessionStorage.getItem(BY) || "", oninput: (ev) => sessionStorage.setItem(BY, ev.target.value) });
  const pin = action("Pin baseline", "pin", () => request(`${path}/baseline`, { method: "PUT" }), result, refresh);
  pin.textContent = "Pin baseline";
  const unpin = action("Unpin baseline", "unpin", () => request(`${path}/baseline`, { method: "DELETE" }), result, refresh);
  unpin.textContent = "Unpin (rolling)";
  const accept = action("Accept as new normal", "accept", () => request(`${path}/accept`, { method: "POST", body: { stream, by: by.value || null } }), result, refresh);
  accept.textContent = "Accept as new normal";
  return h("div", {}, h("div", { class: "actions" }, pin, unpin, h("span", { class: "muted" }, "|"), accept, h("label", {}, "by ", by)), result);
}

// A vector stream has no distribution: its metrics over the range, the newest run's figures.
async function vectorPage(view, modelId, stream, model) {
  const { items } = await runsOf({ model_id: modelId, stream }, view.range.from, view.range.to);
  const runs = [...items].reverse();
  const run = runs.at(-1) || model.streams.find((r) => r.stream === stream);
  const width = Math.max(280, Math.floor((view.width - 600) / 2)); // two charts a row
  return h(
    "div",
    { id: "vector-stream" },
    h("h1", {}, stream, " ", h("span", { class: "muted" }, `vector stream of model ${modelId}`)),
    h(
      "div",
      { class: "row" },
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Metrics over time"),
        runs.length ? h("div", { class: "charts" }, vectorCharts(runs, view, width)) : h("p", { class: "muted" }, "no drift evaluations in this range"),
      ),
      h(
        "section",
        { class: "card", style: "max-width:460px" },
        h("h2", {}, "Latest evaluation"),
        vectorFacts(run),
        h("h2", { style: "margin-top:12px" }, "Metrics"),
        vectorTable(run),
        h("h2", { style: "margin-top:12px" }, "Baseline"),
        actions(modelId, stream, view.refresh),
      ),
    ),
  );
}

export async function streamPage(view, modelId, stream) {
  const model = await request(`/models/${encodeURIComponent(modelId)}`);
  const newest = model.streams.find((r) => r.stream === stream);
  if (newest && isVector(newest)) return vectorPage(view, modelId, stream, model);
  const q = new URLSearchParams({ stream });
  if (view.params.get("at")) q.set("at", view.params.get("at"));
  const run = await request(`/ui/api/models/${encodeURIComponent(modelId)}/distribution?${q}`);
  const width = Math.max(420, view.width - 540);
  const hasBins = run.bins && Array.isArray(run.bins.labels) && run.bins.labels.length;
  return h(
    "div",
    {},
    h("h1", {}, stream, " ", h("span", { class: "muted" }, `${run.stream_kind} stream of model ${modelId}`)),
    view.params.get("at")
      ? h("p", {}, `The window ending ${time(run.window_end)}. `, h("a", { href: link(["stream", modelId, stream]) }, "show the newest"))
      : null,
    h(
      "div",
      { class: "row" },
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Recent vs baseline distribution"),
        hasBins ? bars(run.bins, width) : h("p", { class: "muted" }, "no distribution stored for this run"),
        h("h2", { style: "margin-top:12px" }, "What moved"),
        h("p", { id: "explanation" }, explanation(run.moved)),
        movedTable(run.moved),
      ),
      h(
        "section",
        { class: "card", style: "max-width:460px" },
        h("h2", {}, "Latest evaluation"),
        facts(run, model, view),
        h("h2", { style: "margin-top:12px" }, "Metrics"),
        metricsTable(run, model, view),
        h("h2", { style: "margin-top:12px" }, "Baseline"),
        actions(modelId, stream, view.refresh),
      ),
    ),
  );
}
