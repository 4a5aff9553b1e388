"""Declaring actors: `ActorSettings`, `Kind`, and `Actor` with its `action` and
`timer_action` decorators, as in the Spawn Python SDK."""

import enum
import inspect

# Every actor created, in order: a component without `Spawn().add_actor(...).start()`
# exports all of them.
CREATED = []


class Kind(str, enum.Enum):
    """How the runtime addresses an actor (a `str` enum, as in the Spawn Python SDK)."""

    NAMED = "NAMED"
    UNNAMED = "UNNAMED"
    POOLED = "POOLED"
    TASK = "TASK"
    # The Spawn protocol's historical spelling.
    UNAMED = "UNNAMED"


class Channel:
    """A subscription: a broadcast on `topic` invokes `action` (default `receive`)."""

    def __init__(self, topic, action="receive"):
        self.topic = topic
        self.action = action

    def __repr__(self):
        return f"Channel({self.topic!r}, {self.action!r})"


def _channels(channel, channels):
    found = []
    for item in ([channel] if channel else []) + list(channels or []):
        if isinstance(item, Channel):
            found.append(item)
        elif isinstance(item, str):
            found.append(Channel(item))
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            found.append(Channel(item[0], item[1]))
        else:
            raise TypeError(f"a channel is a topic string, (topic, action) or Channel, not {item!r}")
    return found


class ActorSettings:
    """An actor's settings. `channel` subscribes one topic (its broadcasts invoke the
    action `receive`, or the one given as `("topic", "action")`); `channels` several.
    Timeouts are in milliseconds; 0 (the default) means the runtime's default."""

    def __init__(
        self,
        name,
        kind=Kind.NAMED,
        stateful=True,
        state_type=None,
        channel=None,
        metadata=None,
        tags=None,
        deactivated_timeout=None,
        snapshot_timeout=None,
        deactivate_timeout=None,
        channels=None,
        min_pool_size=0,
        max_pool_size=0,
    ):
        if not isinstance(name, str) or not name:
            raise ValueError("an actor needs a non-empty name")
        if isinstance(kind, str) and not isinstance(kind, Kind) and kind.upper() in Kind.__members__:
            kind = Kind[kind.upper()]
        if not isinstance(kind, Kind):
            raise TypeError(f"kind must be a Kind (NAMED, UNNAMED, POOLED, TASK), not {kind!r}")
        self.name = name
        self.kind = kind
        self.stateful = bool(stateful)
        self.state_type = state_type
        self.channel = channel
        self.channels = _channels(channel, channels)
        self.metadata = dict(metadata or {})
        self.tags = dict(tags or {})
        timeout = deactivated_timeout if deactivated_timeout is not None else deactivate_timeout
        self.deactivated_timeout = int(timeout or 0)
        self.snapshot_timeout = int(snapshot_timeout or 0)
        self.min_pool_size = int(min_pool_size)
        self.max_pool_size = int(max_pool_size)


class _Handler:
    def __init__(self, function, timer):
        self.function = function
        self.timer = timer
        parameters = list(inspect.signature(function).parameters.values())
        positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(positional) not in (1, 2):
            raise TypeError(f"handler {function.__name__} must take (ctx) or (request, ctx)")
        self.takes_request = len(positional) == 2
        self.request_type = None
        if self.takes_request:
            annotation = positional[0].annotation
            if isinstance(annotation, type) and hasattr(annotation, "DESCRIPTOR"):
                self.request_type = annotation


class Actor:
    """An actor: `Actor(settings=ActorSettings(name="joe", stateful=True))`, then its
    handlers with `@actor.action("name")` and `@actor.timer_action(every=ms)`."""

    def __init__(self, settings):
        if not isinstance(settings, ActorSettings):
            raise TypeError("Actor(settings=ActorSettings(...))")
        self.settings = settings
        self.handlers = {}
        self.timers = []
        CREATED.append(self)

    @property
    def name(self):
        return self.settings.name

    def action(self, name=None):
        """Decorator: handle action `name` (default: the function's name). The handler
        takes `(request, ctx)` or `(ctx)` and returns a `Value`."""

        def register(function):
            action = name or function.__name__
            self._add(action, _Handler(function, timer=False))
            return function

        if callable(name):  # @actor.action without parentheses
            function, name = name, None
            return register(function)
        return register

    def timer_action(self, every, name=None):
        """Decorator: run the handler every `every` milliseconds while the actor is active."""
        if not isinstance(every, int) or every <= 0:
            raise ValueError(f"timer_action(every=...) takes a positive number of milliseconds, not {every!r}")

        def register(function):
            action = name or function.__name__
            self._add(action, _Handler(function, timer=True))
            self.timers.append((action, every))
            return function

        return register

    def _add(self, action, handler):
        if action in self.handlers:
            raise ValueError(f"actor {self.name} defines action {action} twice")
        self.handlers[action] = handler

    def __repr__(self):
        return f"Actor({self.name!r})"
