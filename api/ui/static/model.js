// Model page: drift scores over time per stream with the limit line and drift windows marked
// (vector streams: their own metrics, vectors.js),
// the latest evaluation of every stream, and the model's performance (performance.js).
import { history as runsOf, request } from "./api.js";
import { badge, h, hhmm, num, seconds, time, utc } from "./format.js";
import { LABELS, METRICS, SHORT, limitOf, metricValue, ratio } from "./scores.js";
import { performanceCard } from "./performance.js";
import { link, update } from "./state.js";
import { driftBands, isVector, vectorCharts, vectorSummary } from "./vectors.js";

const DEFAULT_METRICS = ["kl_divergence", "cosine_similarity"];

function chart(runs, metric, view, thresholds, width) {
  const times = runs.map((r) => seconds(r.window_end));
  const values = runs.map((r) => metricValue(r, metric));
  const limits = runs.map((r) => limitOf(r, view.config, thresholds, metric));
  const drifted = runs.map((r) => r.status === "drift");
  const gaps = times.slice(1).map((t, i) => t - times[i]).filter((d) => d > 0);
  const step = gaps.length ? Math.min(...gaps) : 300;
  const el = h("div", { class: "chart", dataset: { metric, points: values.filter((v) => v !== null).length } });
  el.append(h("h3", {}, LABELS[metric], h("span", { class: "muted" }, view.config.directions[metric] === "below" ? "  (drift below the limit)" : "")));
  const opts = {
    width,
    height: 160,
    tzDate: utc,
    scales: { x: { time: true, min: seconds(view.range.from), max: seconds(view.range.to) } },
    series: [
      {},
      { label: LABELS[metric], stroke: "#1f5fbf", width: 1.5, points: { show: false } },
      { label: "limit", stroke: "#c62828", dash: [6, 4], width: 1, points: { show: false }, paths: uPlot.paths.stepped({ align: 1 }) },
    ],
    axes: [{ space: 70, values: hhmm }, { size: 56 }],
    hooks: { drawClear: [driftBands(times, drifted, step)] },
  };
  el.append(h("div", {}));
  new uPlot(opts, [times, values, limits], el.lastChild);
  return el;
}

function picker(selected) {
  return h(
    "div",
    { class: "metric-picker" },
    "Metrics: ",
    METRICS.map((m) =>
      h(
        "label",
        {},
        h("input", {
          type: "checkbox",
          value: m,
          checked: selected.includes(m),
          onchange: (ev) => {
            const next = METRICS.filter((x) => (x === m ? ev.target.checked : selected.includes(x)));
            update({ metrics: next.join(",") });
          },
        }),
        " ",
        LABELS[m],
      ),
    ),
  );
}

function latestTable(streams, view, thresholds) {
  const cols = ["stream", "status", "score ÷ limit", "KL", "cosine", "PSI", "JS", "KS", "drifted metrics", "recent / baseline", "window end", "rule"];
  return h(
    "table",
    { id: "latest", class: "compact" },
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, c)))),
    h(
      "tbody",
      {},
      streams.map((r) => {
        const q = ratio(r, view.config, thresholds);
        return h(
          "tr",
          { dataset: { stream: r.stream } },
          h("td", {}, h("a", { href: link(["stream", r.model_id, r.stream]) }, r.stream)),
          h("td", {}, badge(r.status)),
          h("td", { class: "num" }, q === null ? "—" : q.toFixed(2)),
          isVector(r)
            ? h("td", { colspan: 5, class: "vector-figures" }, vectorSummary(r))
            : ["kl_divergence", "cosine_similarity", "psi", "js_distance", "ks_statistic"].map((m) => h("td", { class: "num" }, num(metricValue(r, m)))),
          h("td", { class: "wrap", title: (r.drifted_metrics || []).join(", ") }, (r.drifted_metrics || []).map((m) => SHORT[m] || m).join(" ") || "—"),
          h("td", { class: "num" }, `${r.recent_count} / ${r.baseline_count}`),
          h("td", {}, time(r.window_end)),
          h("td", {}, r.rule || "fixed"),
        );
      }),
    ),
  );
}

export async function modelPage(view, modelId) {
  const { from, to } = view.range;
  const selected = (view.params.get("metrics") || DEFAULT_METRICS.join(",")).split(",").filter((m) => METRICS.includes(m));
  const width = Math.floor((view.width - 90) / 2);
  const [detail, history, performance] = await Promise.all([
    request(`/models/${encodeURIComponent(modelId)}`),
    runsOf({ model_id: modelId }, from, to),
    performanceCard(view, modelId, width),
  ]);
  const perStream = new Map();
  for (const r of [...history.items].reverse()) {
    if (!perStream.has(r.stream)) perStream.set(r.stream, []);
    perStream.get(r.stream).push(r);
  }
  const drifting = new Set(detail.streams.filter((r) => r.status === "drift").map((r) => r.stream));
  const names = [...perStream.keys()].sort((a, b) => (drifting.has(b) - drifting.has(a)) || (a < b ? -1 : 1));
  const cards = names.map((name) =>
    h(
      "section",
      { class: "card stream-charts", dataset: { stream: name } },
      h("h2", {}, h("a", { href: link(["stream", modelId, name]) }, name), " ", badge(perStream.get(name).at(-1).status)),
      h(
        "div",
        { class: "charts" },
        isVector(perStream.get(name).at(-1))
          ? vectorCharts(perStream.get(name), view, width)
          : selected.map((m) => chart(perStream.get(name), m, view, detail.thresholds, width)),
      ),
    ),
  );
  return h(
    "div",
    {},
    h("h1", {}, `Model ${detail.display_name || modelId}`, " ", h("span", { class: "muted" }, `baseline ${detail.baseline_mode}`)),
    h("section", { class: "card" }, h("h2", {}, "Latest evaluation per stream"), latestTable(detail.streams, view, detail.thresholds)),
    performance,
    h("section", { class: "card" }, picker(selected), h("p", { class: "muted" }, "Blue: the score of each window; red dashed: the limit it was judged against; shaded: windows judged drift. Vector streams (embedding.<name>, multivariate) show their own four metrics whatever is picked.")),
    cards.length ? cards : h("p", { class: "muted" }, "no drift evaluations in this range"),
  );
}
