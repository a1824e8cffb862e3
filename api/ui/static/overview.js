// Overview: every model's status, the streams × time heatmap, and the alert feed.
import { allPages, history as runsOf, request } from "./api.js";
import { badge, h, seconds, time } from "./format.js";
import { heatmap } from "./heatmap.js";
import { ratio } from "./scores.js";
import { link } from "./state.js";

const MAX_ROWS = 400; // streams in the heatmap (a canvas is at most ~32k pixels high)

// events/s of the recent window of the model's newest runs (largest stream count).
function eventsPerSecond(runs) {
  let best = null;
  for (const r of runs) {
    const span = seconds(r.window_end) - seconds(r.window_start);
    if (span > 0 && (best === null || r.recent_count / span > best)) best = r.recent_count / span;
  }
  return best;
}

function modelsTable(models, latest, openAlerts) {
  const body = models.map((m) => {
    const runs = latest.filter((r) => r.model_id === m.model_id);
    const drifting = runs.filter((r) => r.status === "drift").length;
    const alerts = openAlerts.filter((a) => a.model_id === m.model_id).length;
    const last = runs.reduce((t, r) => (t && t > r.computed_at ? t : r.computed_at), null);
    const lastWindow = runs.reduce((t, r) => (t && t > r.window_end ? t : r.window_end), null);
    const rate = eventsPerSecond(runs);
    const status = runs.length === 0 ? null : drifting > 0 ? "drift" : runs.every((r) => r.status === "insufficient_data") ? "insufficient_data" : "ok";
    return h(
      "tr",
      { dataset: { model: m.model_id } },
      h("td", {}, h("a", { href: link(["model", m.model_id]) }, m.display_name || m.model_id)),
      h("td", {}, badge(status), " ", h("span", { class: "drifting" }, `${drifting} / ${runs.length}`), " streams drifting"),
      h("td", { class: "num" }, alerts ? h("strong", { class: "error" }, alerts) : "0"),
      h("td", { class: "num" }, rate === null ? "—" : rate.toFixed(rate < 10 ? 2 : 0)),
      h("td", {}, time(last), h("div", { class: "muted" }, "window ", time(lastWindow))),
      h("td", {}, m.baseline_mode),
    );
  });
  return h(
    "table",
    { id: "models" },
    h("thead", {}, h("tr", {}, ["model", "status", "open alerts", "events/s", "last evaluation", "baseline"].map((t, i) => h("th", { class: i === 2 || i === 3 ? "num" : null }, t)))),
    h("tbody", {}, body.length ? body : h("tr", {}, h("td", { colspan: 6, class: "muted" }, "no models yet"))),
  );
}

// Alert transitions in the range (opened and resolved), newest first.
function feed(alerts, from, to) {
  const events = [];
  for (const a of alerts) {
    if (a.opened_at >= from && a.opened_at < to) events.push({ at: a.opened_at, kind: "opened", a });
    if (a.resolved_at && a.resolved_at >= from && a.resolved_at < to) events.push({ at: a.resolved_at, kind: "resolved", a });
  }
  events.sort((x, y) => (x.at < y.at ? 1 : x.at > y.at ? -1 : 0));
  if (!events.length) return h("p", { class: "muted", id: "feed" }, "no alert opened or resolved in this range");
  return h(
    "ul",
    { class: "feed", id: "feed" },
    events.slice(0, 200).map(({ at, kind, a }) =>
      h(
        "li",
        { dataset: { kind } },
        h("span", { class: kind }, kind), " ", h("span", { class: "muted" }, time(at)), " ",
        h("a", { href: link(["stream", a.model_id, a.stream]) }, `${a.model_id} · ${a.stream}`),
        a.message ? h("div", { class: "muted" }, a.message) : null,
      ),
    ),
  );
}

export async function overview(view) {
  const { from, to } = view.range;
  const [models, latest, open, alerts, history] = await Promise.all([
    allPages("/models", {}, 5),
    request("/drift/latest"),
    allPages("/alerts", { status: "open" }, 5),
    // alerts opened in the range, and older ones still open or resolved in it
    allPages("/alerts", { to }, 3),
    runsOf({}, from, to),
  ]);
  const thresholds = Object.fromEntries(models.items.map((m) => [m.model_id, m.thresholds]));
  const byRow = new Map();
  for (const r of history.items) {
    const key = `${r.model_id}\u0000${r.stream}`;
    if (!byRow.has(key)) {
      byRow.set(key, { key, label: `${r.model_id} · ${r.stream}`, parts: ["stream", r.model_id, r.stream], runs: [] });
    }
    byRow.get(key).runs.push({ t: seconds(r.window_end), ratio: ratio(r, view.config, thresholds[r.model_id]), status: r.status, run: r });
  }
  const all = [...byRow.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
  const rows = all.slice(0, MAX_ROWS);
  const width = Math.max(560, view.width - 420);
  return h(
    "div",
    {},
    h("h1", {}, "Overview"),
    h("section", { class: "card" }, h("h2", {}, "Models"), modelsTable(models.items, latest.items, open.items)),
    h(
      "div",
      { class: "row" },
      h(
        "section",
        { class: "card", id: "heatmap" },
        h("h2", {}, "Streams × time: score ÷ limit"),
        rows.length ? heatmap(rows, seconds(from), seconds(to), width) : h("p", { class: "muted" }, "no drift evaluations in this range"),
        history.truncated ? h("p", { class: "muted" }, "only the newest 25,000 evaluations are shown: pick a shorter range") : null,
        all.length > rows.length ? h("p", { class: "muted" }, `the first ${rows.length} of ${all.length} streams; the model pages show the rest`) : null,
      ),
      h("section", { class: "card", style: "max-width:340px" }, h("h2", {}, "Alerts"), feed(alerts.items, from, to)),
    ),
  );
}
