// The spawn-wasm web console: one page over the host's JSON routes (no build step, no
// dependencies). Views: overview (live charts, actors), modules, one actor (state, history,
// invoke). Beyond loopback every data route needs the host's token, asked for on a 401 and
// kept in sessionStorage.

const TOKEN_KEY = "spawn-wasm-token";
const POLL_MS = 2000;
const POINTS = 60;
const TYPE_PREFIX = "type.googleapis.com/";

const $ = (selector) => document.querySelector(selector);

/** Builds an element: `h("td", {class: "x"}, "text", child)`. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "value") element.value = value;
    else element.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null) element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

// ---- HTTP ---------------------------------------------------------------------------

class Unauthorized extends Error {}
class Missing extends Error {}

/** Fetches `path` with the token; JSON in and out. Throws `Unauthorized` on 401 (after
 * asking for a token), `Missing` when the route does not exist on this host. */
async function api(path, { method = "GET", body } = {}) {
  const headers = { accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (response.status === 401) {
    askForToken(json?.error ?? "The host refused the request.");
    throw new Unauthorized(json?.error ?? "unauthorized");
  }
  if (response.status === 404 && json === null) throw new Missing(path);
  if (!response.ok) {
    const message = json?.status?.message ?? json?.error ?? (text || response.statusText);
    const error = new Error(`${message} (HTTP ${response.status})`);
    error.json = json;
    throw error;
  }
  return json;
}

function askForToken(reason) {
  const dialog = $("#token-dialog");
  $("#token-reason").textContent = reason;
  if (!dialog.open) dialog.showModal();
}

$("#token-form").addEventListener("submit", () => {
  sessionStorage.setItem(TOKEN_KEY, $("#token-input").value.trim());
  $("#token-input").value = "";
  start();
});
$("#forget-token").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  location.reload();
});

// ---- State of the page ------------------------------------------------------------------

const page = { about: null, actors: [], modules: [], history: new Map(), samples: [], timer: null };

const standalone = () => page.about?.mode === "standalone";
const system = () => encodeURIComponent(page.about.system);
const actorPath = (name) => `/api/v1/system/${system()}/actors/${encodeURIComponent(name)}`;

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
  page.timer = setInterval(poll, POLL_MS);
  poll();
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
  for (const link of document.querySelectorAll(".nav-item")) {
    link.classList.toggle("current", link.getAttribute("href") === (location.hash || "#/"));
  }
  renderActorList();
  const actor = currentActor();
  if (actor) return renderActor(actor);
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

