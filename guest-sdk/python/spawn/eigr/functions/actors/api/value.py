"""Alias of `spawn_wasm` (Spawn Python SDK import path)."""

from spawn_wasm.value import ReplyKind, Value  # noqa: F401
