/**
 * Calling other actors from an action and writing to the host's log, through the WIT
 * `runtime` imports. The Node SDK's `invoke` and `spawnActor` return promises; here the
 * host answers before they return, so `await` costs nothing. Outside an action (a program's
 * client code, run at build time) they do nothing and `spawn-wasm build` warns.
 */
import * as host from "spawn:actor/runtime@0.2.0";

import { type PayloadType, pack, unpack } from "./protobuf.js";
import type { Payload } from "./value.js";
import { building, warn } from "./warnings.js";

/** How to invoke an actor (the Node SDK's `InvokeOpts`). */
export interface InvokeOpts {
  /** The action to run. */
  action: string;
  /** Accepted for compatibility: calls stay in the caller's actor system. */
  system?: string;
  /** The reply's expected type (checked); without it the reply is decoded by its type URL
   * (a JSON document as its value). */
  response?: PayloadType;
  /** A message, a `PayloadRef`, or any other value, sent as JSON. */
  payload?: Payload;
  /** Fire and forget: resolves at once with `null`. */
  async?: boolean;
  /** Accepted for compatibility (pooled actors are served as named ones). */
  pooled?: boolean;
  metadata?: Record<string, string>;
  /** Spawn the actor from this unnamed actor first, if it does not exist yet. */
  ref?: string;
  /** Run at this time (implies async); a number is absolute Unix milliseconds. */
  scheduledTo?: Date | number;
  /** Run this many milliseconds from now (implies async). */
  delay?: number;
}

/** Absolute Unix milliseconds, as the WIT records carry them. */
export function unixMillis(when: Date | number | undefined): bigint | undefined {
  if (when === undefined) {
    return undefined;
  }
  return BigInt(Math.trunc(when instanceof Date ? when.getTime() : when));
}

/** Metadata or tags as the WIT's ordered pairs. */
export function pairs(map: Record<string, string> | undefined): Array<[string, string]> {
  return Object.entries(map ?? {})
    .map(([key, value]): [string, string] => [String(key), String(value)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The message of an error the host returned through a WIT `result`. */
export function hostMessage(error: unknown): string {
  if (typeof error === "object" && error !== null && "payload" in error) {
    return String((error as { payload: unknown }).payload);
  }
  return error instanceof Error ? error.message : String(error);
}

/** Invoke `action` on `actorName`; resolves with its decoded reply (`null` for no reply or
 * an async call), rejects with the runtime's error. */
export async function invoke(actorName: string, opts: InvokeOpts): Promise<any> {
  if (building()) {
    warn(
      `spawn.invoke('${actorName}', { action: '${opts?.action}' }) outside an action does nothing: in a component the host runs actions only; invoke from an action, or from a client of the host's API`,
    );
    return null;
  }
  const scheduledTo = opts.delay !== undefined ? Date.now() + opts.delay : opts.scheduledTo;
  const request: host.InvokeRequest = {
    actor: actorName,
    action: opts.action,
    payload: pack(opts.payload, undefined, `the payload of ${actorName}.${opts.action}`, "json"),
    metadata: pairs(opts.metadata),
    async: Boolean(opts.async) || scheduledTo !== undefined,
    scheduledTo: unixMillis(scheduledTo),
    registerRef: opts.ref,
  };
  let reply: host.Any | undefined;
  try {
    reply = host.invoke(request);
  } catch (error) {
    throw new Error(`invoking ${actorName}.${opts.action} failed: ${hostMessage(error)}`);
  }
  return reply === undefined ? null : unpack(reply, opts.response);
}

/** Spawn an instance named `actorName` of the unnamed actor `opts.actorRef`. */
export async function spawnActor(actorName: string, opts: { actorRef: string; system?: string }): Promise<void> {
  if (building()) {
    warn(
      `spawn.spawnActor('${actorName}', { actorRef: '${opts?.actorRef}' }) outside an action does nothing: in a component the host runs actions only; spawn from an action, or from a client of the host's API`,
    );
    return;
  }
  try {
    host.spawn(actorName, opts.actorRef);
  } catch (error) {
    throw new Error(`spawning ${actorName} from ${opts.actorRef} failed: ${hostMessage(error)}`);
  }
}

/** Log levels of the host's log. */
export type LogLevel = host.LogLevel;

/** Write `message` to the host's log, tagged with the running actor and action. */
export function log(message: string, level: LogLevel = "info"): void {
  host.log(level, String(message));
}