function actionLabel(action) {
  if (typeof action === "string") return action;
  const input = action.input ?? action.input_type;
  const output = action.output ?? action.output_type;
  return `${action.name}(${input ?? ""})${output ? ` → ${output}` : ""}`;
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

// ---- One actor: state, history, invoke ------------------------------------------------------

async function renderActor(name) {
  const actor = page.actors.find((candidate) => candidate.name === name);
  if (!actor) {
    $("#view").replaceChildren(h("h1", {}, name), h("p", { class: "error" }, "No loaded component provides this actor."));
    return;
  }
  const facts = [
    `${actor.kind}${actor.stateful ? ", stateful" : ""}`,
    actor.state_type ? `state ${actor.state_type}` : null,
    `from ${actor.file.split("/").pop()} (${actor.hash})`,
  ].filter(Boolean).join(" · ");
  const stateCard = h("div", { class: "card", id: "state-card" }, h("h2", {}, "State"), h("p", { class: "muted" }, "loading…"));
  const historyCard = h("div", { class: "card", id: "history-card" }, h("h2", {}, "History"), h("p", { class: "muted" }, "loading…"));
  const invokeCard = h("div", { class: "card", id: "invoke-card" }, h("h2", {}, "Invoke"));
  $("#view").replaceChildren(
    h("h1", {}, name), h("p", { class: "muted" }, facts),
    ...(standalone() ? [h("div", { class: "grid" }, stateCard, invokeCard), historyCard]
      : [h("p", { class: "muted" }, "Sidecar mode: state, history and invocations belong to the Spawn proxy; this console shows modules and metrics.")]),
    h("div", { class: "card" }, h("h2", {}, "Definition"), definitionOf(actor)),
  );
  if (!standalone()) return;
  renderInvoke(actor, invokeCard);
  await showState(actor);
}

function definitionOf(actor) {
  return h("table", { class: "facts" },
    h("tr", {}, h("th", {}, "actions"), h("td", {}, actor.actions.map((action) => h("span", { class: "tag" }, actionLabel(action))))),
    h("tr", {}, h("th", {}, "timers"), h("td", {}, actor.timers.map((timer) => `${timer.action} every ${timer.period_ms} ms`).join(", ") || "–")),
    h("tr", {}, h("th", {}, "channels"), h("td", {}, actor.channels.map((channel) => `${channel.topic} → ${channel.action || "receive"}`).join(", ") || "–")),
    h("tr", {}, h("th", {}, "active instances"), h("td", { class: "mono" }, (actor.active ?? []).join(", ") || "–")),
    h("tr", {}, h("th", {}, "timeouts"), h("td", {}, `snapshot ${actor.snapshot_timeout_ms} ms, deactivation ${actor.deactivation_timeout_ms} ms`)));
}

/** The actor's state: from the state route with its revision, else its `get` action. */
async function currentState(name) {
  try {
    return await api(`${actorPath(name)}/state`);
  } catch (error) {
    if (!(error instanceof Missing)) throw error;
  }
  const reply = await api(`${actorPath(name)}/invoke`, { method: "POST", body: { actor: { id: { name } }, actionName: "get" } });
  return { revision: null, time_ms: null, state: reply?.value ?? null };
}

async function showState(actor) {
  const card = $("#state-card");
  if (!card) return;
  try {
    const current = await currentState(actor.name);
    card.replaceChildren(
      h("h2", {}, "State", current.revision != null ? h("span", { class: "muted", id: "state-revision" }, ` · revision ${current.revision}`) : ""),
      h("pre", { id: "state-json" }, current.state == null ? "(no state yet)" : JSON.stringify(current.state, null, 2)));
  } catch (error) {
    if (error instanceof Unauthorized) return;
    card.replaceChildren(h("h2", {}, "State"), h("div", { class: "error-box" }, error.message));
  }
  await showHistory(actor);
}

async function showHistory(actor) {
  const card = $("#history-card");
  if (!card) return;
  let revisions;
  try {
    revisions = (await api(`${actorPath(actor.name)}/state/history`)).revisions;
  } catch (error) {
    if (error instanceof Unauthorized) return;
    const message = error instanceof Missing ? "History not available: this host keeps no state history." : error.message;
    card.replaceChildren(h("h2", {}, "History"), h("p", { class: error instanceof Missing ? "muted" : "error" }, message));
    return;
  }
  if (revisions.length === 0) {
    card.replaceChildren(h("h2", {}, "History"), h("p", { class: "muted" }, "No revisions stored yet."));
    return;
  }
  const options = () => revisions.map((revision) => h("option", { value: revision.revision }, `revision ${revision.revision}`));
  const left = h("select", { id: "diff-from" }, options());
  const right = h("select", { id: "diff-to" }, options());
  if (revisions.length > 1) left.value = revisions[1].revision;
  const diffBox = h("div", { class: "diff mono", id: "diff" });
  const showDiff = async () => {
    const [a, b] = await Promise.all([left.value, right.value].map((revision) => api(`${actorPath(actor.name)}/state?revision=${revision}`)));
    diffBox.replaceChildren(...diffLines(pretty(a.state), pretty(b.state)));
  };
  left.onchange = right.onchange = showDiff;
  card.replaceChildren(
    h("h2", {}, "History"),
    h("table", { id: "history" },
      h("tr", {}, ["revision", "time", "type", "size", ""].map((name) => h("th", {}, name))),
      revisions.map((revision, index) =>
        h("tr", { "data-revision": revision.revision },
          h("td", { class: "mono" }, revision.revision),
          h("td", {}, new Date(revision.time_ms).toLocaleString()),
          h("td", { class: "mono" }, (revision.type_url ?? "").replace(TYPE_PREFIX, "")),
          h("td", {}, `${revision.size} B`),
          h("td", {}, index === 0 ? h("span", { class: "muted" }, "current")
            : h("button", { class: "secondary restore", onclick: () => restore(actor, revision.revision) }, "Restore"))))),
    h("div", { class: "row" }, "Diff", left, "→", right),
    diffBox,
  );
  await showDiff();
}

async function restore(actor, revision) {
  if (!confirm(`Make revision ${revision} the current state of ${actor.name}? (A new revision: it can be undone.)`)) return;
  try {
    await api(`/api/v1/system/${system()}/actors/spawn?revision=${revision}`, {
      method: "POST",
      body: { actors: [{ name: actor.name, system: page.about.system }] },
    });
    await showState(actor);
  } catch (error) {
    if (!(error instanceof Unauthorized)) alert(`Restore failed: ${error.message}`);
  }
}

const pretty = (value) => (value == null ? "(no state)" : JSON.stringify(value, null, 2));

/** A line diff (longest common subsequence) of two texts, as rows. */
function diffLines(before, after) {
  const a = before.split("\n"), b = after.split("\n");
  const lengths = Array.from({ length: a.length + 1 }, () => new Array(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lengths[i][j] = a[i] === b[j] ? lengths[i + 1][j + 1] + 1 : Math.max(lengths[i + 1][j], lengths[i][j + 1]);
    }
  }
  const rows = [];
  let i = 0, j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) { rows.push(h("div", {}, `  ${a[i]}`)); i++; j++; }
    else if (i < a.length && (j === b.length || lengths[i + 1][j] >= lengths[i][j + 1])) { rows.push(h("div", { class: "del" }, `- ${a[i]}`)); i++; }
    else { rows.push(h("div", { class: "add" }, `+ ${b[j]}`)); j++; }
  }
  return rows;
}

