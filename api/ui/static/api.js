// Talking to the API: the X-API-Key from sessionStorage, the common error body, paging.
const KEY = "driftmon.apiKey";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const apiKey = {
  get: () => sessionStorage.getItem(KEY) || "",
  set: (value) => (value ? sessionStorage.setItem(KEY, value) : sessionStorage.removeItem(KEY)),
};

export async function request(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  const key = apiKey.get();
  if (key) headers["X-API-Key"] = key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(res.status, err.code || "http_" + res.status, err.message || res.statusText);
  }
  return data;
}

export function query(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== null && v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

// Every page of a list endpoint (at most maxPages of 1000); truncated tells whether more remain.
export async function allPages(path, params, maxPages = 25) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < maxPages; page++) {
    const body = await request(query(path, { ...params, limit: 1000, cursor }));
    items.push(...body.items);
    cursor = body.next_cursor;
    if (!cursor) return { items, truncated: false };
  }
  return { items, truncated: true };
}

// drift_runs of a range, kept between refreshes: a refresh of the same query asks only for the
// runs ending after the newest one held (less a 15-minute overlap, for rows written again).
const OVERLAP_MS = 15 * 60 * 1000;
const held = new Map();

export async function history(params, from, to, maxPages = 25) {
  const key = JSON.stringify(params);
  let entry = held.get(key);
  const fromMs = Date.parse(from);
  if (!entry || fromMs < entry.from || Date.parse(to) < entry.newest) {
    entry = null;
  }
  const since = entry ? new Date(Math.max(fromMs, entry.newest - OVERLAP_MS)).toISOString() : from;
  const page = await allPages("/drift/history", { ...params, from: since, to }, maxPages);
  const runs = entry ? entry.runs : new Map();
  for (const r of page.items) runs.set(`${r.model_id}\u0000${r.stream}\u0000${r.window_end}`, r);
  for (const [k, r] of runs) if (Date.parse(r.window_end) < fromMs) runs.delete(k);
  let newest = entry ? entry.newest : 0;
  for (const r of page.items) newest = Math.max(newest, Date.parse(r.window_end));
  const truncated = page.truncated || Boolean(entry && entry.truncated);
  held.clear(); // one query is kept: the view on screen
  held.set(key, { from: fromMs, newest, runs, truncated });
  const items = [...runs.values()].sort((a, b) => (a.window_end < b.window_end ? 1 : -1));
  return { items, truncated };
}
