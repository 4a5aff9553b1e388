// One actor: its state, revision history with a diff and restore, definition, invoke form,
// and links to the requests that reached it.

import { Missing, Unauthorized, api } from "./api.js";
import { $, TYPE_PREFIX, h } from "./dom.js";
import { renderInvoke } from "./form.js";
import { requestsHash } from "./requests.js";

/** An action as people read it: with its types when it declares them. */
export function actionLabel(action) {
  if (typeof action === "string") return action;
  const input = action.input ?? action.input_type;
  const output = action.output ?? action.output_type;
  return `${action.name}(${input ?? ""})${output ? ` → ${output}` : ""}`;
}

/** Shows actor `name` of `host` (`{ about, actors, actorPath }`) in `#view`. */
export async function renderActor(name, host) {
  const actor = host.actors.find((candidate) => candidate.name === name);
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
    h("div", { class: "title-row" }, h("h1", {}, name),
      h("a", { class: "button", id: "actor-requests", href: requestsHash(null, name), title: `the last requests that reached ${name}` }, "requests")),
    h("p", { class: "muted" }, facts),
    ...(host.about.mode === "standalone" ? [h("div", { class: "grid" }, stateCard, invokeCard), historyCard]
      : [h("p", { class: "muted" }, "Sidecar mode: state, history and invocations belong to the Spawn proxy; this console shows modules, requests and metrics.")]),
    h("div", { class: "card" }, h("h2", {}, "Definition"), definitionOf(actor)),
  );
  if (host.about.mode !== "standalone") return;
  const invokePath = `${host.actorPath(actor.name)}/invoke`;
  renderInvoke(actor, invokeCard, { invokePath, afterInvoke: () => showState(actor, host) });
  await showState(actor, host);
}

function definitionOf(actor) {
  return h("table", { class: "facts" },
    h("tr", {}, h("th", {}, "actions"), h("td", {}, actor.actions.map((action) => h("span", { class: "tag" }, actionLabel(action))))),
    h("tr", {}, h("th", {}, "timers"), h("td", {}, actor.timers.map((timer) => `${timer.action} every ${timer.period_ms} ms`).join(", ") || "–")),
    h("tr", {}, h("th", {}, "channels"), h("td", {}, actor.channels.map((channel) => `${channel.topic} → ${channel.action || "receive"}`).join(", ") || "–")),
    // An unnamed actor's requests reach its instances, not its name: each links to its own.
    h("tr", {}, h("th", {}, "active instances"), h("td", { class: "mono" }, actor.active?.length
      ? actor.active.map((instance) => h("a", { class: "tag plain", href: requestsHash(null, instance), title: `the last requests that reached ${instance}` }, instance))
      : "–")),
    h("tr", {}, h("th", {}, "timeouts"), h("td", {}, `snapshot ${actor.snapshot_timeout_ms} ms, deactivation ${actor.deactivation_timeout_ms} ms`)));
}

/** The actor's state: from the state route with its revision, else its `get` action. */
async function currentState(name, host) {
  try {
    return await api(`${host.actorPath(name)}/state`);
  } catch (error) {
    if (!(error instanceof Missing)) throw error;
  }
  const reply = await api(`${host.actorPath(name)}/invoke`, { method: "POST", body: { actor: { id: { name } }, actionName: "get" } });
  return { revision: null, time_ms: null, state: reply?.value ?? null };
}

async function showState(actor, host) {
  const card = $("#state-card");
  if (!card) return;
  try {
    const current = await currentState(actor.name, host);
    card.replaceChildren(
      h("h2", {}, "State", current.revision != null ? h("span", { class: "muted", id: "state-revision" }, ` · revision ${current.revision}`) : ""),
      h("pre", { id: "state-json" }, current.state == null ? "(no state yet)" : JSON.stringify(current.state, null, 2)));
  } catch (error) {
    if (error instanceof Unauthorized) return;
    card.replaceChildren(h("h2", {}, "State"), h("div", { class: "error-box" }, error.message));
  }
  await showHistory(actor, host);
}

async function showHistory(actor, host) {
  const card = $("#history-card");
  if (!card) return;
  let revisions;
  try {
    revisions = (await api(`${host.actorPath(actor.name)}/state/history`)).revisions;
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
    const [a, b] = await Promise.all([left.value, right.value].map((revision) => api(`${host.actorPath(actor.name)}/state?revision=${revision}`)));
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
            : h("button", { class: "secondary restore", onclick: () => restore(actor, revision.revision, host) }, "Restore"))))),
    ...(revisions.length > 1
      ? [h("div", { class: "row" }, "Diff", left, "→", right), diffBox]
      : [h("p", { class: "muted small" }, "Each change of the state adds a revision; with two, their diff shows here.")]),
  );
  if (revisions.length > 1) await showDiff();
}

async function restore(actor, revision, host) {
  if (!confirm(`Make revision ${revision} the current state of ${actor.name}? (A new revision: it can be undone.)`)) return;
  try {
    await api(`/api/v1/system/${encodeURIComponent(host.about.system)}/actors/spawn?revision=${revision}`, {
      method: "POST",
      body: { actors: [{ name: actor.name, system: host.about.system }] },
    });
    await showState(actor, host);
  } catch (error) {
    if (!(error instanceof Unauthorized)) alert(`Restore failed: ${error.message}`);
  }
}

const pretty = (value) => (value == null ? "(no state)" : JSON.stringify(value, null, 2));

/** Cells the alignment of a changed block may take: past it (two states of thousands of
 *  changed lines each), the block is shown as removed then added, so that a big state cannot
 *  exhaust the page's memory. */
const ALIGN_CELLS = 1 << 20;

/** A line diff of two texts, as rows: the common head and tail kept as they are, the changed
 *  block between aligned by longest common subsequence when small enough. */
function diffLines(before, after) {
  const a = before.split("\n"), b = after.split("\n");
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const same = (line) => h("div", {}, `  ${line}`);
  return [
    ...a.slice(0, head).map(same),
    ...changedBlock(a.slice(head, a.length - tail), b.slice(head, b.length - tail)),
    ...a.slice(a.length - tail).map(same),
  ];
}

/** The rows of a changed block: `a`'s lines removed and `b`'s added, aligned where they agree. */
function changedBlock(a, b) {
  const removed = (line) => h("div", { class: "del" }, `- ${line}`);
  const added = (line) => h("div", { class: "add" }, `+ ${line}`);
  if ((a.length + 1) * (b.length + 1) > ALIGN_CELLS) {
    return [h("div", { class: "muted small" }, `(${a.length} lines changed to ${b.length}: too many to align)`),
      ...a.map(removed), ...b.map(added)];
  }
  const width = b.length + 1;
  const lengths = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lengths[i * width + j] = a[i] === b[j]
        ? lengths[(i + 1) * width + j + 1] + 1
        : Math.max(lengths[(i + 1) * width + j], lengths[i * width + j + 1]);
    }
  }
  const rows = [];
  let i = 0, j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) { rows.push(h("div", {}, `  ${a[i]}`)); i++; j++; }
    else if (i < a.length && (j === b.length || lengths[(i + 1) * width + j] >= lengths[i * width + j + 1])) { rows.push(removed(a[i])); i++; }
    else { rows.push(added(b[j])); j++; }
  }
  return rows;
}
