// `js_bridge` and `js_abs_actor`: JavaScript actors calling the Rust and Python examples.
//
// `js_bridge` (named, stateful, state `JoeState`, subscribed to `test` with `heard`):
// - `callRust(Request)`: invokes the Rust `joe.setLanguage` (with metadata) and replies joe's `Reply`;
// - `callPython(Increment)`: invokes the Python `python_counter.increment`, replies its `Counter`;
// - `castRust(Request)`: the same as `callRust`, fire and forget; replies `Reply{"sent"}`;
// - `spawnAbs(Request)`: spawns a `js_abs_actor` instance named after the language, invokes it;
// - `forwardToRust` / `pipeToRust` (upper-cased) / `effectToRust` / `broadcastToRust`: the
//   workflows towards Rust `joe` (a broadcast on `test` reaches this actor's `heard` too);
// - `heard(Request)`: appends the language to the state, replies nothing;
// - `context(Request)`: replies what the action sees (self, caller, metadata `via`, tag `k`,
//   state) and tags the actor with `k=<language>`;
// - `fetch(Request)`: `fetch()`es the URL in `language` (outbound HTTP, granted in the module's
//   TOML) and replies `Reply{"status N: <body>"}`, or `Reply{"refused: <error>"}`.
//
// `js_abs_actor` (unnamed): `setLanguage(Request)` appends to its own state and replies the list.
import spawn, { Kind, Value } from "spawn-wasm";
import { Counter, Increment, JoeState, Reply, Request } from "@proto/domain";

const system = spawn.createSystem("spawn-system");

const appended = (context, language) => JoeState.create({ languages: [...(context.state?.languages ?? []), language] });

system
  .buildActor({ name: "js_bridge", stateType: JoeState, stateful: true, channels: [{ topic: "test", action: "heard" }] })
  .addAction({ name: "callRust", payloadType: Request }, async (context, request) => {
    const reply = await spawn.invoke("joe", { action: "setLanguage", payload: request, response: Reply, metadata: { via: "js_bridge" } });
    return Value.of().response(reply);
  })
  .addAction({ name: "callPython", payloadType: Increment }, async (context, request) => {
    const counter = await spawn.invoke("python_counter", { action: "increment", payload: request, response: Counter });
    return Value.of().response(counter);
  })
  .addAction({ name: "castRust", payloadType: Request }, async (context, request) => {
    await spawn.invoke("joe", { action: "setLanguage", payload: request, async: true });
    return Value.of().response(Reply, { response: "sent" });
  })
  .addAction({ name: "spawnAbs", payloadType: Request }, async (context, request) => {
    await spawn.spawnActor(request.language, { actorRef: "js_abs_actor" });
    const reply = await spawn.invoke(request.language, { action: "setLanguage", payload: request, response: Reply });
    return Value.of().response(reply);
  })
  .addAction({ name: "forwardToRust", payloadType: Request }, () => Value.of().forward({ actorName: "joe", action: "setLanguage" }))
  .addAction({ name: "pipeToRust", payloadType: Request }, (context, request) =>
    Value.of()
      .response(Request, { language: request.language.toUpperCase() })
      .pipe({ actorName: "joe", action: "setLanguage" }),
  )
  .addAction({ name: "effectToRust", payloadType: Request }, (context, request) =>
    Value.of()
      .effects([{ actorName: "joe", action: "setLanguage", payload: request }])
      .response(Reply, { response: "ok" }),
  )
  .addAction({ name: "broadcastToRust", payloadType: Request }, (context, request) =>
    Value.of().broadcast({ channel: "test", payload: request }).noReply(),
  )
  .addAction({ name: "heard", payloadType: Request }, (context, request) => Value.of().state(appended(context, request.language)))
  .addAction({ name: "context", payloadType: Request }, (context, request) => {
    const text =
      `self=${context.self.name} caller=${context.caller?.name} via=${context.metadata.via} ` +
      `k=${context.tags.k} state=${(context.state?.languages ?? []).join(",")} ` +
      `trace=${context.traceId}/${context.spanId}`;
    return Value.of().response(Reply, { response: text }).tags({ k: request.language });
  })
  .addAction({ name: "fetch", payloadType: Request }, async (context, request) => {
    try {
      const response = await fetch(request.language);
      return Value.of().response(Reply, { response: `status ${response.status}: ${await response.text()}` });
    } catch (error) {
      return Value.of().response(Reply, { response: `refused: ${error}` });
    }
  });

system
  .buildActor({ name: "js_abs_actor", kind: Kind.UNNAMED, stateType: JoeState, stateful: true })
  .addAction({ name: "setLanguage", payloadType: Request }, (context, request) => {
    const state = appended(context, request.language);
    return Value.of().state(state).response(Reply, { response: state.languages.join(",") });
  });

system.register();
