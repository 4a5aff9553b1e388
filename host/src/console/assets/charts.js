// Live charts per actor from the host's own /metrics: rates and latency quantiles from the
// differences between two scrapes of its counters and histograms, drawn on canvases.

import { h } from "./dom.js";

/** How often the page scrapes /metrics. */
export const POLL_MS = 2000;
const POINTS = 60;
/** The last scrape, and the points computed so far (time → actor → values). */
const samples = { last: null, points: new Map() };

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

/** Scrapes /metrics once and adds a point to every chart. */
export async function sample() {
  let text;
  try {
    const response = await fetch("/metrics");
    text = await response.text();
  } catch { return; }
  const now = performance.now();
  const snapshot = { at: now, actors: parseMetrics(text) };
  const previous = samples.last;
  samples.last = snapshot;
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
    samples.points.set(now, point);
    while (samples.points.size > POINTS) samples.points.delete(samples.points.keys().next().value);
  }
  drawCharts();
}

/** Draws the charts present in the page. */
export function drawCharts() {
  const points = [...samples.points.values()];
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
