"""What a handler returns (`Value`, `ReplyKind`) and the workflows it can start after its
turn: `Broadcast`, `Effect`, `Forward`, `Pipe`, with the Spawn Python SDK's signatures."""

import enum

from .metadata import Metadata


class Broadcast:
    """Publish `value` to every actor subscribed to `channel`, for action `action_name`.
    Neither the WIT nor the current Spawn proxy carries the action: each subscription names
    it, and a subscription without one (`channel="topic"`) reaches the subscriber's action
    whose request type is the broadcast's message (see the SDK README)."""

    def __init__(self, channel=None, action_name=None, value=None):
        self.channel = channel
        self.action_name = action_name
        self.value = value

    def __repr__(self):
        return f"Broadcast(channel={self.channel!r}, action_name={self.action_name!r}, value={self.value!r})"


class Effect:
    """Invoke `action` on `actor` asynchronously once this turn's state is applied, in the
    Spawn Python SDK's order `Effect(action, system, actor, parent, payload)`. `parent`
    spawns `actor` from that unnamed template first; `scheduled_to` is absolute Unix time in
    milliseconds. An effect stays in its actor's system: another `system` fails the turn."""

    def __init__(self, action, system=None, actor=None, parent=None, payload=None, scheduled_to=None, metadata=None):
        if not actor:
            raise ValueError("Effect(actor=...) is required")
        self.action = action
        self.system = system
        self.actor = actor
        self.parent = parent
        self.payload = payload
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


class ReplyKind(str, enum.Enum):
    """Whether a turn answers its caller (`Value.reply()`) or not (`Value.noreply()`)."""

    REPLY = "REPLY"
    NO_REPLY = "NO_REPLY"


class Value:
    """The outcome of a turn, built fluently:
    `Value().of(reply, state).reply()`, `Value().state(s).noreply()`, ...
    Without `state`, the actor keeps its state; `noreply()` sends no reply."""

    def __init__(self):
        self._state = None
        self._response = None
        self._metadata = None
        self._tags = None
        self._broadcast = None
        self._effects = []
        self._forward = None
        self._pipe = None
        self._reply_kind = ReplyKind.REPLY
        self._checkpoint = False

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

    def metadata(self, metadata):
        """A `Metadata` (or a dict of tags): its tags, unless empty, become the actor's; its
        metadata goes with this turn's effects."""
        self._metadata = metadata if isinstance(metadata, Metadata) else Metadata(tags=metadata)
        return self

    def tags(self, tags):
        """Replace the actor's tags (a dict; `{}` clears them)."""
        self._tags = dict(tags)
        return self

    def get_tags(self):
        """The actor's new tags: those of `tags(...)`, else the non-empty ones of
        `metadata(...)`, else `None` (unchanged)."""
        if self._tags is not None:
            return self._tags
        return (self._metadata.tags or None) if self._metadata is not None else None

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
        if self._pipe is not None:
            raise ValueError("a Value has either a Pipe or a Forward, never both")
        self._forward = forward
        return self

    def pipe(self, pipe):
        if self._forward is not None:
            raise ValueError("a Value has either a Forward or a Pipe, never both")
        self._pipe = pipe
        return self

    def reply(self, checkpoint=False):
        """Reply the response to the caller; `checkpoint=True` persists the state first."""
        self._reply_kind = ReplyKind.REPLY
        self._checkpoint = bool(checkpoint)
        return self

    def noreply(self, checkpoint=False):
        """Reply nothing."""
        self._reply_kind = ReplyKind.NO_REPLY
        self._checkpoint = bool(checkpoint)
        return self

    def void(self):
        """Keep the state, reply nothing."""
        return self.noreply()

    def get_state(self):
        return self._state

    def get_response(self):
        return self._response

    def get_metadata(self):
        return self._metadata

    def get_broadcast(self):
        return self._broadcast

    def get_effects(self):
        return self._effects

    def get_forward(self):
        return self._forward

    def get_pipe(self):
        return self._pipe

    def get_reply_kind(self):
        return self._reply_kind

    def has_checkpoint(self):
        return self._checkpoint
