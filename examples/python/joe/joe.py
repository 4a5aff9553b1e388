"""`python_joe`: the Spawn Python SDK README's joe, unchanged but for its name and channel
(the Rust `joe` already uses the name and listens on `test`).

Every second its `hi` timer seeds the state with "python" and broadcasts a `Request` on the
channel `python`, which it listens to itself: a broadcast invokes the subscriber's `receive`
action (each subscription names its action; as with the current Spawn proxy, the
broadcast's `action_name` is not used)."""

from domain.domain_pb2 import JoeState, Reply, Request
from spawn.eigr.functions.actors.api.actor import Actor
from spawn.eigr.functions.actors.api.context import Context
from spawn.eigr.functions.actors.api.settings import ActorSettings
from spawn.eigr.functions.actors.api.value import Value
from spawn.eigr.functions.actors.api.workflows.broadcast import Broadcast

actor = Actor(settings=ActorSettings(name="python_joe", stateful=True, channel="python"))


@actor.timer_action(every=1000)
def hi(ctx: Context) -> Value:
    new_state = None
    request = Request()
    request.language = "python"
    broadcast = Broadcast()
    broadcast.channel = "python"
    broadcast.action_name = "setLanguage"
    broadcast.value = request

    if not ctx.state:
        new_state = JoeState()
        new_state.languages.append("python")
    else:
        new_state = ctx.state

    return Value().broadcast(broadcast).state(new_state).noreply()


@actor.action("setLanguage")
def set_language(request: Request, ctx: Context) -> Value:
    """Appends the language and replies all of them, comma-separated (as the Rust joe)."""
    state = ctx.state or JoeState()
    state.languages.append(request.language)
    reply = Reply()
    reply.response = ",".join(state.languages)
    return Value().of(reply, state).reply()


@actor.action("receive")
def receive(request: Request, ctx: Context) -> Value:
    """Broadcasts on `python`: remembers a language once."""
    state = ctx.state or JoeState()
    if request.language not in state.languages:
        state.languages.append(request.language)
    return Value().state(state).noreply()
