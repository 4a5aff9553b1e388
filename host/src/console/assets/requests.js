// The requests view: the last requests the host kept in memory (GET /v1/requests), and one
// request's path through the actors as a waterfall of its spans (GET /v1/requests/{trace}).
// Its address, `#/requests[/TRACE][?actor=INSTANCE]`, names the chosen request and the
// filter, so that both survive a reload and can be linked to (the actor page does).

import { Unauthorized, api } from "./api.js";
import { $, h } from "./dom.js";

/** The address of the view: request `trace` chosen (or none), only those that reached
 *  actor instance `instance` listed (or all). */
export function requestsHash(trace, instance) {
  const path = trace ? `#/requests/${encodeURIComponent(trace)}` : "#/requests";
  return instance ? `${path}?actor=${encodeURIComponent(instance)}` : path;
}

/** What `hash` asks of the view (`{ trace, instance }`), or `null` if it is another view's. */
export function requestsRoute(hash) {
  const [path, query] = hash.split("?");
  const match = path.match(/^#\/requests(?:\/([^/]+))?$/);
  if (!match) return null;
  const trace = match[1] ? decodeURIComponent(match[1]) : null;
  return { trace, instance: new URLSearchParams(query ?? "").get("actor") };
}

/** Shows the view for `route` (from `requestsRoute`) in `#view`. */
export async function renderRequests(route) {
  const { trace, instance } = route;
  const hash = location.hash;
  const listCard = h("div", { class: "card" }, h("p", { class: "muted" }, "loading…"));
  const waterfallCard = trace ? h("div", { class: "card" }, h("p", { class: "muted" }, "loading…")) : null;
  $("#view").replaceChildren(
    h("div", { class: "title-row" }, h("h1", {}, "Requests"),
      h("button", { class: "secondary", id: "requests-refresh", onclick: () => renderRequests(route) }, "Refresh")),
    h("p", { class: "muted" }, "The last requests' spans, kept in memory by the host (no collector needed), newest first. Choose one to see its path through the actors."),
    ...(instance ? [h("p", { id: "requests-filter" }, "Only requests that reached ",
      h("span", { class: "tag" }, instance), " · ", h("a", { href: requestsHash(trace, null) }, "show all"))] : []),
    listCard,
    ...(trace ? [waterfallCard] : []),
  );
  const listPath = instance ? `/v1/requests?actor=${encodeURIComponent(instance)}` : "/v1/requests";
  const [list, chosen] = await Promise.allSettled([api(listPath), trace && api(`/v1/requests/${encodeURIComponent(trace)}`)]);
  // Another view (or another request) may have been chosen meanwhile.
  if (location.hash !== hash) return;
  fill(listCard, list, (records) => requestList(records, trace, instance));
  if (trace) fill(waterfallCard, chosen, waterfall);
}

/** Fills `card` with `show(value)` of a settled fetch, or with its error. */
function fill(card, settled, show) {
  if (settled.status === "fulfilled") card.replaceChildren(...[show(settled.value)].flat());
  else if (!(settled.reason instanceof Unauthorized)) card.replaceChildren(h("div", { class: "error-box" }, settled.reason.message));
}

// ---- The list -----------------------------------------------------------------------------

function requestList(records, chosen, instance) {
  if (records.length === 0) {
    return h("p", { class: "muted" }, instance ? `No kept request reached ${instance}.` : "No requests yet: invoke an actor.");
  }
  const summaries = records.map(summarize).sort((a, b) => b.start - a.start);
  return h("div", { class: "scroll" }, h("table", { id: "requests" },
    h("tr", {}, ["", "request", "instance", "started", "duration", "spans"].map((name) => h("th", {}, name))),
    summaries.map((summary) =>
      h("tr", { "data-trace": summary.trace, class: summary.trace === chosen ? "current" : null },
        h("td", {}, outcome(summary.failure)),
        h("td", {},
          h("a", { href: requestsHash(summary.trace, instance), class: "mono" }, summary.label),
          summary.failure ? h("div", { class: "error small clip", title: summary.failure.error }, summary.failure.error) : null),
        h("td", { class: "mono" }, summary.instance ?? "–"),
        h("td", { class: "nowrap" }, clock(summary.start)),
        h("td", { class: "nowrap" }, ms(summary.total)),
        h("td", {}, spanCount(summary))))));
}

const outcome = (failure) => (failure
  ? h("span", { class: "tag bad", title: failure.error }, "failed")
  : h("span", { class: "tag ok" }, "ok"));

const spanCount = ({ spans, omitted }) => (omitted ? `${spans} (+${omitted} left out)` : String(spans));

/** A request as the list and the waterfall show it: its spans in tree order (`rows`) and
 *  what they add up to. */
function summarize(record) {
  const { rows, start, total } = layout(record.spans);
  const root = rows[0].span;
  const turn = rows.find((row) => kindOf(row.span.name) === "turn")?.span;
  return {
    rows,
    trace: record.trace_id,
    label: turn && turn !== root ? `${root.name} → ${turn.name}` : root.name,
    instance: root.instance,
    start,
    total,
    spans: record.spans.length,
    omitted: record.omitted,
    // The outermost failure: what the request's sender saw.
    failure: rows.find((row) => row.span.error)?.span,
  };
}

// ---- The waterfall ------------------------------------------------------------------------

/** Every span a row: children under their parents, each a bar on the request's time line. */
function waterfall(record) {
  const summary = summarize(record);
  const { rows, start, total } = summary;
  const percent = (us) => `${((us / total) * 100).toFixed(3)}%`;
  return [
    h("h2", {}, summary.label, " ", outcome(summary.failure)),
    h("p", { class: "muted small" }, `trace ${record.trace_id} · started ${clock(start)} · ${ms(total)} · ${summary.spans} span${summary.spans === 1 ? "" : "s"}`),
    h("div", { id: "waterfall" },
      h("div", { class: "span-row axis muted small" },
        h("span", {}, "span"), h("span", {}, "instance"),
        h("span", { class: "span-ticks" }, h("span", {}, "0"), h("span", {}, ms(total / 2)), h("span", {}, ms(total))),
        h("span", {}, "")),
      rows.map(({ span, depth }) => {
        const at = span.start_us - start;
        const title = `${span.name}${span.instance ? ` on ${span.instance}` : ""}: at +${ms(at)}, ${ms(span.duration_us)}`
          + (span.error ? `; failed: ${span.error}` : "");
        return h("div", { class: `span-row${span.error ? " failed" : ""}`, "data-span": span.span_id, "data-depth": depth, title },
          h("div", { class: "span-name", style: `padding-left:${depth * 18}px` },
            h("span", { class: "span-label mono" }, span.name),
            span.error ? h("div", { class: "span-error small clip" }, span.error) : null),
          h("span", { class: "span-instance mono" }, span.instance ?? ""),
          h("div", { class: "span-track" },
            h("div", { class: `span-bar ${kindOf(span.name)}`, style: `left:${percent(at)};width:${percent(span.duration_us)}` })),
          h("span", { class: "span-ms nowrap" }, ms(span.duration_us)));
      })),
    ...(record.omitted ? [h("p", { class: "muted small" }, `${record.omitted} later spans were left out: a request keeps a bounded number.`)] : []),
  ];
}

/** The spans in tree order with their depth (a span whose parent is not among them, such
 *  as the request's root under its client's span, is a root), siblings by start; and the
 *  request's first start and total time (µs, at least 1). */
function layout(spans) {
  const ids = new Set(spans.map((span) => span.span_id));
  const children = new Map();
  const roots = [];
  for (const span of [...spans].sort((a, b) => a.start_us - b.start_us)) {
    if (span.parent_id && ids.has(span.parent_id)) {
      if (!children.has(span.parent_id)) children.set(span.parent_id, []);
      children.get(span.parent_id).push(span);
    } else roots.push(span);
  }
  const rows = [];
  const visit = (span, depth) => {
    rows.push({ span, depth });
    for (const child of children.get(span.span_id) ?? []) visit(child, depth + 1);
  };
  roots.forEach((root) => visit(root, 0));
  const start = Math.min(...spans.map((span) => span.start_us));
  const end = Math.max(...spans.map((span) => span.start_us + span.duration_us));
  return { rows, start, total: Math.max(1, end - start) };
}

/** What a span stands for, from its name: the request (`invoke`), a turn (`actor.action`),
 *  a call to another actor (`call actor.action`), or input/output (`HTTP GET`, `state save`). */
function kindOf(name) {
  if (name === "invoke") return "request";
  if (name.startsWith("call ")) return "call";
  return /^\S+\.\S+$/.test(name) ? "turn" : "io";
}

/** A duration given in µs, in ms. */
function ms(us) {
  const value = us / 1000;
  return `${value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : Math.round(value)} ms`;
}

/** A Unix time given in µs, as the local time of day to the millisecond. */
const clock = (us) => new Date(us / 1000).toLocaleTimeString(undefined,
  { hour: "2-digit", minute: "2-digit", second: "2-digit", fractionalSecondDigits: 3, hour12: false });
