"""What a handler sees of its actor's turn."""


class ActorId:
    """An actor instance: its name, system and (for an unnamed instance) parent template."""

    def __init__(self, name, system="", parent=None):
        self.name = name
        self.system = system
        self.parent = parent

    def __repr__(self):
        return f"ActorId({self.name!r}, {self.system!r}, {self.parent!r})"


class Context:
    """`ctx.state` is the decoded state message (`None` before the first one); `ctx.caller`
    the caller's name (`None` if unknown); `ctx.metadata` and `ctx.tags` dicts;
    `ctx.self_id` and `ctx.caller_id` the full ids."""

    def __init__(self, state=None, caller=None, metadata=None, tags=None, self_id=None, caller_id=None, action=""):
        self.state = state
        self.caller = caller
        self.metadata = dict(metadata or {})
        self.tags = dict(tags or {})
        self.self_id = self_id
        self.caller_id = caller_id
        self.action = action

    @property
    def trace_id(self):
        """The W3C trace id (32 hex digits) of this turn's trace, from the `traceparent` the
        host puts in its metadata, to log or pass to systems outside Spawn; `None` if none."""
        return _traceparent(self.metadata.get("traceparent"))[0]

    @property
    def span_id(self):
        """This turn's span id (16 hex digits): the parent of the calls it makes."""
        return _traceparent(self.metadata.get("traceparent"))[1]

    def __repr__(self):
        return f"Context(state={self.state!r}, caller={self.caller!r})"


def _traceparent(value):
    fields = (value or "").split("-")
    if len(fields) >= 4 and len(fields[1]) == 32 and len(fields[2]) == 16:
        return fields[1], fields[2]
    return None, None
