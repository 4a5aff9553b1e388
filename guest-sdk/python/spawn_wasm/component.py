"""The component's `handler` export: `describe`, `handle` and `descriptors` for the actors
the user's entry module defined. `spawn-wasm build` generates the entry point that imports
this module; everything at import time runs once, at build time (componentize-py
pre-initialises the interpreter), so instances start with the actors already defined."""

import sys
import traceback

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import signatures as _signatures
from wit_world.imports import runtime
from wit_world.imports import spawn_actor_types as types

from . import actor as _actor
from . import build_time as _build_time
from . import protobuf as _pb
from . import sdk as _sdk
from .context import ActorId, Context
from .value import Broadcast, Effect, Forward, Pipe, ReplyKind, Value

_ACTORS = {}
# The actors in the order `describe` lists them: an invocation names its actor by position.
_ORDER = []
_DEFINITIONS = []
_SIGNATURES = []
_DESCRIPTORS = b""

_KINDS = {
    _actor.Kind.NAMED: types.Kind.NAMED,
    _actor.Kind.UNNAMED: types.Kind.UNNAMED,
    _actor.Kind.POOLED: types.Kind.POOLED,
    _actor.Kind.TASK: types.Kind.TASK,
}


def load_entry(module, warnings_file=None):
    """Runs the user's entry module as `__main__` (so that a Spawn-style `main.py` calls
    `Spawn()...start()`; see `build_time`, which writes its warnings to `warnings_file`),
    then fixes the exported actors and descriptors."""
    global _DESCRIPTORS
    entry_file, root = _build_time.run_entry(module, warnings_file)
    _build_time.check_effects(entry_file, root, _sdk.SYSTEM)
    actors = _sdk.STARTED if _sdk.STARTED is not None else list(_actor.CREATED)
    if not actors:
        raise RuntimeError(f"{module} defines no actor: create one with Actor(settings=ActorSettings(name=...))")
    for actor in actors:
        if actor.name in _ACTORS:
            raise ValueError(f"two actors are named {actor.name}")
        _ACTORS[actor.name] = actor
        _ORDER.append(actor)
        _DEFINITIONS.append(_definition(actor))
        _SIGNATURES.extend(_action_signatures(actor))
    _DESCRIPTORS = _pb.descriptor_set()


def _definition(actor):
    settings = actor.settings
    state_type = settings.state_type
    if state_type is not None and not isinstance(state_type, str):
        state_type = state_type.DESCRIPTOR.full_name
    timers = dict(actor.timers)
    actions = [name for name in actor.handlers if name not in timers]
    if _needs_receive(actor):
        actions.append(RECEIVE)
    return types.ActorDefinition(
        name=settings.name,
        kind=_KINDS[settings.kind],
        stateful=settings.stateful,
        actions=actions,
        timer_actions=[types.TimerAction(action=name, period_ms=every) for name, every in actor.timers],
        channels=[types.Channel(topic=c.topic, action=c.action) for c in settings.channels],
        snapshot_timeout_ms=settings.snapshot_timeout,
        deactivation_timeout_ms=settings.deactivated_timeout,
        min_pool_size=settings.min_pool_size,
        max_pool_size=settings.max_pool_size,
        state_type=state_type,
        initial_tags=_pairs(settings.tags),
    )


def _action_signatures(actor):
    """The input type of each action whose handler's request parameter is annotated with a
    protobuf message class (`def set_language(request: Request, ctx)`)."""
    return [
        _signatures.ActionSignature(
            actor=actor.name, action=name, input=handler.request_type.DESCRIPTOR.full_name, output=None
        )
        for name, handler in actor.handlers.items()
        if handler.request_type is not None
    ]


RECEIVE = "receive"


def _needs_receive(actor):
    return RECEIVE not in actor.handlers and any(c.action == RECEIVE for c in actor.settings.channels)


def _receiver(actor, payload):
    """The handler of a broadcast on a channel subscribed without an action, for an actor
    that defines no `receive`: the action whose request type is the broadcast's message
    (the Spawn Python SDK named it in `Broadcast.action_name`, which no proxy transmits),
    or the actor's only action taking a request."""
    candidates = [h for name, h in actor.handlers.items() if h.takes_request and not h.timer]
    if payload is not None:
        typed = [h for h in candidates if h.request_type is not None and _pb.same_type(payload.type_url, _pb.type_url(h.request_type))]
        if len(typed) == 1:
            return typed[0]
    return candidates[0] if len(candidates) == 1 else None


def _pack(message):
    return None if message is None else _pb.pack(message, types.Any)


def _bytes(data, span):
    return data[span.start : span.start + span.len]


def _text(data, span):
    return bytes(_bytes(data, span)).decode("utf-8")


def _any(data, span):
    """An `any-span` of the invocation's data as the `Any` record the protobuf helpers read."""
    if span is None:
        return None
    return types.Any(type_url=_text(data, span.type_url), value=_bytes(data, span.value))


def _actor_id(data, span):
    if span is None:
        return None
    parent = None if span.parent is None else _text(data, span.parent)
    return ActorId(_text(data, span.name), _text(data, span.system), parent)


def _route(target):
    return types.Route(actor=target.actor, action=target.action, register_ref=target.parent)


