"""spawn_wasm: Spawn actors in Python, compiled to WebAssembly components by
`spawn-wasm build` and served by spawn-wasm.

The same API as the Spawn Python SDK, under one short module::

    from spawn_wasm import Actor, ActorSettings, Context, Value

    actor = Actor(settings=ActorSettings(name="counter", stateful=True))

    @actor.action("increment")
    def increment(request: Increment, ctx: Context) -> Value:
        ...

The Spawn Python SDK's import paths (`spawn.eigr.functions.actors.api.*`) are aliases of
these same objects.
"""

from . import protobuf as _protobuf  # sets the pure-Python protobuf implementation first
from .actor import Actor, ActorSettings, Channel, Kind
from .context import ActorId, Context
from .metadata import Metadata
from .sdk import ActorRef, Spawn, log, spawn
from .value import Broadcast, Effect, Forward, Pipe, ReplyKind, Value

pack = _protobuf.pack
unpack = _protobuf.unpack
type_url = _protobuf.type_url

__all__ = [
    "Actor",
    "ActorId",
    "ActorRef",
    "ActorSettings",
    "Broadcast",
    "Channel",
    "Context",
    "Effect",
    "Forward",
    "Kind",
    "Metadata",
    "Pipe",
    "ReplyKind",
    "Spawn",
    "Value",
    "log",
    "spawn",
]
