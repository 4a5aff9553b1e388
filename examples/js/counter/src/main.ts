/**
 * `js_counter` (named, stateful, state `domain.Counter`), in TypeScript:
 * - `increment(Increment)`: adds `by` and replies the new `Counter`;
 * - `incrementDurably(Increment)`: the same, persisted before the reply (checkpoint);
 * - `fail(Request)`: throws, to show an error reaching the caller with its stack.
 */
import spawn, { type ActorContext, Value } from "spawn-wasm";
import { Counter, Increment, Request } from "@proto/domain";

const system = spawn.createSystem("spawn-system");

function increment(context: ActorContext<Counter | undefined>, request: Increment): Value<Counter, Counter> {
  const next = Counter.create({ value: (context.state?.value ?? 0n) + request.by });
  return Value.of<Counter, Counter>().state(next).response(next);
}

function refuse(language: string): never {
  throw new RangeError(`no language like ${language}`);
}

system
  .buildActor({ name: "js_counter", stateType: Counter, stateful: true })
  .addAction({ name: "increment", payloadType: Increment }, increment)
  .addAction({ name: "incrementDurably", payloadType: Increment }, (context, request: Increment) =>
    increment(context, request).checkpoint(),
  )
  .addAction({ name: "fail", payloadType: Request }, (_context, request: Request) => refuse(request.language));

system.register();
