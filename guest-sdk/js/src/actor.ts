/**
 * Declaring actors as the Spawn Node SDK does: `createSystem()`, `buildActor(opts)`,
 * `addAction(opts, callback)`, `register()`. Inside a component the network is the host's
 * business: `register()` only fixes which actors the component exports.
 */
import type { PayloadType } from "./protobuf.js";
import type { Value } from "./value.js";
import { warn } from "./warnings.js";

/** How the runtime addresses an actor. */
export const Kind = { NAMED: "named", UNNAMED: "unnamed", POOLED: "pooled", TASK: "task" } as const;
/** One of `Kind`'s values. */
export type Kind = (typeof Kind)[keyof typeof Kind];

/** A subscription: a broadcast on `topic` invokes `action` (default `receive`). */
export interface Channel {
  topic: string;
  action?: string;
}

/** An actor's settings (the Node SDK's `ActorOpts`). Timeouts are in milliseconds; unset
 * means the runtime's default. */
export interface ActorOpts {
  name: string;
  /** The state's message type: the context's `state` is decoded as it, and a `Value`'s
   * plain-object state is encoded as it. `'json'` (what no `stateType` means too, as in the
   * Node SDK): any JSON value. */
  stateType?: PayloadType;
  kind?: Kind;
  stateful?: boolean;
  snapshotTimeout?: number | bigint;
  deactivatedTimeout?: number | bigint;
  channels?: Array<string | Channel>;
  /** Tags an instance starts with. */
  tags?: Record<string, string>;
  minPoolSize?: number;
  maxPoolSize?: number;
}

/** The Node SDK's name for `ActorOpts`. */
export type IActorOpts = ActorOpts;

/** An actor instance's identity. */
export interface ActorId {
  name: string;
  system: string;
  parent?: string;
}

/** What an action sees of its turn. */
export interface ActorContext<S = any> {
  /** The decoded state; before the first one, the `stateType`'s empty message (`{}` for
   * JSON state), as the Node SDK registers it. */
  state: S;
  /** Who invoked the action, when known. */
  caller?: ActorId;
  /** This instance. */
  self: ActorId;
  metadata: Record<string, string>;
  tags: Record<string, string>;
  /** The action running. */
  action: string;
  /** The W3C trace id (32 hex digits) of this turn's trace, from the `traceparent` the host
   * puts in its metadata, to log or pass to systems outside Spawn. */
  traceId?: string;
  /** This turn's span id (16 hex digits): the parent of the calls it makes. */
  spanId?: string;
}

/** An action's options (the Node SDK's `ActorActionOpts`). `timer` makes it a timer action
 * run every `timer` milliseconds while the actor is active. */
export interface ActorActionOpts {
  name: string;
  /** The payload's type; without it the payload is decoded as the type its URL names. */
  payloadType?: PayloadType;
  /** The type of a plain-object response. */
  responseType?: PayloadType;
  timer?: number;
}

/** An action: takes the context and the decoded payload, returns a `Value` (or nothing, to
 * keep the state and reply nothing), possibly through a promise. */
export type ActorActionCallback<S = any, P = any> = (
  context: ActorContext<S>,
  payload: P,
) => Value<any, any> | void | Promise<Value<any, any> | void>;

/** The Node SDK's record of an action and its types (kept for programs that name the type). */
export interface ActorCallbackConnector {
  stateType: PayloadType;
  payloadType: PayloadType;
  responseType: PayloadType;
  callback: ActorActionCallback;
}

/** One declared action. */
export interface ActionEntry {
  opts: ActorActionOpts;
  callback: ActorActionCallback;
}

/** One declared actor. */
export interface ActorEntry {
  opts: ActorOpts;
  actions: Map<string, ActionEntry>;
}

/** Every actor built, in order: a component whose code never calls `register()` exports
 * all of them. */
export const CREATED: ActorEntry[] = [];
/** The actors of the systems registered so far; `undefined` before the first `register()`. */
export let REGISTERED: ActorEntry[] | undefined;

/** What `buildActor` returns. */
export interface ActorBuilder {
  /** Declare an action; returns the builder, so that calls chain. */
  addAction(opts: ActorActionOpts, callback: ActorActionCallback): ActorBuilder;
}

/** An actor system (the Node SDK's `SpawnSystem`). */
export interface SpawnSystem {
  buildActor(opts: ActorOpts): ActorBuilder;
  /** Export this system's actors from the component. */
  register(): Promise<{ status: { message: string } }>;
  /** Nothing to release inside a component. */
  destroy(): Promise<void>;
}

const KINDS = new Set<string>(Object.values(Kind));

function checkName(what: string, name: unknown): asserts name is string {
  if (typeof name !== "string" || name.length === 0) {
    throw new TypeError(`${what} needs a non-empty name`);
  }
}

/** Create the actor system; `name` is accepted for compatibility (the host's system is used). */
export function createSystem(name = "spawn-system"): SpawnSystem {
  const actors: ActorEntry[] = [];
  void name;
  return {
    buildActor(opts) {
      checkName("an actor", opts?.name);
      if (opts.kind !== undefined && !KINDS.has(opts.kind)) {
        throw new TypeError(`actor ${opts.name}: kind must be one of Kind.NAMED, UNNAMED, POOLED, TASK, not ${String(opts.kind)}`);
      }
      if (opts.kind === Kind.POOLED) {
        warn(
          `actor ${opts.name} is pooled: \`spawn-wasm standalone\` serves it as a named actor; the Spawn proxy does not support pooled actors, so \`spawn-wasm sidecar\` refuses this component`,
        );
      }
      const entry: ActorEntry = { opts: { ...opts }, actions: new Map() };
      actors.push(entry);
      CREATED.push(entry);
      const builder: ActorBuilder = {
        addAction(actionOpts, callback) {
          checkName(`an action of ${opts.name}`, actionOpts?.name);
          if (typeof callback !== "function") {
            throw new TypeError(`action ${opts.name}.${actionOpts.name} needs a callback function`);
          }
          if (actionOpts.timer !== undefined && !(Number.isInteger(actionOpts.timer) && actionOpts.timer > 0)) {
            throw new TypeError(`timer action ${opts.name}.${actionOpts.name}: timer is a positive number of milliseconds`);
          }
          if (entry.actions.has(actionOpts.name)) {
            throw new Error(`actor ${opts.name} defines action ${actionOpts.name} twice`);
          }
          entry.actions.set(actionOpts.name, { opts: { ...actionOpts }, callback });
          return builder;
        },
      };
      return builder;
    },
    async register() {
      REGISTERED = [...(REGISTERED ?? []), ...actors.filter((actor) => !REGISTERED?.includes(actor))];
      return { status: { message: "Accepted" } };
    },
    async destroy() {},
  };
}
