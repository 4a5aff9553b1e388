"""`python_hostile` (named, stateful): misbehaves on request, to show that one failing
Python call fails alone (its state unchanged, every other actor serving):
- `raise(Request)`: raises `ValueError` (a guest error: 500, the exception named);
- `loop(Request)`: never returns (cut by the call deadline);
- `hog(Request)`: allocates without bound (stopped by the memory cap);
- `ok(Request)`: appends the language to the state and replies the list;
- `fetch(Request)`: GETs the URL in `language` with `spawn_wasm.http` (outbound HTTP, granted
  in the module's TOML) and replies `Reply{"status N: <body>"}`, or `Reply{"refused: <reason>"}`."""

from domain.domain_pb2 import JoeState, Reply, Request
from spawn_wasm import Actor, ActorSettings, Context, Value, http

hostile = Actor(settings=ActorSettings(name="python_hostile", stateful=True))


@hostile.action("raise")
def fail(request: Request, ctx: Context) -> Value:
    raise ValueError(f"no language like {request.language}")


@hostile.action("loop")
def loop(request: Request, ctx: Context) -> Value:
    n = 0
    while True:
        n += 1


@hostile.action("hog")
def hog(request: Request, ctx: Context) -> Value:
    chunks = []
    while True:
        chunks.append(bytearray(1 << 20))


@hostile.action("ok")
def ok(request: Request, ctx: Context) -> Value:
    state = ctx.state or JoeState()
    state.languages.append(request.language)
    return Value().of(Reply(response=",".join(state.languages)), state).reply()


@hostile.action("fetch")
def fetch(request: Request, ctx: Context) -> Value:
    try:
        response = http.get(request.language)
    except http.HttpError as error:
        return Value().response(Reply(response=f"refused: {error}")).reply()
    return Value().response(Reply(response=f"status {response.status}: {response.text()}")).reply()
