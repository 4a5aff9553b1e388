/**
 * The component's `handler` export (`describe`, `handle`, `descriptors`) and `signatures`
 * export (each action's message types) for the actors the user's entry module declared. `spawn-wasm build` generates the entry point: it imports the
 * user's module, then this one, whose top level fixes the exported actors. componentize-js
 * runs all of that at build time and snapshots it, so an instance starts ready.
 */
import { type ActionEntry, type ActorContext, type ActorEntry, type ActorId, CREATED, REGISTERED } from "./actor.js";
import { absentPayload, type Any, BadPayload, declaredName, descriptorSet, initialState, pack, unpack } from "./protobuf.js";
import { pairs, unixMillis } from "./runtime.js";
import { describeError } from "./stack.js";
import { Value } from "./value.js";
import { serve } from "./warnings.js";

/** Where a string or byte string of the invocation lies in its `data`. */
interface Span {
  start: number;
  len: number;
}

interface AnySpan {
  typeUrl: Span;
  value: Span;
}

interface ActorIdSpan {
  name: Span;
  system: Span;
  parent: Span | undefined;
}

/** The host's `invocation` record (WIT 0.2): every string and byte string is a span of `data`. */
interface Invocation {
  data: Uint8Array;
  /** The actor's position in the list `describe` returned. */
  actor: number;
  action: Span;
  payload: AnySpan | undefined;
  state: AnySpan | undefined;
  selfId: ActorIdSpan;
  caller: ActorIdSpan | undefined;
  /** Metadata, then tags: the first `metadataCount` pairs are metadata. */
  pairs: Array<[Span, Span]>;
  metadataCount: number;
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
    stateType: declaredName(opts.stateType),
    initialTags: pairs(opts.tags),
  };
}

/** The actors in the order `describe` lists them: an invocation names its actor by position. */
const order = [...actors.values()];
const definitions = order.map(definition);

const utf8 = new TextDecoder("utf-8", { fatal: true });

function bytes(data: Uint8Array, span: Span): Uint8Array {
  return data.subarray(span.start, span.start + span.len);
}

function text(data: Uint8Array, span: Span): string {
  return utf8.decode(bytes(data, span));
}

function any(data: Uint8Array, span: AnySpan | undefined): Any | undefined {
  return span === undefined ? undefined : { typeUrl: text(data, span.typeUrl), value: bytes(data, span.value) };
}

function actorId(data: Uint8Array, id: ActorIdSpan): ActorId {
  const name = text(data, id.name);
  const system = text(data, id.system);
  return id.parent === undefined ? { name, system } : { name, system, parent: text(data, id.parent) };
}

function route(target: { actorName: string; action: string; ref?: string }) {
  return { actor: target.actorName, action: target.action, registerRef: target.ref };
}

/** When an effect runs: a `Date`, or a number of milliseconds from now (the Node SDK's
 * `scheduledTo: 1_000` is a delay). */
function effectTime(scheduledTo: Date | number | undefined): bigint | undefined {
  return unixMillis(typeof scheduledTo === "number" ? Date.now() + scheduledTo : scheduledTo);
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
    // Without a stateType, a message keeps its type and anything else is JSON (the Node SDK's default).
    state: pack(value._state, actor.opts.stateType, `the state of ${where}`, "json"),
    reply: value._reply ? pack(value._response, value._responseType ?? action.opts.responseType, `the response of ${where}`) : undefined,
    tags: value._tags === undefined ? undefined : pairs(value._tags),
    broadcast:
      broadcast === undefined
        ? undefined
        : { channel: broadcast.channel, payload: pack(broadcast.payload, undefined, "a broadcast's payload", "json") },
    effects: value._effects.map((effect) => ({
      actor: effect.actorName,
      action: effect.action,
      payload: pack(effect.payload, undefined, `the payload of an effect on ${effect.actorName}`, "json"),
      registerRef: effect.ref,
      scheduledTo: effectTime(effect.scheduledTo),
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
  serve();
  const actor = order[invocation.actor];
  if (actor === undefined) {
    throw { tag: "failed", val: `this component has no actor number ${invocation.actor}` } satisfies WitError;
  }
  const { data } = invocation;
  let name: string;
  try {
    name = text(data, invocation.action);
  } catch (error) {
    throw { tag: "bad-payload", val: `the host sent an action name that is not UTF-8: ${error}` } satisfies WitError;
  }
  const action = actor.actions.get(name);
  if (action === undefined) {
    throw { tag: "unknown-action", val: `actor ${actor.opts.name} has no action ${name}` } satisfies WitError;
  }
  let context: ActorContext;
  let payload: unknown;
  try {
    const entries = invocation.pairs.map(([key, value]): [string, string] => [text(data, key), text(data, value)]);
    const state = any(data, invocation.state);
    const input = any(data, invocation.payload);
    const metadata: Record<string, string> = Object.fromEntries(entries.slice(0, invocation.metadataCount));
    const [traceId, spanId] = traceparent(metadata.traceparent);
    context = {
      state: state === undefined || state.typeUrl === "" ? initialState(actor.opts.stateType) : unpack(state, actor.opts.stateType),
      caller: invocation.caller === undefined ? undefined : actorId(data, invocation.caller),
      self: actorId(data, invocation.selfId),
      metadata,
      tags: Object.fromEntries(entries.slice(invocation.metadataCount)),
      action: name,
      traceId,
      spanId,
    };
    payload = input !== undefined && input.typeUrl !== "" ? unpack(input, action.opts.payloadType) : absentPayload(action.opts.payloadType);
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

/** Each action's message types, from its `payloadType` and `responseType`:
 * with them, clients may send the input as a bare JSON object. */
const actionSignatures = [...actors.values()].flatMap((actor) =>
  [...actor.actions.values()]
    .map((action) => ({
      actor: actor.opts.name,
      action: action.opts.name,
      input: declaredName(action.opts.payloadType),
      output: declaredName(action.opts.responseType),
    }))
    .filter((signature) => signature.input !== undefined || signature.output !== undefined),
);

/** The `signatures` export. */
export const signatures = {
  signatures: () => actionSignatures,
};

/** The trace and span ids of a W3C `traceparent`, if it is one. */
function traceparent(value: string | undefined): [string | undefined, string | undefined] {
  const fields = (value ?? "").split("-");
  return fields.length >= 4 && fields[1].length === 32 && fields[2].length === 16 ? [fields[1], fields[2]] : [undefined, undefined];
}
