// The view's state lives in the URL hash: #/<view>/<ids…>?range=24h (or range=custom&from=&to=)
// plus view options (metrics=…), so every link and reload shows the same thing.
const RANGES = { "6h": 6 * 3600, "24h": 24 * 3600, "7d": 7 * 86400 };
const KEPT = ["range", "from", "to"];

export function current() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, qs] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, params: new URLSearchParams(qs || "") };
}

// A link to another view that keeps the time range (and adds ``extra`` parameters).
export function link(parts, extra = {}) {
  const { params } = current();
  const q = new URLSearchParams();
  for (const k of KEPT) if (params.has(k)) q.set(k, params.get(k));
  for (const [k, v] of Object.entries(extra)) if (v !== null && v !== undefined) q.set(k, v);
  const path = "#/" + parts.map(encodeURIComponent).join("/");
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

// Replace some parameters of the current view (null removes one).
export function update(changes) {
  const { parts, params } = current();
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === undefined) params.delete(k);
    else params.set(k, v);
  }
  const s = params.toString();
  location.hash = "#/" + parts.map(encodeURIComponent).join("/") + (s ? `?${s}` : "");
}

// {from, to} ISO strings of the chosen range (default: the last 24 h up to now).
export function timeRange(params, now = Date.now()) {
  const range = params.get("range") || "24h";
  if (range === "custom") {
    const from = Date.parse(params.get("from") || "");
    const to = Date.parse(params.get("to") || "");
    if (Number.isFinite(from) && Number.isFinite(to) && from < to) {
      return { range, from: new Date(from).toISOString(), to: new Date(to).toISOString() };
    }
  }
  const span = RANGES[range] || RANGES["24h"];
  return {
    range: RANGES[range] ? range : "24h",
    from: new Date(now - span * 1000).toISOString(),
    to: new Date(now).toISOString(),
  };
}
