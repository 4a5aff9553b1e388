/**
 * The component's `handler` export (`describe`, `handle`, `descriptors`) and `signatures`
 * export (each action's message types) for the actors the user's entry module declared. `spawn-wasm build` generates the entry point: it imports the
 * user's module, then this one, whose top level fixes the exported actors. componentize-js
 * runs all of that at build time and snapshots it, so an instance starts ready.
 */
import { type ActionEntry, type ActorContext, type ActorEntry, type ActorId, CREATED, REGISTERED } from "./actor.js";
import { type Any, BadPayload, descriptorSet, pack, unpack } from "./protobuf.js";
import { pairs, unixMillis } from "./runtime.js";
import { describeError } from "./stack.js";
import { Value } from "./value.js";

interface WitActorId {
  name: string;
  system: string;
  parent: string | undefined;
}

interface Invocation {
  actor: string;
  action: string;
  payload: Any | undefined;
  state: Any | undefined;
  selfId: WitActorId;
  caller: WitActorId | undefined;
  metadata: Array<[string, string]>;
  tags: Array<[string, string]>;
}

/** A turn's failure, as the WIT `error` variant. */
type WitError = { tag: "unknown-action" | "bad-payload" | "failed"; val: string };

const RECEIVE = "receive";

const actors = new Map<string, ActorEntry>();
for (const actor of REGISTERED ?? CREATED) {
  if (actors.has(actor.opts.name)) {
    throw new Error(`two actors are named ${actor.opts.name}`);
  }
  actors.set(actor.opts.name, actor);
}
if (actors.size === 0) {
  throw new Error("the entry module declares no actor: createSystem().buildActor({ name: ... })");
}

function channels(actor: ActorEntry) {
  return (actor.opts.channels ?? []).map((channel) =>
    typeof channel === "string" ? { topic: channel, action: RECEIVE } : { topic: channel.topic, action: channel.action ?? RECEIVE },
  );
}

function definition(actor: ActorEntry) {
  const { opts } = actor;
  const timers = [...actor.actions.values()].filter((action) => action.opts.timer !== undefined);
  const actions = [...actor.actions.keys()].filter((name) => actor.actions.get(name)!.opts.timer === undefined);
  return {
    name: opts.name,
    kind: opts.kind ?? "named",
    stateful: opts.stateful ?? true,
    actions,
    timerActions: timers.map((timer) => ({ action: timer.opts.name, periodMs: timer.opts.timer! })),
    channels: channels(actor),
    snapshotTimeoutMs: BigInt(opts.snapshotTimeout ?? 0),
    deactivationTimeoutMs: BigInt(opts.deactivatedTimeout ?? 0),
    minPoolSize: opts.minPoolSize ?? 0,
    maxPoolSize: opts.maxPoolSize ?? 0,
    stateType: opts.stateType?.typeName,
    initialTags: pairs(opts.tags),
  };
}

const definitions = [...actors.values()].map(definition);

function actorId(id: WitActorId): ActorId {
  return id.parent === undefined ? { name: id.name, system: id.system } : { name: id.name, system: id.system, parent: id.parent };
}

function route(target: { actorName: string; action: string; ref?: string }) {
  return { actor: target.actorName, action: target.action, registerRef: target.ref };
}

function toWit(actor: ActorEntry, action: ActionEntry, value: unknown) {
  if (value === undefined || value === null) {
    value = Value.of().noReply();
  }
  if (!(value instanceof Value)) {
    throw new TypeError(`an action returns a Value (Value.of()...), not ${typeof value}`);
  }
  const where = `${actor.opts.name}.${action.opts.name}`;
  const broadcast = value._broadcast;
  if (broadcast !== undefined && !broadcast.channel) {
    throw new TypeError("a Broadcast needs a channel");
  }
  const routing = value._routing;
  return {
    state: pack(value._state, actor.opts.stateType, `the state of ${where}`),
    reply: value._reply ? pack(value._response, value._responseType ?? action.opts.responseType, `the response of ${where}`) : undefined,
    tags: value._tags === undefined ? undefined : pairs(value._tags),
    broadcast:
      broadcast === undefined ? undefined : { channel: broadcast.channel, payload: pack(broadcast.payload, undefined, "a broadcast's payload") },
    effects: value._effects.map((effect) => ({
      actor: effect.actorName,
      action: effect.action,
      payload: pack(effect.payload, undefined, `the payload of an effect on ${effect.actorName}`),
      registerRef: effect.ref,
      scheduledTo: unixMillis(effect.scheduledTo),
      metadata: pairs(effect.metadata),
    })),
    routing:
      routing === undefined
        ? undefined
        : "pipe" in routing
          ? { tag: "pipe", val: route(routing.pipe) }
          : { tag: "forward", val: route(routing.forward) },
    checkpoint: value._checkpoint,
  };
}

function failed(error: unknown): WitError {
  if (error instanceof BadPayload) {
    return { tag: "bad-payload", val: error.message };
  }
  return { tag: "failed", val: describeError(error) };
}

function run(invocation: Invocation) {
  const actor = actors.get(invocation.actor);
  if (actor === undefined) {
    throw { tag: "failed", val: `this component has no actor ${invocation.actor}` } satisfies WitError;
  }
  const action = actor.actions.get(invocation.action);
  if (action === undefined) {
    throw { tag: "unknown-action", val: `actor ${actor.opts.name} has no action ${invocation.action}` } satisfies WitError;
  }
  let context: ActorContext;
  let payload: unknown;
  try {
    context = {
      state: invocation.state === undefined ? undefined : unpack(invocation.state, actor.opts.stateType),
      caller: invocation.caller === undefined ? undefined : actorId(invocation.caller),
      self: actorId(invocation.selfId),
      metadata: Object.fromEntries(invocation.metadata),
      tags: Object.fromEntries(invocation.tags),
      action: invocation.action,
    };
    payload =
      invocation.payload !== undefined
        ? unpack(invocation.payload, action.opts.payloadType)
        : action.opts.payloadType?.create();
  } catch (error) {
    throw failed(error);
  }
  const fail = (error: unknown) => {
    throw failed(error);
  };
  try {
    const result = action.callback(context, payload);
    if (result instanceof Promise) {
      // componentize-js runs the event loop until the export's promise settles.
      return result.then((value) => toWit(actor, action, value)).catch(fail);
    }
    return toWit(actor, action, result);
  } catch (error) {
    return fail(error);
  }
}

/** The `handler` export. */
export const handler = {
  describe: () => definitions,
  handle: run,
  descriptors: descriptorSet,
};

/** Each action's message types, from its `payloadType` and `responseType` (WIT 0.1.1):
 * with them, clients may send the input as a bare JSON object. */
const actionSignatures = [...actors.values()].flatMap((actor) =>
  [...actor.actions.values()]
    .filter((action) => action.opts.payloadType !== undefined || action.opts.responseType !== undefined)
    .map((action) => ({
      actor: actor.opts.name,
      action: action.opts.name,
      input: action.opts.payloadType?.typeName,
      output: action.opts.responseType?.typeName,
    })),
);

/** The `signatures` export. */
export const signatures = {
  signatures: () => actionSignatures,
};
