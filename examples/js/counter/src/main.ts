/**
 * `js_counter` (named, stateful, state `domain.Counter`), in TypeScript:
 * - `increment(Increment)`: adds `by` and replies the new `Counter`;
 * - `incrementDurably(Increment)`: the same, persisted before the reply (checkpoint);
 * - `fail(Request)`: throws, to show an error reaching the caller with its stack.
 *
 * `js_ticker` (named, stateful, state `domain.Counter`): the timer action `tick` counts every
 * 200 ms while the actor is active (it is activated at start, being named and stateful).
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
  .addAction({ name: "increment", payloadType: Increment, responseType: Counter }, increment)
  .addAction({ name: "incrementDurably", payloadType: Increment, responseType: Counter }, (context, request: Increment) =>
    increment(context, request).checkpoint(),
  )
  .addAction({ name: "fail", payloadType: Request }, (_context, request: Request) => refuse(request.language));

system
  .buildActor({ name: "js_ticker", stateType: Counter, stateful: true })
  .addAction({ name: "tick", timer: 200 }, (context: ActorContext<Counter | undefined>) =>
    Value.of<Counter>().state(Counter.create({ value: (context.state?.value ?? 0n) + 1n })),
  );

system.register();