// ---- Invoke form ------------------------------------------------------------------------

async function renderInvoke(actor, card) {
  const actions = actor.actions.map((action) => (typeof action === "string" ? { name: action } : action));
  if (actions.length === 0) {
    card.append(h("p", { class: "muted" }, "This actor declares no actions."));
    return;
  }
  let messages = [];
  try { messages = await api("/v1/messages"); } catch (error) { if (error instanceof Unauthorized) return; }
  const actionSelect = h("select", { id: "invoke-action", name: "action" }, actions.map((action) => h("option", { value: action.name }, action.name)));
  const typeSelect = h("select", { id: "invoke-type", name: "type" },
    h("option", { value: "" }, "(no input)"), messages.map((name) => h("option", { value: name }, name)));
  const fields = h("div", { id: "invoke-fields" });
  const reply = h("div", { id: "invoke-reply" });
  const form = h("form", { class: "invoke", id: "invoke-form" },
    h("label", {}, "Action", actionSelect),
    h("label", {}, "Input message", typeSelect),
    fields,
    h("div", { class: "row" }, h("button", { type: "submit", id: "invoke-submit" }, "Invoke")),
    reply);
  card.append(form);
  let schema = null;
  const chooseType = async () => {
    schema = typeSelect.value ? await api(`/v1/messages/${encodeURIComponent(typeSelect.value)}`) : null;
    fields.replaceChildren(...(schema ? fieldInputs(schema, "") : [h("p", { class: "muted small" }, "The action is called without input.")]));
  };
  const chooseAction = async () => {
    const action = actions.find((candidate) => candidate.name === actionSelect.value);
    typeSelect.value = inputTypeOf(action, messages);
    await chooseType();
  };
  actionSelect.onchange = chooseAction;
  typeSelect.onchange = chooseType;
  form.onsubmit = async (event) => {
    event.preventDefault();
    reply.replaceChildren();
    let value;
    try {
      value = schema ? { "@type": TYPE_PREFIX + schema.name, ...collect(schema, "") } : undefined;
    } catch (error) {
      reply.replaceChildren(h("div", { class: "error-box" }, error.message));
      return;
    }
    try {
      const answer = await api(`${actorPath(actor.name)}/invoke`, {
        method: "POST",
        body: { actor: { id: { name: actor.name } }, actionName: actionSelect.value, value },
      });
      reply.replaceChildren(h("h2", {}, "Reply"), h("pre", { id: "invoke-result" }, answer?.value === undefined ? "(no reply)" : JSON.stringify(answer.value, null, 2)));
      await showState(actor);
    } catch (error) {
      if (!(error instanceof Unauthorized)) reply.replaceChildren(h("div", { class: "error-box", id: "invoke-error" }, error.message));
    }
  };
  await chooseAction();
}

