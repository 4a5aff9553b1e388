"""`python_abs_actor`: the README's unnamed actor. Instances are spawned at run time
(`Spawn.create_actor_ref(..., parent="python_abs_actor")`, a SpawnRequest, or a call with
`register_ref`), each with its own state."""

from domain.domain_pb2 import JoeState, Reply, Request
from spawn.eigr.functions.actors.api.actor import Actor
from spawn.eigr.functions.actors.api.context import Context
from spawn.eigr.functions.actors.api.settings import ActorSettings, Kind
from spawn.eigr.functions.actors.api.value import Value

abstract = Actor(settings=ActorSettings(name="python_abs_actor", stateful=True, kind=Kind.UNNAMED))


@abstract.action("setLanguage")
def set_language(request: Request, ctx: Context) -> Value:
    print("Request -> " + str(request).strip())
    new_state = ctx.state or JoeState()
    new_state.languages.append(request.language)
    reply = Reply()
    reply.response = ",".join(new_state.languages)
    return Value().of(reply, new_state).reply()
