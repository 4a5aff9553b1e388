/**
 * spawn-wasm's JavaScript and TypeScript SDK: Spawn actors in the Spawn Node SDK's
 * vocabulary, compiled to WebAssembly components by `spawn-wasm build`.
 *
 * ```ts
 * import spawn, { ActorContext, Value } from "spawn-wasm";
 * import { Counter, Increment } from "@proto/domain";
 *
 * const system = spawn.createSystem();
 * system
 *   .buildActor({ name: "counter", stateType: Counter, stateful: true })
 *   .addAction({ name: "increment", payloadType: Increment }, (ctx: ActorContext<Counter>, by: Increment) => {
 *     const next = Counter.create({ value: (ctx.state?.value ?? 0n) + by.by });
 *     return Value.of<Counter, Counter>().state(next).response(next);
 *   });
 * system.register();
 * ```
 *
 * The same names are importable as `@eigr/spawn-sdk`, the Node SDK's package.
 */
import { createSystem } from "./actor.js";
import { payloadFor } from "./protobuf.js";
import { invoke, spawnActor } from "./runtime.js";

export {
  Kind,
  createSystem,
  type ActorActionCallback,
  type ActorActionOpts,
  type ActorBuilder,
  type ActorCallbackConnector,
  type ActorContext,
  type ActorId,
  type ActorOpts,
  type Channel,
  type IActorOpts,
  type SpawnSystem,
} from "./actor.js";
export {
  BadPayload,
  messageType,
  pack,
  payloadFor,
  unpack,
  type Any,
  type MessageType,
  type PayloadRef,
  type PayloadType,
} from "./protobuf.js";
export { Noop } from "./spawn_messages.js";
export { invoke, log, spawnActor, type InvokeOpts, type LogLevel } from "./runtime.js";
export { Value, type Broadcast, type Effect, type Forward, type Payload, type Pipe } from "./value.js";

/** The Node SDK's default export. */
const spawn = { createSystem, invoke, spawnActor, payloadFor };
export default spawn;