/** The input type an action declares, else a message named after it (`increment` →
 * `*.Increment`), else none. */
function inputTypeOf(action, messages) {
  const declared = (action.input ?? action.input_type ?? "").replace(TYPE_PREFIX, "").replace(/^\./, "");
  if (declared && messages.includes(declared)) return declared;
  const wanted = action.name.replace(/[_-]/g, "").toLowerCase();
  return messages.find((name) => name.split(".").pop().toLowerCase() === wanted) ?? "";
}

function fieldInputs(schema, prefix) {
  return schema.fields.map((field) => {
    const id = `field-${prefix}${field.json}`;
    const label = (input, hint) => h("label", {}, h("span", {}, field.json, hint ? h("span", { class: "muted small" }, ` ${hint}`) : ""), input);
    if (field.list) return label(h("textarea", { id, placeholder: "[ … ]" }), "list, JSON");
    switch (field.type) {
      case "message": return h("fieldset", {}, h("legend", {}, `${field.json}: ${field.detail.name}`), fieldInputs(field.detail, `${prefix}${field.json}.`));
      case "bool": return label(h("input", { id, type: "checkbox" }));
      case "enum": return label(h("select", { id }, field.detail.map((name) => h("option", { value: name }, name))));
      case "integer": return label(h("input", { id, type: "number", step: "1" }));
      case "float": return label(h("input", { id, type: "number", step: "any" }));
      case "json": return label(h("textarea", { id, placeholder: "{ … }" }), typeof field.detail === "string" ? field.detail : "JSON");
      case "bytes": return label(h("input", { id, type: "text", placeholder: "base64" }));
      default: return label(h("input", { id, type: "text" }));
    }
  });
}

/** The form's values for `schema` as the message's JSON; empty inputs are left out. */
function collect(schema, prefix) {
  const out = {};
  for (const field of schema.fields) {
    if (field.type === "message" && !field.list) {
      const inner = collect(field.detail, `${prefix}${field.json}.`);
      if (Object.keys(inner).length) out[field.json] = inner;
      continue;
    }
    const input = document.getElementById(`field-${prefix}${field.json}`);
    if (field.type === "bool" && !field.list) { if (input.checked) out[field.json] = true; continue; }
    const raw = input.value.trim();
    if (raw === "") continue;
    if (field.list || field.type === "json") {
      try { out[field.json] = JSON.parse(raw); } catch { throw new Error(`${field.json}: not valid JSON`); }
    } else if (field.type === "integer" || field.type === "float") out[field.json] = Number(raw);
    else out[field.json] = raw;
  }
  return out;
}

// ---- Live charts from /metrics ----------------------------------------------------------------

const COLORS = ["#4f46e5", "#e8590c", "#0ca678", "#d6336c", "#1c7ed6", "#f59f00", "#7048e8", "#099268"];

