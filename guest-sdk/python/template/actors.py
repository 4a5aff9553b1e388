"""The `actor_name` actor: counts greetings in its state."""

from actor_name.actor_name_pb2 import Greet, Greeting, State
from spawn_wasm import Actor, ActorSettings, Context, Value

actor = Actor(settings=ActorSettings(name="actor_name", stateful=True))


@actor.action("greet")
def greet(request: Greet, ctx: Context) -> Value:
    state = ctx.state or State()
    state.greetings += 1
    reply = Greeting(text=f"Hello, {request.name}! ({state.greetings} greetings so far)")
    return Value().of(reply, state).reply()
