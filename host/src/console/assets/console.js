// The spawn-wasm web console: one page over the host's JSON routes (no build step, no
// dependencies). Views: overview (live charts, actors), modules, one actor (actor.js), the
// last requests and their spans (requests.js).
// Beyond loopback every data route needs the host's token (api.js).

import { TOKEN_KEY, Unauthorized, api } from "./api.js";
import { actionLabel, renderActor } from "./actor.js";
import { POLL_MS, drawCharts, sample } from "./charts.js";
import { $, h } from "./dom.js";
import { renderRequests, requestsRoute } from "./requests.js";

$("#token-form").addEventListener("submit", () => {
  sessionStorage.setItem(TOKEN_KEY, $("#token-input").value.trim());
  $("#token-input").value = "";
  start();
});
$("#forget-token").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  location.reload();
});

const page = {
  about: null,
  actors: [],
  modules: [],
  timer: null,
  actorPath: (name) => `/api/v1/system/${encodeURIComponent(page.about.system)}/actors/${encodeURIComponent(name)}`,
};

const standalone = () => page.about?.mode === "standalone";

function showNotice(message) {
  const notice = $("#notice");
  notice.hidden = !message;
  notice.textContent = message ?? "";
}

async function start() {
  try {
    page.about = await api("/v1/console");
  } catch (error) {
    if (!(error instanceof Unauthorized)) showNotice(`Cannot reach the host: ${error.message}`);
    return;
  }
  showNotice(null);
  $("#forget-token").hidden = !sessionStorage.getItem(TOKEN_KEY);
  const mode = standalone() ? "standalone" : "sidecar (read-only: the Spawn proxy owns the actors)";
  $("#where").textContent = `system ${page.about.system} · ${mode} · v${page.about.version}`;
  await refresh();
  route();
  clearInterval(page.timer);
  page.timer = setInterval(tick, POLL_MS);
  tick();
}

/** Every poll: the actors (active instances change) and a point on every chart. */
function tick() {
  refresh().catch(() => {});
  sample();
}

async function refresh() {
  [page.actors, page.modules] = await Promise.all([api("/v1/actors"), api("/v1/modules")]);
  renderActorList();
}

function renderActorList() {
  const current = currentActor();
  $("#actor-list").replaceChildren(
    ...page.actors.map((actor) =>
      h("li", {},
        h("a", { href: `#/actor/${encodeURIComponent(actor.name)}`, class: actor.name === current ? "current" : null },
          actor.name,
          h("span", { class: "count", title: "active instances" }, actor.active ? actor.active.length : "")))),
  );
  if (page.actors.length === 0) $("#actor-list").replaceChildren(h("li", { class: "muted" }, "no actors loaded"));
}

// ---- Routing --------------------------------------------------------------------------

function currentActor() {
  const match = location.hash.match(/^#\/actor\/(.+)$/);
  return match ? decodeURIComponent(match[1]) : null;
}

function route() {
  // A view's address may go on (`#/requests/TRACE?actor=NAME`): its nav item is its first part.
  const view = (location.hash || "#/").match(/^#\/[^/?]*/)?.[0];
  for (const link of document.querySelectorAll(".nav-item")) {
    link.classList.toggle("current", link.getAttribute("href") === view);
  }
  renderActorList();
  const actor = currentActor();
  if (actor) return renderActor(actor, page);
  const requests = requestsRoute(location.hash);
  if (requests) return renderRequests(requests);
  if (location.hash === "#/modules") return renderModules();
  renderOverview();
}
window.addEventListener("hashchange", () => page.about && route());

// ---- Overview: charts and actors ----------------------------------------------------------

function renderOverview() {
  const charts = [
    ["calls", "Calls per second"],
    ["p50", "p50 latency (ms)"],
    ["p99", "p99 latency (ms)"],
    ["errors", "Errors per second"],
  ];
  $("#view").replaceChildren(
    h("h1", {}, "Overview"),
    h("p", { class: "muted" }, `Live from the host's /metrics, every ${POLL_MS / 1000} s, per actor.`),
    h("div", { class: "grid" },
      charts.map(([key, title]) =>
        h("div", { class: "card" }, h("h2", {}, title), h("canvas", { class: "chart", id: `chart-${key}` }),
          h("div", { class: "legend", id: `legend-${key}` })))),
    h("div", { class: "card" }, h("h2", {}, "Actors"), actorTable()),
  );
  drawCharts();
}

function actorTable() {
  if (page.actors.length === 0) return h("p", { class: "muted" }, "No actors: put components (*.wasm) in the actors directory.");
  return h("table", {},
    h("tr", {}, ["actor", "kind", "actions", "timers", "channels", "active"].map((name) => h("th", {}, name))),
    page.actors.map((actor) =>
      h("tr", {},
        h("td", {}, h("a", { href: `#/actor/${encodeURIComponent(actor.name)}` }, actor.name)),
        h("td", {}, actor.kind, actor.stateful ? h("span", { class: "muted" }, " · stateful") : ""),
        h("td", {}, actor.actions.map((action) => h("span", { class: "tag" }, actionLabel(action)))),
        h("td", {}, actor.timers.map((timer) => h("span", { class: "tag plain" }, `${timer.action} every ${timer.period_ms} ms`))),
        h("td", {}, actor.channels.map((channel) => h("span", { class: "tag plain" }, `${channel.topic} → ${channel.action || "receive"}`))),
        h("td", { class: "mono" }, actor.active ? (actor.active.join(", ") || "–") : "(the proxy knows)"))));
}

// ---- Modules ----------------------------------------------------------------------------

function renderModules() {
  const size = (bytes) => (bytes == null ? "" : bytes > 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${Math.round(bytes / 1024)} KiB`);
  const when = (ms) => (ms == null ? "" : new Date(ms).toLocaleTimeString());
  $("#view").replaceChildren(
    h("h1", {}, "Modules"),
    h("p", { class: "muted" }, "The components of the actors directory, as last loaded. A rejected file keeps its previous version serving."),
    h("div", { class: "card" },
      page.modules.length === 0 ? h("p", { class: "muted" }, "No component files.") :
      h("table", {},
        h("tr", {}, ["file", "hash", "size", "loaded", "load time", "actors", "last error"].map((name) => h("th", { class: "nowrap" }, name))),
        page.modules.map((module) =>
          h("tr", {},
            h("td", { class: "mono", title: module.file }, module.file.split("/").pop()),
            h("td", { class: "mono" }, module.hash ?? "–"),
            h("td", { class: "nowrap" }, size(module.size_bytes)),
            h("td", { class: "nowrap" }, when(module.loaded_at_ms)),
            h("td", { class: "nowrap" }, module.load_ms == null ? "" : `${module.load_ms} ms`),
            h("td", {}, module.actors.map((name) => h("a", { class: "tag", href: `#/actor/${encodeURIComponent(name)}` }, name))),
            h("td", { class: "error" }, module.last_error ?? ""))))),
  );
}

start();