/** Per actor: calls, errors, and cumulative latency buckets, from the Prometheus text. */
function parseMetrics(text) {
  const actors = {};
  const entry = (name) => (actors[name] ??= { calls: 0, errors: 0, buckets: {} });
  for (const line of text.split("\n")) {
    const match = line.match(/^spawn_wasm_(invocations_total|invocation_duration_seconds_bucket)\{(.*)\} (\S+)/);
    if (!match) continue;
    const labels = Object.fromEntries([...match[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    const value = Number(match[3]);
    const actor = entry(labels.actor);
    if (match[1] === "invocations_total") {
      actor.calls += value;
      if (labels.outcome !== "ok") actor.errors += value;
    } else {
      const bound = labels.le === "+Inf" ? Infinity : Number(labels.le);
      actor.buckets[bound] = (actor.buckets[bound] ?? 0) + value;
    }
  }
  return actors;
}

/** The `q` quantile (ms) of the observations between two cumulative bucket sets. */
function quantile(q, before, after) {
  const bounds = Object.keys(after).map(Number).sort((x, y) => x - y);
  const counts = bounds.map((bound) => after[bound] - (before?.[bound] ?? 0));
  const total = counts[counts.length - 1];
  if (!total) return null;
  let lower = 0, below = 0;
  for (let i = 0; i < bounds.length; i++) {
    if (counts[i] >= q * total) {
      const upper = Number.isFinite(bounds[i]) ? bounds[i] : lower;
      const share = counts[i] === below ? 1 : (q * total - below) / (counts[i] - below);
      return (lower + (upper - lower) * share) * 1000;
    }
    lower = bounds[i]; below = counts[i];
  }
  return null;
}

async function poll() {
  refresh().catch(() => {});
  let text;
  try {
    const response = await fetch("/metrics");
    text = await response.text();
  } catch { return; }
  const now = performance.now();
  const snapshot = { at: now, actors: parseMetrics(text) };
  const previous = page.samples.at(-1);
  page.samples.push(snapshot);
  if (previous) {
    const seconds = (now - previous.at) / 1000;
    const point = {};
    for (const [name, actor] of Object.entries(snapshot.actors)) {
      const before = previous.actors[name];
      point[name] = {
        calls: (actor.calls - (before?.calls ?? 0)) / seconds,
        errors: (actor.errors - (before?.errors ?? 0)) / seconds,
        p50: quantile(0.5, before?.buckets, actor.buckets),
        p99: quantile(0.99, before?.buckets, actor.buckets),
      };
    }
    page.history.set(now, point);
    while (page.history.size > POINTS) page.history.delete(page.history.keys().next().value);
  }
  if (page.samples.length > 2) page.samples.shift();
  drawCharts();
}

function drawCharts() {
  const points = [...page.history.values()];
  const names = [...new Set(points.flatMap((point) => Object.keys(point)))].sort();
  for (const key of ["calls", "p50", "p99", "errors"]) {
    const canvas = document.getElementById(`chart-${key}`);
    if (!canvas) continue;
    const series = names.map((name) => points.map((point) => point[name]?.[key] ?? null));
    drawChart(canvas, series, names);
    const legend = document.getElementById(`legend-${key}`);
    legend.replaceChildren(...(names.length ? names.map((name, index) => {
      const last = series[index].filter((value) => value !== null).at(-1);
      return h("span", {}, h("i", { style: `background:${COLORS[index % COLORS.length]}` }), `${name} ${last == null ? "–" : last.toFixed(key.startsWith("p") ? 2 : 1)}`);
    }) : [h("span", {}, points.length ? "no calls yet" : "collecting…")]));
  }
}

function drawChart(canvas, series, names) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  canvas.width = width * ratio; canvas.height = height * ratio;
  const context = canvas.getContext("2d");
  context.scale(ratio, ratio);
  const styles = getComputedStyle(document.documentElement);
  const max = Math.max(0, ...series.flat().filter((value) => value !== null));
  const top = max > 0 ? max * 1.15 : 1;
  context.strokeStyle = styles.getPropertyValue("--line");
  context.fillStyle = styles.getPropertyValue("--muted");
  context.font = "11px system-ui";
  context.lineWidth = 1;
  for (const fraction of [0, 0.5, 1]) {
    const y = height - 14 - (height - 24) * fraction;
    context.beginPath(); context.moveTo(36, y); context.lineTo(width, y); context.stroke();
    context.fillText(formatTick(top * fraction), 0, y + 4);
  }
  const at = (i, value) => [36 + ((width - 40) * i) / Math.max(1, POINTS - 1), height - 14 - ((height - 24) * value) / top];
  series.forEach((values, index) => {
    context.strokeStyle = COLORS[index % COLORS.length];
    context.lineWidth = 1.8;
    context.beginPath();
    let drawing = false;
    values.forEach((value, i) => {
      if (value === null) { drawing = false; return; }
      const [x, y] = at(i, value);
      if (drawing) context.lineTo(x, y); else context.moveTo(x, y);
      drawing = true;
    });
    context.stroke();
    // Dots too, so that a lone sample between gaps shows.
    context.fillStyle = COLORS[index % COLORS.length];
    values.forEach((value, i) => {
      if (value === null) return;
      const [x, y] = at(i, value);
      context.beginPath(); context.arc(x, y, 2.2, 0, 2 * Math.PI); context.fill();
    });
  });
  if (names.length === 0) context.fillText("waiting for calls", width / 2 - 40, height / 2);
}

const formatTick = (value) => (value >= 100 ? value.toFixed(0) : value >= 1 ? value.toFixed(1) : value.toFixed(2));

start();
