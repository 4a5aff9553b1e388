// The host's JSON routes, with the token: kept in sessionStorage, asked for on a 401.

import { $ } from "./dom.js";

export const TOKEN_KEY = "spawn-wasm-token";

export class Unauthorized extends Error {}
export class Missing extends Error {}

/** Fetches `path` with the token; JSON in and out. Throws `Unauthorized` on 401 (after
 * asking for a token), `Missing` when the route does not exist on this host. */
export async function api(path, { method = "GET", body } = {}) {
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
