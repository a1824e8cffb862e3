// DOM building and formatting shared by the views.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const seconds = (iso) => Date.parse(iso) / 1000;

// uPlot time axes in UTC: the tz of the dates, and ticks as HH:MM with the date at midnight and
// on the first tick
export const utc = (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC");
export const hhmm = (u, ticks) =>
  ticks.map((t, i) => {
    const iso = new Date(t * 1000).toISOString();
    const hm = iso.slice(11, 16);
    return hm === "00:00" || i === 0 ? `${iso.slice(5, 10)} ${hm}` : hm;
  });

export function time(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toISOString().slice(0, 16).replace("T", " ") + "Z";
}

export function num(v, digits = 3) {
  if (typeof v !== "number" || !Number.isFinite(v)) return "—";
  if (v !== 0 && Math.abs(v) < 10 ** -digits) return v.toExponential(1);
  return v.toFixed(digits);
}

export const pct = (v) => (typeof v === "number" ? (100 * v).toFixed(1) + " %" : "—");

export function badge(status) {
  const text = status === "insufficient_data" ? "insufficient data" : status || "no data";
  return h("span", { class: `badge ${status || "none"}` }, text);
}
