"""`Spawn` (the Spawn Python SDK's entry point) and `ActorRef` (calling other actors
through the host's `invoke` and `spawn` imports)."""

from . import build_time as _build_time
from . import protobuf as _pb

# The actors passed to `Spawn().add_actor(...)` before `start()`; `None` until then.
STARTED = None
# The actor system named by the `Spawn` that started them.
SYSTEM = "spawn-system"


def _runtime():
    try:
        from wit_world.imports import runtime
        from wit_world.imports import spawn_actor_types as types
    except ImportError:  # outside a component
        raise RuntimeError("calling other actors works only inside a spawn-wasm component") from None
    return runtime, types


def _skipped(name):
    """A client call at build time (outside any action): reported, not made."""
    filename, line = _build_time.user_frame()
    _build_time.warn(filename, line, _build_time.client_call_text(name))


def _error_message(error):
    return str(getattr(error, "value", error))


class ActorRef:
    """A reference to an actor of the same actor system."""

    def __init__(self, system, actor_name, parent=None, state_revision=None):
        self.system = system
        self.actor_name = actor_name
        self.parent = parent
        self.state_revision = state_revision

    def invoke(self, action, request=None, async_mode=False, pooled=False, metadata=None, scheduled_to=None):
        """Invoke `action` with `request` (a protobuf message or `None`). Returns
        `(status, reply)`: `("ok", message or None)`, `("actor_not_found", None)` or
        `("error", None)`. With `async_mode=True`, returns at once with `("ok", None)`."""
        if _build_time.running():
            _skipped("ActorRef.invoke")
            return ("error", None)
        runtime, types = _runtime()
        payload = None if request is None else _pb.pack(request, types.Any)
        call = runtime.InvokeRequest(
            actor=self.actor_name,
            action=action,
            payload=payload,
            metadata=sorted((str(k), str(v)) for k, v in (metadata or {}).items()),
            async_=bool(async_mode) or scheduled_to is not None,
            scheduled_to=scheduled_to,
            register_ref=self.parent,
        )
        try:
            reply = runtime.invoke(call)
        except Exception as error:
            message = _error_message(error)
            runtime.log(runtime.LogLevel.WARN, f"invoking {self.actor_name}.{action} failed: {message}")
            return ("actor_not_found" if "not found" in message.lower() else "error", None)
        return ("ok", None if reply is None else _pb.unpack(reply))

    def __repr__(self):
        return f"ActorRef({self.system!r}, {self.actor_name!r}, parent={self.parent!r})"


def spawn(actor_name, parent):
    """Spawn an instance named `actor_name` of the unnamed actor `parent`."""
    if _build_time.running():
        _skipped("spawn")
        return
    runtime, _ = _runtime()
    try:
        runtime.spawn(actor_name, parent)
    except Exception as error:
        raise RuntimeError(f"spawning {actor_name} from {parent} failed: {_error_message(error)}") from None


def log(message, level="info"):
    """Write `message` to the host's log (levels: trace, debug, info, warn, error); at build
    time, to the build's output."""
    if _build_time.running():
        print(f"{level}: {message}")
        return
    runtime, _ = _runtime()
    runtime.log(getattr(runtime.LogLevel, level.upper()), str(message))


class Spawn:
    """The Spawn Python SDK's builder. Inside a component, the network settings are the
    host's business: they are accepted and ignored, and `start()` registers the actors
    added with `add_actor`. While `spawn-wasm build` runs the entry module, `start()` also
    ends it: what follows is the program's client part, which a component does not run
    (reported as build warnings, see `build_time`)."""

    def __init__(self):
        self._actors = []
        self._system = "spawn-system"

    def host(self, host):
        return self

    def port(self, port):
        return self

    def proxy_host(self, host):
        return self

    def proxy_port(self, port):
        return self

    def actor_system(self, name):
        self._system = name
        return self

    def add_actor(self, actor):
        self._actors.append(actor)
        return self

    def add_actors(self, *actors):
        for actor in actors:
            if isinstance(actor, (list, tuple)):
                self._actors.extend(actor)
            else:
                self._actors.append(actor)
        return self

    def start(self):
        global STARTED, SYSTEM
        STARTED = (STARTED or []) + [actor for actor in self._actors if actor not in (STARTED or [])]
        SYSTEM = self._system
        if _build_time.running():
            _build_time.skipped_after_start(*_build_time.user_frame())
            raise _build_time.Stop()
        return self

    @staticmethod
    def create_actor_ref(system, actor_name, parent=None, state_revision=None):
        """A reference to `actor_name`. With `parent`, spawns `actor_name` from that
        unnamed actor first (as the Spawn Python SDK does)."""
        if _build_time.running():
            _skipped("Spawn.create_actor_ref")
        elif parent:
            spawn(actor_name, parent)
        return ActorRef(system, actor_name, parent, state_revision)
