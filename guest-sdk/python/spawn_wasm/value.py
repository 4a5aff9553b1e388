"""What a handler returns (`Value`) and the workflows it can start after its turn:
`Broadcast`, `Effect`, `Forward`, `Pipe`, as in the Spawn Python SDK."""


class Broadcast:
    """Publish `value` to every actor subscribed to `channel`. `action_name` is accepted for
    compatibility; as with the current Spawn proxy, each subscription decides the action."""

    def __init__(self, channel=None, action_name=None, value=None):
        self.channel = channel
        self.action_name = action_name
        self.value = value


class Effect:
    """Invoke `action` on `actor` asynchronously once this turn's state is applied.
    `parent` spawns `actor` from that unnamed template first; `scheduled_to` is absolute
    Unix time in milliseconds. `system` is accepted for compatibility (same system)."""

    def __init__(self, action, payload=None, system=None, actor=None, parent=None, scheduled_to=None, metadata=None):
        if not actor:
            raise ValueError("Effect(actor=...) is required")
        self.action = action
        self.payload = payload
        self.system = system
        self.actor = actor
        self.parent = parent
        self.scheduled_to = scheduled_to
        self.metadata = dict(metadata or {})


class Forward:
    """Invoke `action` on `actor` with this turn's input; the caller gets its reply."""

    def __init__(self, actor, action, parent=None):
        self.actor = actor
        self.action = action
        self.parent = parent


class Pipe:
    """Invoke `action` on `actor` with this turn's reply; the caller gets its reply."""

    def __init__(self, actor, action, parent=None):
        self.actor = actor
        self.action = action
        self.parent = parent


class Value:
    """The outcome of a turn, built fluently:
    `Value().of(reply, state).reply()`, `Value().state(s).noreply()`, ...
    Without `state`, the actor keeps its state; `noreply()` sends no reply."""

    def __init__(self):
        self._state = None
        self._response = None
        self._tags = None
        self._broadcast = None
        self._effects = []
        self._routing = None
        self._checkpoint = False
        self._reply = True

    def state(self, state):
        """The new state (a protobuf message)."""
        self._state = state
        return self

    def response(self, response):
        """The reply (a protobuf message)."""
        self._response = response
        return self

    def value(self, response):
        """Alias of `response`."""
        return self.response(response)

    def of(self, response, state=None):
        """Reply `response` and set the state to `state` (unless `None`)."""
        self._response = response
        if state is not None:
            self._state = state
        return self

    def tags(self, tags):
        """Replace the actor's tags (a dict)."""
        self._tags = dict(tags)
        return self

    def metadata(self, metadata):
        """Compatibility: takes the tags of a `Metadata`-like object or a dict of tags."""
        tags = getattr(metadata, "tags", metadata)
        if tags:
            self._tags = dict(tags)
        return self

    def broadcast(self, broadcast):
        self._broadcast = broadcast
        return self

    def effect(self, effect):
        self._effects.append(effect)
        return self

    def effects(self, effects):
        self._effects.extend(effects)
        return self

    def forward(self, forward):
        self._routing = forward
        return self

    def pipe(self, pipe):
        self._routing = pipe
        return self

    def reply(self, checkpoint=False):
        """Reply the response to the caller; `checkpoint=True` persists the state first."""
        self._reply = True
        self._checkpoint = bool(checkpoint)
        return self

    def noreply(self, checkpoint=False):
        """Reply nothing."""
        self._reply = False
        self._checkpoint = bool(checkpoint)
        return self

    def void(self):
        """Keep the state, reply nothing."""
        return self.noreply()
