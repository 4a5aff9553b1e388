"""Alias of `spawn_wasm` (Spawn Python SDK import path): request metadata and tags."""


class Metadata:
    """Metadata and tags set with `put_metadata` / `put_tag`; `Value().metadata(m)` applies
    the tags."""

    def __init__(self):
        self.metadata = {}
        self.tags = {}

    def put_metadata(self, key, value):
        self.metadata[key] = value
        return self

    def put_tag(self, key, value):
        self.tags[key] = value
        return self
