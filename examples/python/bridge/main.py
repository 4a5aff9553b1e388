"""`bridge` and `python_counter`: Python actors written with the short module `spawn_wasm`,
calling Rust actors and being called back by them.

`bridge` (named, stateful, subscribed to `test` with its `heard` action):
- `callRust(Request)`: invokes the Rust `joe.setLanguage` and replies joe's `Reply`;
- `castRust(Request)`: the same, fire and forget; replies `Reply{"sent"}`;
- `spawnAbs(Request)`: spawns a `python_abs_actor` instance named after the language,
  invokes it, replies its `Reply`;
- `forwardToRust` / `pipeToRust` (upper-cased) / `effectToRust` / `broadcastToRust`: the
  workflows towards Rust `joe` (`broadcastToRust` reaches every `test` subscriber, this
  actor's `heard` included);
- `roundTrip(Request)`: calls the Rust `router.broadcastLanguage`, whose broadcast on `test`
  comes back to `heard`: Python → Rust → Python;
- `heard(Request)`: appends the language to the state (a `JoeState`);
- `remember(Request)`: appends and checkpoints; `quietly(Request)`: appends, replies nothing;
- `context(Request)`: replies what the action sees: self, caller, metadata `via`, tag `k`,
  and tags the actor with `k=<language>`.

`python_counter` (named, stateful): `increment(Increment)` adds `by` and replies the new
`Counter`; `incrementDurably` also checkpoints.
"""

from domain.domain_pb2 import Counter, Increment, JoeState, Reply, Request
from spawn_wasm import (
    Actor,
    ActorSettings,
    Broadcast,
    Context,
    Effect,
    Forward,
    Pipe,
    Spawn,
    Value,
)

bridge = Actor(settings=ActorSettings(name="bridge", stateful=True, channel=("test", "heard")))
counter = Actor(settings=ActorSettings(name="python_counter", stateful=True, state_type=Counter))


def _joe():
    return Spawn.create_actor_ref(system="spawn-system", actor_name="joe")


def _appended(ctx, language):
    state = ctx.state or JoeState()
    state.languages.append(language)
    return state


@bridge.action("callRust")
def call_rust(request: Request, ctx: Context) -> Value:
    status, reply = _joe().invoke(action="setLanguage", request=request, metadata={"via": "bridge"})
    if status != "ok":
        raise RuntimeError(f"joe answered {status}")
    return Value().response(reply).reply()


@bridge.action("castRust")
def cast_rust(request: Request, ctx: Context) -> Value:
    _joe().invoke(action="setLanguage", request=request, async_mode=True)
    return Value().response(Reply(response="sent")).reply()


@bridge.action("spawnAbs")
def spawn_abs(request: Request, ctx: Context) -> Value:
    instance = Spawn.create_actor_ref(system="spawn-system", actor_name=request.language, parent="python_abs_actor")
    status, reply = instance.invoke(action="setLanguage", request=request)
    if status != "ok":
        raise RuntimeError(f"{request.language} answered {status}")
    return Value().response(reply).reply()


@bridge.action("forwardToRust")
def forward_to_rust(request: Request, ctx: Context) -> Value:
    return Value().forward(Forward("joe", "setLanguage")).reply()


@bridge.action("pipeToRust")
def pipe_to_rust(request: Request, ctx: Context) -> Value:
    return Value().response(Request(language=request.language.upper())).pipe(Pipe("joe", "setLanguage")).reply()


@bridge.action("effectToRust")
def effect_to_rust(request: Request, ctx: Context) -> Value:
    effect = Effect(action="setLanguage", payload=request, system="spawn-system", actor="joe")
    return Value().effect(effect).response(Reply(response="ok")).reply()


@bridge.action("broadcastToRust")
def broadcast_to_rust(request: Request, ctx: Context) -> Value:
    return Value().broadcast(Broadcast(channel="test", value=request)).noreply()


@bridge.action("roundTrip")
def round_trip(request: Request, ctx: Context) -> Value:
    router = Spawn.create_actor_ref(system="spawn-system", actor_name="router")
    status, _ = router.invoke(action="broadcastLanguage", request=request)
    return Value().response(Reply(response=status)).reply()


@bridge.action("heard")
def heard(request: Request, ctx: Context) -> Value:
    return Value().state(_appended(ctx, request.language)).noreply()


@bridge.action("remember")
def remember(request: Request, ctx: Context) -> Value:
    state = _appended(ctx, request.language)
    return Value().of(Reply(response=",".join(state.languages)), state).reply(checkpoint=True)


@bridge.action("quietly")
def quietly(request: Request, ctx: Context) -> Value:
    return Value().state(_appended(ctx, request.language)).noreply()


@bridge.action("context")
def context(request: Request, ctx: Context) -> Value:
    text = (
        f"self={ctx.self_id.name} caller={ctx.caller} via={ctx.metadata.get('via')} "
        f"k={ctx.tags.get('k')} state={','.join(ctx.state.languages) if ctx.state else ''} "
        f"trace={ctx.trace_id}/{ctx.span_id}"
    )
    return Value().response(Reply(response=text)).tags({"k": request.language}).reply()


def _increment(request, ctx):
    current = ctx.state or Counter()
    new = Counter(value=current.value + request.by)
    return Value().of(new, new)


@counter.action("increment")
def increment(request: Increment, ctx: Context) -> Value:
    return _increment(request, ctx).reply()


@counter.action("incrementDurably")
def increment_durably(request: Increment, ctx: Context) -> Value:
    return _increment(request, ctx).reply(checkpoint=True)


if __name__ == "__main__":
    Spawn().actor_system("spawn-system").add_actors(bridge, counter).start()
