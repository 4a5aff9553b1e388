// The `actor_name` actor: counts greetings in its state.
import spawn, { type ActorContext, Value } from "spawn-wasm";
import { Greet, Greeting, State } from "@proto/actor_name";

const system = spawn.createSystem("spawn-system");

system
  .buildActor({ name: "actor_name", stateType: State, stateful: true })
  .addAction({ name: "greet", payloadType: Greet, responseType: Greeting }, (context: ActorContext<State | undefined>, request: Greet) => {
    const greetings = (context.state?.greetings ?? 0n) + 1n;
    return Value.of<State, Greeting>()
      .state({ greetings })
      .response(Greeting, { text: `Hello, ${request.name}! (${greetings} greetings so far)` });
  });

system.register();
