"""`Metadata`: what `Value().metadata(...)` attaches to a turn's outcome, as in the Spawn
Python SDK (`put_metadata`, `put_tag`, `get_metadata`, `get_tags`)."""


class Metadata:
    """Request metadata and actor tags set by an action. Applied by `Value().metadata(m)`:
    the tags become the actor's tags, and the metadata goes with every side effect of the
    turn (an effect's own keys win), as a request's metadata flows into its effects in
    Spawn. `metadata` and `tags` are the dicts themselves."""

    def __init__(self, metadata=None, tags=None):
        self.metadata = dict(metadata or {})
        self.tags = dict(tags or {})

    def put_metadata(self, key, value):
        self.metadata[key] = value
        return self

    def put_tag(self, key, value):
        self.tags[key] = value
        return self

    def get_metadata(self):
        return self.metadata

    def get_tags(self):
        return self.tags

    def __repr__(self):
        return f"Metadata(metadata={self.metadata!r}, tags={self.tags!r})"
