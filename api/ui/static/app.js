// The dashboard's entry: routing on the URL hash, the range picker, the API key, auto-refresh.
import { apiKey, request } from "./api.js";
import { h, time } from "./format.js";
import { modelPage } from "./model.js";
import { overview } from "./overview.js";
import { current, link, timeRange, update } from "./state.js";
import { streamPage } from "./stream.js";

const REFRESH_MS = 15000;
const $ = (id) => document.getElementById(id);
let config = null;
let rendering = false;
let generation = 0;

function banner(text) {
  $("banner").hidden = !text;
  $("banner").textContent = text || "";
}

function crumbs(parts) {
  const nav = $("crumbs");
  nav.replaceChildren();
  if (parts[0] === "model" || parts[0] === "stream") {
    nav.append(h("a", { href: link([]) }, "overview"), " › ", h("a", { href: link(["model", parts[1]]) }, `model ${parts[1]}`));
  }
  if (parts[0] === "stream") nav.append(" › ", parts[2]);
}

function syncPicker(params, range) {
  $("range").value = range.range === "custom" ? "custom" : params.get("range") || "24h";
  $("custom").hidden = $("range").value !== "custom";
  if (range.range === "custom") {
    $("from").value = range.from.slice(0, 16);
    $("to").value = range.to.slice(0, 16);
  }
}

async function render() {
  if (rendering) return;
  rendering = true;
  const mine = ++generation;
  const { parts, params } = current();
  const range = timeRange(params);
  syncPicker(params, range);
  crumbs(parts);
  try {
    config = config || (await request("/ui/api/config"));
    const view = { params, range, config, width: $("view").clientWidth || 1248, refresh: () => setTimeout(render, 500) };
    let page;
    if (parts[0] === "model" && parts[1]) page = await modelPage(view, parts[1]);
    else if (parts[0] === "stream" && parts[1] && parts[2]) page = await streamPage(view, parts[1], parts[2]);
    else page = await overview(view);
    if (mine === generation) {
      $("view").replaceChildren(page);
      $("view").dataset.loaded = String(Date.now());
      $("updated").textContent = `updated ${time(new Date().toISOString()).slice(11)}`;
      banner("");
    }
  } catch (err) {
    config = err.status === 401 ? null : config;
    banner(err.status === 401 ? "This API needs a key: press “API key” and enter one." : `Could not load: ${err.message}`);
    console.error(err);
  } finally {
    rendering = false;
  }
}

$("range").addEventListener("change", (ev) => {
  if (ev.target.value === "custom") {
    $("custom").hidden = false;
    return;
  }
  update({ range: ev.target.value, from: null, to: null });
});
$("apply").addEventListener("click", () => {
  const from = Date.parse($("from").value + "Z");
  const to = Date.parse($("to").value + "Z");
  if (Number.isFinite(from) && Number.isFinite(to) && from < to) {
    update({ range: "custom", from: new Date(from).toISOString(), to: new Date(to).toISOString() });
  } else banner("custom range: pick a start before the end");
});
$("key").addEventListener("click", () => {
  const value = prompt("X-API-Key (empty to clear; kept in this tab only)", apiKey.get());
  if (value === null) return;
  apiKey.set(value.trim());
  config = null;
  render();
});
window.addEventListener("hashchange", () => {
  generation++;
  rendering = false;
  render();
});
setInterval(() => {
  const typing = document.activeElement && document.activeElement.tagName === "INPUT";
  if (!document.hidden && !typing) render();
}, REFRESH_MS);
render();