def _effect(effect, system, metadata):
    if not isinstance(effect, Effect):
        raise TypeError(f"Value.effect takes an Effect, not {type(effect).__name__}")
    if effect.system and system and effect.system != system:
        raise ValueError(
            f"Effect(system={effect.system!r}): an effect stays in its actor's system ({system!r}) in a component"
        )
    merged = {**metadata, **effect.metadata}
    return types.SideEffect(
        actor=effect.actor,
        action=effect.action,
        payload=_pack(effect.payload),
        register_ref=effect.parent,
        scheduled_to=effect.scheduled_to,
        metadata=_pairs(merged),
    )


def _pairs(mapping):
    return sorted((str(k), str(v)) for k, v in mapping.items())


def _to_wit(value, system):
    """The WIT record of a handler's `Value`; `system` is the actor's own actor system."""
    if value is None:
        value = Value().noreply()
    if not isinstance(value, Value):
        raise TypeError(f"a handler returns a Value, not {type(value).__name__}")
    broadcast = value.get_broadcast()
    if broadcast is not None:
        if not isinstance(broadcast, Broadcast) or not broadcast.channel:
            raise TypeError("Value.broadcast takes a Broadcast with a channel")
        broadcast = types.Broadcast(channel=broadcast.channel, payload=_pack(broadcast.value))
    routing = None
    if value.get_pipe() is not None:
        if not isinstance(value.get_pipe(), Pipe):
            raise TypeError("Value.pipe takes a Pipe")
        routing = types.Routing_Pipe(_route(value.get_pipe()))
    elif value.get_forward() is not None:
        if not isinstance(value.get_forward(), Forward):
            raise TypeError("Value.forward takes a Forward")
        routing = types.Routing_Forward(_route(value.get_forward()))
    tags = value.get_tags()
    metadata = value.get_metadata()
    metadata = {} if metadata is None else metadata.get_metadata()
    replies = value.get_reply_kind() == ReplyKind.REPLY
    return types.Value(
        state=_pack(value.get_state()),
        reply=_pack(value.get_response()) if replies else None,
        tags=None if tags is None else _pairs(tags),
        broadcast=broadcast,
        effects=[_effect(effect, system, metadata) for effect in value.get_effects()],
        routing=routing,
        checkpoint=value.has_checkpoint(),
    )


def _where(error):
    frames = traceback.extract_tb(error.__traceback__)
    user = [frame for frame in frames if "/spawn_wasm/" not in frame.filename] or frames
    if not user:
        return ""
    frame = user[-1]
    return f" (at {frame.filename.rsplit('/', 1)[-1]}, line {frame.lineno}, in {frame.name})"


def _run(invocation):
    if invocation.actor >= len(_ORDER):
        raise Err(types.Error_Failed(f"this component has no actor number {invocation.actor}"))
    actor = _ORDER[invocation.actor]
    data = invocation.data
    try:
        action = _text(data, invocation.action)
        payload = _any(data, invocation.payload)
        stored = _any(data, invocation.state)
        pairs = [(_text(data, key), _text(data, value)) for key, value in invocation.pairs]
    except UnicodeDecodeError as error:
        raise Err(types.Error_BadPayload(f"the host sent text that is not UTF-8: {error}")) from None
    handler = actor.handlers.get(action)
    if handler is None and action == RECEIVE and _needs_receive(actor):
        handler = _receiver(actor, payload)
    if handler is None:
        raise Err(types.Error_UnknownAction(f"actor {actor.name} has no action {action}"))
    try:
        state = None if stored is None else _pb.unpack(stored, None)
        request = None
        if handler.takes_request:
            if payload is not None:
                request = _pb.unpack(payload, handler.request_type)
            elif handler.request_type is not None:
                request = handler.request_type()
    except _pb.BadPayload as error:
        raise Err(types.Error_BadPayload(str(error))) from None
    caller = _actor_id(data, invocation.caller)
    ctx = Context(
        state=state,
        caller=None if caller is None else caller.name,
        metadata=dict(pairs[: invocation.metadata_count]),
        tags=dict(pairs[invocation.metadata_count :]),
        self_id=_actor_id(data, invocation.self_id),
        caller_id=caller,
        action=action,
    )
    try:
        result = handler.function(request, ctx) if handler.takes_request else handler.function(ctx)
        return _to_wit(result, ctx.self_id.system)
    except Err:
        raise
    except BaseException as error:  # noqa: BLE001 - every failure of user code is the turn's failure
        runtime.log(
            runtime.LogLevel.ERROR,
            f"{actor.name}.{action} raised:\n" + "".join(traceback.format_exception(error)).rstrip(),
        )
        name = type(error).__name__
        text = str(error)
        message = f"{name}: {text}" if text else name
        raise Err(types.Error_Failed(message + _where(error))) from None


class Handler(exports.Handler):
    """The `handler` export."""

    def describe(self):
        return list(_DEFINITIONS)

    def handle(self, invocation):
        return _run(invocation)

    def descriptors(self):
        return _DESCRIPTORS


class Signatures(exports.Signatures):
    """The `signatures` export: the message types the handlers' annotations declare."""

    def signatures(self):
        return list(_SIGNATURES)


sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
