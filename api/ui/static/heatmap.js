// Streams × time on a canvas: each cell the worst score ÷ limit of the runs ending in it.
import { colour } from "./scores.js";
import { h, time } from "./format.js";
import { link } from "./state.js";

const ROW = 18;
const LABEL = 230;

// rows: [{key, label, parts, runs: [{t (s), ratio, status, run}]}]; from/to in seconds.
// A click opens the stream view at the clicked window (or the newest, on the label).
export function heatmap(rows, from, to, width) {
  const cols = Math.max(12, Math.min(144, Math.floor((width - LABEL) / 6)));
  const cellW = (width - LABEL) / cols;
  const step = (to - from) / cols;
  const height = rows.length * ROW + 22;
  const canvas = h("canvas", { class: "heatmap", width, height, dataset: { rows: rows.length } });
  const ctx = canvas.getContext("2d");
  ctx.font = "12px system-ui, sans-serif";
  ctx.textBaseline = "middle";
  const cells = rows.map(() => new Array(cols).fill(undefined));
  let filled = 0;
  rows.forEach((row, y) => {
    for (const p of row.runs) {
      const c = Math.min(cols - 1, Math.floor((p.t - from) / step));
      if (c < 0) continue;
      const cur = cells[y][c];
      if (cur === undefined || (p.ratio !== null && (cur.ratio === null || p.ratio > cur.ratio))) {
        cells[y][c] = p;
      }
    }
    ctx.fillStyle = "#1d232a";
    ctx.fillText(row.label.length > 34 ? row.label.slice(0, 33) + "…" : row.label, 4, y * ROW + ROW / 2);
    cells[y].forEach((p, c) => {
      if (p === undefined) return;
      filled++;
      ctx.fillStyle = colour(p.ratio);
      ctx.fillRect(LABEL + c * cellW, y * ROW + 1, Math.max(1, cellW - 1), ROW - 2);
    });
  });
  ctx.fillStyle = "#6b7480";
  const ticks = Math.max(2, Math.floor((width - LABEL) / 150));
  for (let i = 0; i <= ticks; i++) {
    const x = LABEL + ((width - LABEL - 1) * i) / ticks;
    const text = time(new Date((from + ((to - from) * i) / ticks) * 1000).toISOString()).slice(5);
    ctx.textAlign = i === 0 ? "left" : i === ticks ? "right" : "center";
    ctx.fillText(text, x, rows.length * ROW + 11);
  }
  canvas.dataset.cells = filled;

  const tip = h("div", { class: "tooltip", hidden: true });
  const at = (ev) => {
    const r = canvas.getBoundingClientRect();
    const x = ev.clientX - r.left;
    const y = Math.floor((ev.clientY - r.top) / ROW);
    if (y < 0 || y >= rows.length) return null;
    const c = Math.floor((x - LABEL) / cellW);
    return { row: rows[y], cell: c >= 0 && c < cols ? cells[y][c] : undefined, x, y };
  };
  canvas.addEventListener("mousemove", (ev) => {
    const hit = at(ev);
    canvas.style.cursor = hit ? "pointer" : "default";
    if (!hit || !hit.cell) return void (tip.hidden = true);
    const p = hit.cell;
    const score = p.ratio === null ? "insufficient data" : `score ÷ limit ${p.ratio.toFixed(2)}`;
    tip.textContent = `${hit.row.label} · ${time(p.run.window_end)} · ${p.status} · ${score}`;
    tip.style.left = `${Math.min(hit.x + 12, width - 320)}px`;
    tip.style.top = `${hit.y * ROW + ROW + 4}px`;
    tip.hidden = false;
  });
  canvas.addEventListener("mouseleave", () => (tip.hidden = true));
  canvas.addEventListener("click", (ev) => {
    const hit = at(ev);
    if (hit) location.hash = link(hit.row.parts, hit.cell ? { at: hit.cell.run.window_end } : {});
  });
  const legend = h(
    "div",
    { class: "legend" },
    h("span", {}, h("i", { style: `background:${colour(0)}` }), "far below the limit"),
    h("span", {}, h("i", { style: `background:${colour(0.9)}` }), "near it"),
    h("span", {}, h("i", { style: `background:${colour(1.5)}` }), "beyond (score ÷ limit > 1)"),
    h("span", {}, h("i", { style: `background:${colour(3)}` }), "≥ 3×"),
    h("span", {}, h("i", { style: `background:${colour(null)}` }), "insufficient data"),
    h("span", {}, "click a cell for that window's distribution"),
  );
  return h("div", { class: "heatmap-wrap" }, canvas, tip, legend);
}
