"""Alias of `spawn_wasm` (Spawn Python SDK import path)."""

from spawn_wasm.context import ActorId, Context  # noqa: F401
