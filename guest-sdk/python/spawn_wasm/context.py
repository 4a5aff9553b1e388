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

    def __repr__(self):
        return f"Context(state={self.state!r}, caller={self.caller!r})"
